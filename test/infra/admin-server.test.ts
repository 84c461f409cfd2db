import { afterEach, describe, expect, it } from 'vitest';
import type { AdminRoute } from '../../src/infra/admin/routes.js';
import { type AdminServer, type Readiness, startAdminServer } from '../../src/infra/admin/server.js';
import { silentLoggers } from '../../src/infra/logger.js';
import { createMetrics, type Metrics } from '../../src/infra/metrics.js';

async function errorOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: string }).error;
}

interface Harness {
  base: string;
  server: AdminServer;
  metrics: Metrics;
  levelCalls: Array<[string, string]>;
  inspectCalls: string[];
  setReadiness(r: Readiness | Error): void;
}

let open: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

const TOKEN = 'test-admin-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const put = (url: string): Promise<Response> => fetch(url, { method: 'PUT', headers: AUTH });

async function start(
  extra: { withInspect?: boolean; lagSampleMs?: number; routes?: AdminRoute[] } = {},
): Promise<Harness> {
  const metrics = createMetrics();
  const levelCalls: Array<[string, string]> = [];
  const inspectCalls: string[] = [];
  let readiness: Readiness | Error = { ready: true, checks: { listener: { ok: true } } };
  const server = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    metrics,
    log: silentLoggers().root,
    token: TOKEN,
    ...(extra.routes ? { routes: extra.routes } : {}),
    readiness: async () => {
      if (readiness instanceof Error) throw readiness;
      return readiness;
    },
    actors: () => [{ id: 'conn:bot/dev', state: { active: { reading: 'idle' } } }],
    setLogLevel: (category, level) => {
      levelCalls.push([category, level]);
    },
    ...(extra.withInspect === false ? {} : { setInspect: (mode: 'off' | 'log') => inspectCalls.push(mode) }),
    ...(extra.lagSampleMs ? { lagSampleMs: extra.lagSampleMs } : {}),
  });
  open.push(server);
  return {
    base: `http://127.0.0.1:${server.port}`,
    server,
    metrics,
    levelCalls,
    inspectCalls,
    setReadiness: (r) => {
      readiness = r;
    },
  };
}

describe('admin endpoint over real HTTP', () => {
  it('answers /healthz with 200 {"status":"ok"}', async () => {
    const h = await start();
    const res = await fetch(`${h.base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 200 when ready and 503 with the failing checks when not', async () => {
    const h = await start();
    let res = await fetch(`${h.base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, checks: { listener: { ok: true } } });

    h.setReadiness({
      ready: false,
      checks: { listener: { ok: true }, store: { ok: false, detail: 'ECONNREFUSED 127.0.0.1:3306' } },
    });
    res = await fetch(`${h.base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ready: false, checks: { store: { ok: false, detail: /ECONNREFUSED/ } } });

    h.setReadiness(new Error('store probe crashed'));
    res = await fetch(`${h.base}/readyz`);
    expect(res.status).toBe(503);
    expect(JSON.stringify(await res.json())).toContain('store probe crashed');
  });

  it('serves Prometheus text with the counters the gateway incremented', async () => {
    const h = await start();
    h.metrics.handshakes.inc({ outcome: 'approved' }, 3);
    h.metrics.messages.inc({ outcome: 'processed' });
    const res = await fetch(`${h.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(h.metrics.registry.contentType);
    const text = await res.text();
    expect(text).toContain('# TYPE msgbot_handshakes_total counter');
    expect(text).toContain('msgbot_handshakes_total{outcome="approved"} 3');
    expect(text).toContain('msgbot_messages_total{outcome="processed"} 1');
    expect(text).toContain('msgbot_event_loop_lag_seconds');
  });

  it('lists the live actors as JSON', async () => {
    const h = await start();
    const res = await fetch(`${h.base}/actors`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ id: 'conn:bot/dev', state: { active: { reading: 'idle' } } }]);
  });

  it('changes log levels at run time and refuses bad values with a message', async () => {
    const h = await start();
    let res = await put(`${h.base}/log-level?category=client&level=debug`);
    expect(res.status).toBe(204);
    res = await put(`${h.base}/log-level?category=all&level=warn`);
    expect(res.status).toBe(204);
    expect(h.levelCalls).toEqual([
      ['client', 'debug'],
      ['all', 'warn'],
    ]);

    res = await put(`${h.base}/log-level?category=http&level=debug`);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe(
      'category: "http" is not allowed; expected one of client, message, ping, dispatch, database, scheduler, inspect, all',
    );
    res = await put(`${h.base}/log-level?category=client&level=loud`);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toContain('level: "loud" is not allowed; expected one of trace, debug, info');
    res = await put(`${h.base}/log-level?category=client`);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toContain('level: missing');
    expect(h.levelCalls).toHaveLength(2);

    // GET reads the levels (501 here: this harness gives no logLevels); other methods are refused
    res = await fetch(`${h.base}/log-level?category=client&level=debug`);
    expect(res.status).toBe(501);
    res = await fetch(`${h.base}/log-level`, { method: 'DELETE', headers: AUTH });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, PUT');
  });

  it('switches actor inspection, or says it cannot', async () => {
    const h = await start();
    expect((await put(`${h.base}/inspect?mode=log`)).status).toBe(204);
    expect((await put(`${h.base}/inspect?mode=off`)).status).toBe(204);
    expect((await put(`${h.base}/inspect?mode=stately`)).status).toBe(400);
    expect(h.inspectCalls).toEqual(['log', 'off']);

    const without = await start({ withInspect: false });
    expect((await put(`${without.base}/inspect?mode=log`)).status).toBe(501);
  });

  it('refuses every mutating route without the bearer token and keeps reading routes open', async () => {
    const h = await start();
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: TOKEN },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${h.base}/log-level?category=client&level=debug`, { method: 'PUT', headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await errorOf(res)).toContain('Authorization: Bearer');
    }
    expect((await fetch(`${h.base}/inspect?mode=log`, { method: 'PUT' })).status).toBe(401);
    expect(h.levelCalls).toEqual([]);
    expect(h.inspectCalls).toEqual([]);
    for (const path of ['/healthz', '/readyz', '/metrics', '/actors']) {
      expect((await fetch(`${h.base}${path}`)).status).toBe(200);
    }
  });

  it('serves added routes with path parameters and JSON bodies', async () => {
    const seen: unknown[] = [];
    const h = await start({
      routes: [
        {
          method: 'POST',
          path: '/things',
          auth: 'token',
          async handle(ctx) {
            seen.push(await ctx.json());
            return { status: 202, body: { id: 'a' } };
          },
        },
        { method: 'GET', path: '/things/:id', auth: 'open', handle: (ctx) => ({ status: 200, body: ctx.params }) },
      ],
    });
    let res = await fetch(`${h.base}/things`, { method: 'POST', headers: AUTH, body: '{"x":1}' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: 'a' });
    expect(seen).toEqual([{ x: 1 }]);
    res = await fetch(`${h.base}/things`, { method: 'POST', headers: AUTH, body: '{"x":' });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toContain('request body is not JSON');
    res = await fetch(`${h.base}/things`, { method: 'POST', body: '{"x":1}' });
    expect(res.status).toBe(401);
    expect(seen).toHaveLength(1);
    res = await fetch(`${h.base}/things/01J%20x`);
    expect(await res.json()).toEqual({ id: '01J x' });
    res = await fetch(`${h.base}/things`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('answers unknown paths with 404', async () => {
    const h = await start();
    const res = await fetch(`${h.base}/admin`);
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toContain('/healthz');
  });

  it('samples event-loop lag into the gauge while running', async () => {
    const h = await start({ lagSampleMs: 200 });
    // Block the loop for ~120 ms; the sample at ~200 ms must see it (the one at ~400 ms no longer would).
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        const until = Date.now() + 120;
        while (Date.now() < until) {
          // busy on purpose
        }
        resolve();
      }, 10),
    );
    await new Promise((resolve) => setTimeout(resolve, 120));
    const value = (await h.metrics.eventLoopLagSeconds.get()).values[0]?.value ?? 0;
    expect(value).toBeGreaterThan(0.05);
  });

  it('stops listening on close, even with a keep-alive client', async () => {
    const h = await start();
    await fetch(`${h.base}/healthz`, { headers: { connection: 'keep-alive' } });
    await h.server.close();
    open = open.filter((s) => s !== h.server);
    await expect(fetch(`${h.base}/healthz`)).rejects.toThrow();
  });
});
