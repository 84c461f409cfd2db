/**
 * The phone listeners (PROTOCOL §1.1): plain TCP on `port`; with a certificate, either that same
 * port speaks TLS or, with `tls.port`, a TLS listener runs beside the plain one. A plain-TCP
 * client on a TLS port (a v3.2.x phone pointed at it) is counted and logged, once per peer address
 * per minute, with what to do about it. The certificate can be swapped at run time (SIGHUP).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';

export interface TlsPem {
  key: Buffer;
  cert: Buffer;
}

export interface ListenersOptions {
  host: string;
  port: number;
  /** config tls.port: a TLS listener beside the plain one; undefined = `port` itself is TLS */
  tlsPort: number | undefined;
  tls: TlsPem | undefined;
  handshakeMs: number;
  admit(socket: net.Socket): void;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
}

/** How often the same peer address is logged for a failed TLS handshake. */
export const TLS_ERROR_LOG_INTERVAL_MS = 60_000;

const PLAIN_TCP_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_HTTP_REQUEST', 'ERR_SSL_UNKNOWN_PROTOCOL']);

export class PhoneListeners {
  private plain: net.Server | undefined;
  private secure: tls.Server | undefined;
  private readonly lastLogged = new Map<string, number>();
  private bound: { port: number; tlsPort: number | undefined } = { port: 0, tlsPort: undefined };

  constructor(private readonly opts: ListenersOptions) {
    const socketOptions = { noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 };
    const admit = (socket: net.Socket) => opts.admit(socket);
    if (opts.tls === undefined || opts.tlsPort !== undefined) this.plain = net.createServer(socketOptions, admit);
    if (opts.tls !== undefined) {
      this.secure = tls.createServer({ ...socketOptions, ...opts.tls, handshakeTimeout: opts.handshakeMs }, admit);
      this.secure.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) =>
        this.onTlsError(err, socket),
      );
    }
    for (const server of this.servers()) {
      server.on('error', (err) => opts.log.error({ err }, 'listener error'));
    }
  }

  /** the plain port, or the TLS port when `port` itself speaks TLS */
  get port(): number {
    return this.bound.port;
  }

  /** the TLS port when TLS is on */
  get tlsPort(): number | undefined {
    return this.bound.tlsPort;
  }

  async start(): Promise<void> {
    const { host, port, tlsPort } = this.opts;
    if (this.plain !== undefined) this.bound.port = await listen(this.plain, port, host);
    if (this.secure !== undefined) {
      const p = await listen(this.secure, tlsPort ?? port, host);
      this.bound.tlsPort = p;
      if (this.plain === undefined) this.bound.port = p;
    }
  }

  /** Replaces the certificate for new connections (SIGHUP); live connections keep theirs. */
  setCertificate(pem: TlsPem): void {
    if (this.secure === undefined) throw new Error('TLS is off: start with tls.certFile and tls.keyFile');
    this.secure.setSecureContext({ key: pem.key, cert: pem.cert });
  }

  get tlsEnabled(): boolean {
    return this.secure !== undefined;
  }

  /** Stops accepting; resolves when every listener is closed. */
  close(): Promise<void> {
    return Promise.all(this.servers().map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(
      () => undefined,
    );
  }

  private servers(): net.Server[] {
    return [this.plain, this.secure].filter((s): s is net.Server => s !== undefined);
  }

  private onTlsError(err: Error & { code?: string }, socket: tls.TLSSocket): void {
    const plainTcp = err.code !== undefined && PLAIN_TCP_CODES.has(err.code);
    this.opts.metrics.connectionsRefused.inc({ reason: 'tls' });
    const address = socket.remoteAddress ?? '?';
    const now = this.opts.clock.now();
    const last = this.lastLogged.get(address);
    if (last !== undefined && now - last < TLS_ERROR_LOG_INTERVAL_MS) {
      this.opts.log.debug({ peer: address, err: err.message }, 'TLS handshake failed');
      return;
    }
    if (this.lastLogged.size > 10_000) this.prune(now);
    this.lastLogged.set(address, now);
    const fields = { peer: address, port: socket.localPort, code: err.code, err: err.message };
    if (plainTcp) {
      this.opts.log.warn(
        fields,
        'a plain-TCP client on the TLS port (v3.2.x phones speak plain TCP): point it at the plain port (set tls.port to run both) — logged once per peer per minute',
      );
    } else {
      this.opts.log.warn(fields, 'TLS handshake failed — logged once per peer per minute');
    }
  }

  private prune(now: number): void {
    for (const [address, at] of this.lastLogged) {
      if (now - at >= TLS_ERROR_LOG_INTERVAL_MS) this.lastLogged.delete(address);
    }
  }
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}
