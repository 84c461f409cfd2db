import { afterEach, describe, expect, it } from 'vitest';
import { gatewayReadiness } from '../../src/gateway/readiness.js';
import { type AdminServer, startAdminServer } from '../../src/infra/admin/server.js';
import { configSchema } from '../../src/infra/config/schema.js';
import { createLoggers, silentLoggers } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { startTestGateway, until } from '../support/test-gateway.js';

/** Metrics names, GET /log-level, /readyz degraded and the /actors connection and gate views. */

type TG = Awaited<ReturnType<typeof startTestGateway>>;
let tg: TG | undefined;
let admin: AdminServer | undefined;
const clients: BridgeClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await admin?.close();
  admin = undefined;
  await tg?.stop();
  tg = undefined;
});

const TOKEN = 'test-admin-token-0123456789';
const CHANNEL = '18234567890123456';

describe('default process metrics', () => {
  it('are exposed under their standard names, not msgbot_process_process_…', async () => {
    const text = await createMetrics({ defaultMetrics: true }).registry.metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(text).not.toMatch(/msgbot_process_/);
  });
});

describe('admin endpoint views', () => {
  it('GET /log-level shows the level of every category, PUT changes it', async () => {
    const loggers = createLoggers({ level: 'info', categories: { ping: 'debug' }, destination: { write: () => {} } });
    admin = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      metrics: createMetrics(),
      log: silentLoggers().root,
      token: TOKEN,
      readiness: () => ({ ready: true, checks: {} }),
      actors: () => ({}),
      setLogLevel: (category, level) => loggers.setLevel(category as never, level as never),
      logLevels: () => loggers.levels(),
    });
    const base = `http://127.0.0.1:${admin.port}`;
    let res = await fetch(`${base}/log-level`);
    expect(res.status).toBe(200);
    let body = (await res.json()) as { categories: Record<string, string>; levels: string[] };
    expect(body.categories).toEqual({
      client: 'info',
      message: 'info',
      ping: 'debug',
      dispatch: 'info',
      database: 'info',
      scheduler: 'info',
      inspect: 'info',
    });
    expect(body.levels).toContain('trace');
    res = await fetch(`${base}/log-level?category=client&level=warn`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(204);
    body = (await (await fetch(`${base}/log-level`)).json()) as typeof body;
    expect(body.categories.client).toBe('warn');
  });

  it('/readyz reports degraded storage, and fails on it only with admin.readyRequiresStore', async () => {
    let storeUp = false;
    const sources = (requireStore: boolean) => ({
      listening: () => true,
      store: {
        ping: async () => {
          if (!storeUp) throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
        },
      },
      telemetry: () => ({ ok: true }),
      workersHealthy: () => true,
      requireStore,
    });
    expect(configSchema.parse({}).admin.readyRequiresStore).toBe(false);
    let requireStore = false;
    admin = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      metrics: createMetrics(),
      log: silentLoggers().root,
      readiness: () => gatewayReadiness(sources(requireStore)),
      actors: () => ({}),
      setLogLevel: () => {},
    });
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${admin?.port}/readyz`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    let r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      ready: true,
      degraded: true,
      checks: { store: { ok: false, detail: 'connect ECONNREFUSED 127.0.0.1:3306' } },
    });
    requireStore = true;
    r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ ready: false, degraded: true });
    storeUp = true;
    r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ready: true, degraded: false });
  });

  it('/actors connections carry connected-since, last RTT and message counts; gate keys are readable', async () => {
    tg = await startTestGateway();
    const t = tg;
    await t.store.setDeviceStatus({ botName: 'demo-bot', deviceId: 'a1b2c3' }, 'approved');
    await t.store.setRoomStatus('demo-bot', CHANNEL, 'approved', 'a1b2c3');
    const c = await BridgeClient.connect({
      port: t.port,
      secret: KEYS.secret,
      salt: KEYS.salt,
      now: () => t.clock?.now() ?? Date.now(),
    });
    clients.push(c);
    await c.next((p) => p.event === 'handshakeComplete');
    await t.advance(2_500); // the first ping, answered by the client
    await c.next((p) => p.event === 'ping');
    await until(() => t.logs.some((l) => l.msg === 'first ping answered'));
    for (const word of ['one', 'two']) c.analyze(`# echo ${word}`, { channelId: CHANNEL });
    for (let i = 0; i < 2; i++) await c.next((p) => p.event === 'messageResponse');

    const view = t.gateway.actors() as {
      connections: Array<Record<string, unknown>>;
      dispatcher: { botGates: Array<Record<string, unknown>>; roomGates: Array<Record<string, unknown>> };
    };
    expect(view.connections).toHaveLength(1);
    const conn = view.connections[0]!;
    expect(conn).toMatchObject({ botName: 'demo-bot', deviceId: 'a1b2c3', messagesIn: 2, repliesOut: 2 });
    expect(conn.pingsAnswered).toBe(1);
    expect(typeof conn.lastRttMs).toBe('number');
    expect(String(conn.connectedSince)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // gates stay idle for processing.gateIdleMs, so they are still listed
    expect(view.dispatcher.roomGates).toEqual([
      expect.objectContaining({ key: `demo-bot/${CHANNEL}`, botName: 'demo-bot', channelId: CHANNEL }),
    ]);
    expect(view.dispatcher.botGates).toEqual([expect.objectContaining({ key: 'demo-bot', botName: 'demo-bot' })]);
    expect(JSON.stringify(view)).not.toContain('\\u0000');
  });
});
