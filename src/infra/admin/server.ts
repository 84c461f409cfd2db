import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configSchema, LOG_CATEGORIES } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { startEventLoopLagSampler } from './event-loop-lag.js';
import { type AdminRoute, bearerMatches, HttpError, matchPath, readJsonBody } from './routes.js';

/**
 * The admin HTTP endpoint: health, readiness, Prometheus metrics, live actors, run-time switches
 * and the routes other parts add (routes.ts). It listens on admin.host (127.0.0.1 by default);
 * reading routes are open there, every mutating route needs the admin token.
 */

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  /** storage trouble (store or telemetry check failing) while the phones are still served */
  degraded?: boolean;
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
  /** the current level of every log category (GET /log-level); absent: 501 */
  logLevels?(): Record<string, string>;
  /** absent: PUT /inspect answers 501 */
  setInspect?(mode: InspectMode): void;
  log: Logger;
  /** how often event-loop lag is sampled into metrics.eventLoopLagSeconds (default 5 s) */
  lagSampleMs?: number;
  /** admin.token: every `auth: 'token'` route needs `Authorization: Bearer <token>`; absent: open (tests) */
  token?: string;
  /** another way to be authorized for token routes (the dashboard's session), besides the bearer token */
  authorize?(req: IncomingMessage): boolean;
  /** routes beyond the built-in ones (send API, dashboard, …) */
  routes?: readonly AdminRoute[];
  /** largest JSON request body (default 1 MiB) */
  maxBodyBytes?: number;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

const LEVELS: readonly string[] = configSchema.shape.log.unwrap().shape.level.unwrap().options;
const CATEGORIES: readonly string[] = [...LOG_CATEGORIES, 'all'];
const INSPECT_MODES: readonly InspectMode[] = ['off', 'log'];

function sendJson(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : text);
}

function oneOf(params: URLSearchParams, name: string, allowed: readonly string[]): string {
  const value = params.get(name);
  if (value === null || !allowed.includes(value)) {
    const got = value === null ? 'missing' : `"${value}" is not allowed`;
    throw new HttpError(400, `${name}: ${got}; expected one of ${allowed.join(', ')}`);
  }
  return value;
}

/** The routes every admin endpoint has: health, readiness, metrics, actors and the run-time switches. */
function builtinRoutes(opts: AdminServerOptions): AdminRoute[] {
  const { metrics, log } = opts;
  return [
    { method: 'GET', path: '/healthz', auth: 'open', handle: () => ({ status: 200, body: { status: 'ok' } }) },
    {
      method: 'GET',
      path: '/readyz',
      auth: 'open',
      async handle() {
        let readiness: Readiness;
        try {
          readiness = await opts.readiness();
        } catch (err) {
          readiness = { ready: false, checks: { readiness: { ok: false, detail: (err as Error).message } } };
        }
        return { status: readiness.ready ? 200 : 503, body: readiness };
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      auth: 'open',
      async handle({ res, head }) {
        const text = await metrics.registry.metrics();
        res.writeHead(200, {
          'content-type': metrics.registry.contentType,
          'content-length': Buffer.byteLength(text),
        });
        res.end(head ? undefined : text);
        return undefined;
      },
    },
    { method: 'GET', path: '/actors', auth: 'open', handle: () => ({ status: 200, body: opts.actors() }) },
    {
      method: 'GET',
      path: '/log-level',
      auth: 'open',
      handle() {
        if (!opts.logLevels) throw new HttpError(501, 'log levels cannot be read in this process');
        return { status: 200, body: { categories: opts.logLevels(), levels: LEVELS } };
      },
    },
    {
      method: 'PUT',
      path: '/log-level',
      auth: 'token',
      handle({ url }) {
        const category = oneOf(url.searchParams, 'category', CATEGORIES);
        const level = oneOf(url.searchParams, 'level', LEVELS);
        opts.setLogLevel(category, level);
        log.info({ category, level }, 'log level changed from the admin endpoint');
        return { status: 204 };
      },
    },
    {
      method: 'PUT',
      path: '/inspect',
      auth: 'token',
      handle({ url }) {
        if (!opts.setInspect) throw new HttpError(501, 'actor inspection cannot be switched in this process');
        const mode = oneOf(url.searchParams, 'mode', INSPECT_MODES) as InspectMode;
        opts.setInspect(mode);
        log.info({ mode }, 'actor inspection switched from the admin endpoint');
        return { status: 204 };
      },
    },
  ];
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const { metrics, log } = opts;
  const routes = [...builtinRoutes(opts), ...(opts.routes ?? [])];
  const maxBodyBytes = opts.maxBodyBytes ?? 1_048_576;
  const authorized = (req: IncomingMessage): boolean =>
    opts.token === undefined ||
    bearerMatches(req.headers.authorization, opts.token) ||
    (opts.authorize?.(req) ?? false);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const head = req.method === 'HEAD';
    const method = head ? 'GET' : (req.method ?? '');
    const allowed: string[] = [];
    for (const route of routes) {
      const params = matchPath(route.path, url.pathname);
      if (params === undefined) continue;
      if (route.method !== method) {
        allowed.push(route.method === 'GET' ? 'GET, HEAD' : route.method);
        continue;
      }
      if (route.auth === 'token' && !authorized(req)) {
        log.warn({ path: url.pathname, method, peer: req.socket.remoteAddress }, 'admin request without a valid token');
        throw new HttpError(401, 'this route needs Authorization: Bearer <admin.token>', {
          'www-authenticate': 'Bearer',
        });
      }
      if (route.method === 'GET' || route.method === 'DELETE') req.resume();
      const reply = await route.handle({ req, res, url, params, head, json: () => readJsonBody(req, maxBodyBytes) });
      if (reply === undefined) return;
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
      if (reply.body === undefined) res.writeHead(reply.status).end();
      else sendJson(res, reply.status, reply.body, head);
      return;
    }
    req.resume();
    if (allowed.length > 0) {
      throw new HttpError(405, `use ${allowed.join(' or ')}`, { allow: allowed.join(', ') });
    }
    throw new HttpError(404, `no such path ${url.pathname}; try /healthz, /readyz, /metrics, /actors`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log.error({ err, path: req.url }, 'admin request failed');
      // a body the route never read: drain it so keep-alive connections stay usable
      req.resume();
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
