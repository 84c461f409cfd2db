import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configSchema, LOG_CATEGORIES } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { startEventLoopLagSampler } from './event-loop-lag.js';

/**
 * The admin HTTP endpoint (issue 5 §3): health, readiness, Prometheus metrics, live actors and
 * run-time switches. It listens on admin.host (127.0.0.1 by default) and has no authentication,
 * which is why it must never face a public interface.
 */

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
}

export type InspectMode = 'off' | 'log';

export interface AdminServerOptions {
  host: string;
  /** 0 = an ephemeral port (tests); whether admin.port 0 means "off" is the caller's decision */
  port: number;
  metrics: Metrics;
  readiness(): Readiness | Promise<Readiness>;
  /** the JSON body of GET /actors */
  actors(): unknown;
  /** called with a validated category (a log category or `all`) and level */
  setLogLevel(category: string, level: string): void;
  /** absent: PUT /inspect answers 501 */
  setInspect?(mode: InspectMode): void;
  log: Logger;
  /** how often event-loop lag is sampled into metrics.eventLoopLagSeconds (default 5 s) */
  lagSampleMs?: number;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

const LEVELS: readonly string[] = configSchema.shape.log.unwrap().shape.level.unwrap().options;
const CATEGORIES: readonly string[] = [...LOG_CATEGORIES, 'all'];
const INSPECT_MODES: readonly InspectMode[] = ['off', 'log'];

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : text);
}

function requireMethod(req: IncomingMessage, allowed: readonly string[]): void {
  if (!allowed.includes(req.method ?? '')) {
    throw new HttpError(405, `use ${allowed.join(' or ')}`, { allow: allowed.join(', ') });
  }
}

function oneOf(params: URLSearchParams, name: string, allowed: readonly string[]): string {
  const value = params.get(name);
  if (value === null || !allowed.includes(value)) {
    const got = value === null ? 'missing' : `"${value}" is not allowed`;
    throw new HttpError(400, `${name}: ${got}; expected one of ${allowed.join(', ')}`);
  }
  return value;
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const { metrics, log } = opts;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const head = req.method === 'HEAD';
    switch (url.pathname) {
      case '/healthz':
        requireMethod(req, ['GET', 'HEAD']);
        sendJson(res, 200, { status: 'ok' }, head);
        return;
      case '/readyz': {
        requireMethod(req, ['GET', 'HEAD']);
        let readiness: Readiness;
        try {
          readiness = await opts.readiness();
        } catch (err) {
          readiness = { ready: false, checks: { readiness: { ok: false, detail: (err as Error).message } } };
        }
        sendJson(res, readiness.ready ? 200 : 503, readiness, head);
        return;
      }
      case '/metrics': {
        requireMethod(req, ['GET', 'HEAD']);
        const text = await metrics.registry.metrics();
        res.writeHead(200, {
          'content-type': metrics.registry.contentType,
          'content-length': Buffer.byteLength(text),
        });
        res.end(head ? undefined : text);
        return;
      }
      case '/actors':
        requireMethod(req, ['GET', 'HEAD']);
        sendJson(res, 200, opts.actors(), head);
        return;
      case '/log-level': {
        requireMethod(req, ['PUT']);
        const category = oneOf(url.searchParams, 'category', CATEGORIES);
        const level = oneOf(url.searchParams, 'level', LEVELS);
        opts.setLogLevel(category, level);
        log.info({ category, level }, 'log level changed from the admin endpoint');
        res.writeHead(204).end();
        return;
      }
      case '/inspect': {
        requireMethod(req, ['PUT']);
        if (!opts.setInspect) throw new HttpError(501, 'actor inspection cannot be switched in this process');
        const mode = oneOf(url.searchParams, 'mode', INSPECT_MODES) as InspectMode;
        opts.setInspect(mode);
        log.info({ mode }, 'actor inspection switched from the admin endpoint');
        res.writeHead(204).end();
        return;
      }
      default:
        throw new HttpError(404, `no such path ${url.pathname}; try /healthz, /readyz, /metrics, /actors`);
    }
  }

  const server = createServer((req, res) => {
    // The body is never read: drain it so keep-alive connections stay usable.
    req.resume();
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log.error({ err, path: req.url }, 'admin request failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      for (const [name, value] of Object.entries(err instanceof HttpError ? err.headers : {})) {
        res.setHeader(name, value);
      }
      sendJson(res, status, { error: err instanceof HttpError ? err.message : 'internal error' }, false);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'admin endpoint error'));

  const lag = startEventLoopLagSampler(metrics.eventLoopLagSeconds, opts.lagSampleMs);
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    close() {
      lag.stop();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Idle keep-alive connections (a Prometheus scraper) would hold close() open.
        server.closeAllConnections();
      });
    },
  };
}
