import net from 'node:net';
import type { Store } from '../../src/infra/store/types.js';
import { BridgeClient, type BridgeClientOptions } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import type { startTestGateway } from '../support/test-gateway.js';

/** End-to-end helpers for the MariaDB tests: a cuttable TCP proxy, async polling, clients. */

export type TestGateway = Awaited<ReturnType<typeof startTestGateway>>;

/**
 * How a cut looks to the gateway's pool:
 * - `refuse`: the port is closed (mariadbd stopped): new connections fail at once;
 * - `blackhole`: connections are accepted and never answered (host gone, packets lost): new
 *   connections fail only at the pool's connect timeout.
 * Either way every piped socket is destroyed, so queries in flight fail.
 */
export type CutMode = 'refuse' | 'blackhole';

/**
 * A TCP proxy on 127.0.0.1:<ephemeral> in front of MariaDB, standing in for the network between
 * the gateway and its database. It keeps its port across cut() and restore(), so the pool's URL
 * stays valid, as it would for a database that goes away and comes back.
 */
export class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private boundPort = 0;
  private mode: 'open' | CutMode = 'open';
  /** connections accepted while open (each one is a pool connection of the gateway) */
  accepted = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<CuttableProxy> {
    const proxy = new CuttableProxy(target.host, target.port);
    await proxy.listen(0);
    return proxy;
  }

  get port(): number {
    return this.boundPort;
  }

  get state(): 'open' | CutMode {
    return this.mode;
  }

  /** The database URL through the proxy. */
  url(database: string, user = 'root'): string {
    return `mysql://${encodeURIComponent(user)}@127.0.0.1:${this.boundPort}/${encodeURIComponent(database)}`;
  }

  /** Drops every piped connection and stops forwarding. */
  async cut(mode: CutMode = 'refuse'): Promise<void> {
    this.mode = mode;
    this.destroyAll();
    if (mode === 'refuse') await this.closeServer();
  }

  /** Forwards again on the same port. */
  async restore(): Promise<void> {
    if (this.mode === 'open') return;
    this.destroyAll(); // blackholed connections never become good ones
    this.mode = 'open';
    if (this.server === undefined) await this.listen(this.boundPort);
  }

  async close(): Promise<void> {
    this.mode = 'refuse';
    this.destroyAll();
    await this.closeServer();
  }

  private listen(port: number): Promise<void> {
    const server = net.createServer((client) => this.onClient(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address();
        if (typeof address === 'object' && address !== null) this.boundPort = address.port;
        this.server = server;
        resolve();
      });
    });
  }

  private closeServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => {
      // resets are the point of this proxy
    });
    socket.on('close', () => this.sockets.delete(socket));
  }

  private onClient(client: net.Socket): void {
    this.track(client);
    if (this.mode !== 'open') return; // blackhole: accepted, never answered
    this.accepted++;
    const upstream = net.createConnection({ host: this.targetHost, port: this.targetPort });
    this.track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    // One side gone means the whole pipe is gone, as with a real network path.
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  private destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

/** Polls an async condition (a database query) on real time until it holds. */
export async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const started = Date.now();
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (accept(last)) return last;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A simulated v3.2.2 phone whose clock is the gateway's simulated clock (so HMAC windows hold). */
export async function connectPhone(
  t: TestGateway,
  clients: BridgeClient[],
  opts: Partial<BridgeClientOptions> = {},
): Promise<BridgeClient> {
  const c = await BridgeClient.connect({
    port: t.port,
    secret: KEYS.secret,
    salt: KEYS.salt,
    now: () => t.clock?.now() ?? Date.now(),
    ...opts,
  });
  clients.push(c);
  return c;
}

/** Texts of the messageResponse packets a client received, in order. */
export function replies(c: BridgeClient): string[] {
  return c.packets.filter((p) => p.event === 'messageResponse').map((p) => String(p.data.text));
}

/**
 * The store as `serve` treats it at start (src/daemon.ts): a failed migration is recorded and the
 * gateway serves anyway. startTestGateway migrates unconditionally; this lets it start on a
 * database that cannot be reached.
 */
export function tolerantMigrate(store: Store): { store: Store; migrateErrors: unknown[] } {
  const migrateErrors: unknown[] = [];
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'migrate') {
        return async () => {
          try {
            await target.migrate();
          } catch (error) {
            migrateErrors.push(error);
          }
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: wrapped, migrateErrors };
}

/** Polls a synchronous condition on real time; the error names what was awaited. */
export async function waitUntil(
  what: string | (() => string),
  predicate: () => boolean,
  timeoutMs = 5_000,
): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`not within ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
