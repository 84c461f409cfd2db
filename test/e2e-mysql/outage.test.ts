import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/infra/config/schema.js';
import { openMysqlStore } from '../../src/infra/store/mysql.js';
import { parsePrometheusText } from '../daemon/prometheus-text.js';
import {
  createScratchDatabase,
  describeMysql,
  MYSQL_SERVER_URL,
  type ScratchDatabase,
} from '../store/mysql-scratch.js';
import type { BridgeClient } from '../support/bridge-client.js';
import { startTestGateway } from '../support/test-gateway.js';
import {
  CuttableProxy,
  connectPhone,
  eventually,
  replies,
  type TestGateway,
  tolerantMigrate,
  waitUntil,
} from './harness.js';

/**
 * Issue 4 item 5 and its "Outage test": the gateway's pool reaches MariaDB through a TCP proxy
 * the test cuts and restores, while a simulated phone keeps chatting. Chat must not notice; the
 * telemetry that piled up must arrive, or be counted exactly where the buffer had no room.
 */

const BOT = 'demo-bot';
const DEVICE = 'a1b2c3';
const CHANNEL = '18234567890123456';
/** the pool gives up on a connection attempt after this (real) time while the proxy is cut */
const CONNECT_TIMEOUT_MS = 300;
/** the telemetry writer's longest backoff (its default): advancing by it makes the retry run */
const MAX_BACKOFF_MS = 30_000;

/** One ping early on (after the jitter), none during the test's few simulated minutes. */
const QUIET_PINGS: ConfigInput = {
  timers: { pingIntervalMs: 3_600_000, pingJitterMs: 5_000, idleMs: 7_200_000 },
};

let db: ScratchDatabase | undefined;
let proxy: CuttableProxy | undefined;
let tg: TestGateway | undefined;
const clients: BridgeClient[] = [];

function scratch(): ScratchDatabase {
  if (db === undefined) throw new Error('no scratch database');
  return db;
}

async function count(table: string): Promise<number> {
  const [row] = await scratch().query(`SELECT COUNT(*) AS n FROM \`${table}\``);
  return Number(row?.n);
}

async function chatMessages(): Promise<string[]> {
  return (await scratch().query('SELECT message FROM kb_chat_logs ORDER BY id')).map((r) => String(r.message));
}

/** Schema of the operator's database, made directly (not through the proxy). */
async function migrateDirectly(): Promise<void> {
  const store = await openMysqlStore(scratch().url, { poolSize: 1 });
  await store.migrate();
  await store.close();
}

/** A device and a room the back office approved long ago. */
async function approvedRows(): Promise<void> {
  const conn = scratch().conn;
  await conn.query("INSERT INTO kb_bot_devices (bot_name, device_id, status) VALUES (?, ?, 'approved')", [BOT, DEVICE]);
  await conn.query(
    "INSERT INTO kb_rooms (room_id, bot_name, device_id, room_name, status) VALUES (?, ?, ?, 'Demo Room', 'approved')",
    [CHANNEL, BOT, DEVICE],
  );
}

async function startGateway(config: ConfigInput): Promise<{ t: TestGateway; migrateErrors: unknown[] }> {
  const p = proxy as CuttableProxy;
  const mysqlStore = await openMysqlStore(p.url(scratch().name), { poolSize: 4, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  const { store, migrateErrors } = tolerantMigrate(mysqlStore);
  tg = await startTestGateway({ store, config });
  return { t: tg, migrateErrors };
}

/** The last log lines' messages, for a failure that needs explaining. */
function lastMessages(t: TestGateway): string {
  return t.logs
    .slice(-8)
    .map((l) => String(l.msg))
    .join(' | ');
}

/** KakaoTalk log ids are unique per message, also across reconnects (the gateway drops repeats). */
let nextLogId = 4_401_234_567_890_123_456n;

/** Sends `# echo <text>` and waits for its answer. */
async function echo(t: TestGateway, c: BridgeClient, text: string): Promise<void> {
  const before = replies(c).length;
  c.analyze(`# echo ${text}`, { logId: String(nextLogId++) });
  await waitUntil(
    () => `a reply to "${text}"; last logs: ${lastMessages(t)}`,
    () => replies(c).length > before,
  );
  expect(replies(c).at(-1)).toBe(`에코: ${text}`);
  expect(t.gateway.liveConnections()).toBeGreaterThan(0);
}

/** An approved phone connected, caches warm, the first ping and message written; buffer empty. */
async function warmUp(t: TestGateway): Promise<BridgeClient> {
  const c = await connectPhone(t, clients);
  const hc = await c.next((p) => p.event === 'handshakeComplete');
  expect(hc.data).toMatchObject({ success: true, approved: true, message: '승인된 디바이스입니다' });
  await echo(t, c, 'warm'); // reads the room: its status is now known
  await t.advance(t.config.timers.pingJitterMs); // the one ping of the test, answered by the phone
  await eventually(
    () => pingsAnswered(t),
    (n) => n === 1,
  );
  await t.advance(t.config.telemetry.flushMs);
  await waitUntil('telemetry buffer empty', () => t.gateway.telemetry.buffered === 0);
  expect(await count('kb_chat_logs')).toBe(2); // the message and our answer (PROTOCOL §8.3 [REC])
  expect(await count('kb_ping_monitor')).toBe(1);
  expect(t.gateway.telemetry.healthy).toEqual({ ok: true });
  return c;
}

/**
 * Stops the gateway while moving its clock: the telemetry writer's last flush backs off on the
 * simulated clock, so after a failed test that left it mid-outage, stop() would otherwise wait forever.
 */
async function stopOnSimulatedTime(t: TestGateway): Promise<void> {
  let stopped = false;
  const stopping = t.stop().finally(() => {
    stopped = true;
  });
  while (!stopped) {
    t.clock?.increment(1_000);
    await new Promise((r) => setTimeout(r, 20));
  }
  await stopping;
}

async function pingsAnswered(t: TestGateway): Promise<number> {
  return (await t.gateway.metrics.pingsAnswered.get()).values[0]?.value ?? 0;
}

async function droppedTotal(t: TestGateway): Promise<Map<string, number>> {
  return parsePrometheusText(await t.gateway.metrics.registry.metrics());
}

describeMysql('database outage: the gateway keeps chatting through a cut MariaDB connection', () => {
  beforeEach(async () => {
    db = await createScratchDatabase();
    const server = new URL(MYSQL_SERVER_URL);
    proxy = await CuttableProxy.start({ host: server.hostname || '127.0.0.1', port: Number(server.port || 3306) });
  });

  afterEach(async () => {
    try {
      for (const c of clients.splice(0)) c.close();
      await proxy?.restore();
      if (tg !== undefined) await stopOnSimulatedTime(tg);
      await proxy?.close();
    } finally {
      tg = undefined;
      proxy = undefined;
      await db?.drop();
      db = undefined;
    }
  });

  it('mid-run outage: every message answered from last-known standing, outage reported, backlog written after recovery', async () => {
    await migrateDirectly();
    const { t } = await startGateway(QUIET_PINGS);
    await approvedRows();
    let c = await warmUp(t);

    await (proxy as CuttableProxy).cut('refuse');
    const sent: string[] = [];
    for (let i = 1; i <= 12; i++) {
      const text = `during outage ${i} 안녕 👋`;
      await echo(t, c, text);
      sent.push(`# echo ${text}`);
      // 2 s steps: the room cache (5 s) expires, the standing refresh (5 s) and flushes run and fail
      await t.advance(2_000);
    }
    await waitUntil('telemetry reports the outage', () => !t.gateway.telemetry.healthy.ok);
    expect(t.gateway.telemetry.healthy.detail).toMatch(/database unreachable since .*, \d+ rows buffered/);
    expect(t.logs.some((l) => l.msg === 'room lookup failed; using the last known status')).toBe(true);
    expect(t.logs.some((l) => l.msg === 'standing refresh failed; keeping the last known')).toBe(true);
    expect(t.logs.some((l) => l.msg === 'device standing changed')).toBe(false);

    // The phone reconnects during the outage (a network blip): the last known standing admits it.
    c.close();
    await waitUntil('old connection gone', () => t.gateway.registry.size === 0);
    c = await connectPhone(t, clients);
    const hc = await c.next((p) => p.event === 'handshakeComplete');
    expect(hc.data).toMatchObject({ success: true, approved: true });
    await echo(t, c, 'after reconnect');
    sent.push('# echo after reconnect');

    // nothing crashed or failed: outage trouble is logged as warnings, once per kind
    expect(t.logs.filter((l) => Number(l.level) >= 50).map((l) => l.msg)).toEqual([]);
    // each message and its answer
    expect(t.gateway.telemetry.buffered).toBe(2 * sent.length);
    expect(t.gateway.telemetry.dropped).toEqual({ chat: 0, ping: 0, system: 0 });
    expect(await count('kb_chat_logs')).toBe(2); // nothing reached the database meanwhile

    await (proxy as CuttableProxy).restore();
    await t.advance(MAX_BACKOFF_MS);
    await eventually(chatMessages, (m) => m.length === 2 + 2 * sent.length);
    const answered = (texts: string[]) => texts.flatMap((m) => [m, m.replace('# echo ', '에코: ')]);
    expect(await chatMessages()).toEqual(answered(['# echo warm', ...sent])); // in order, each once
    // every answered ping has its row: the one before the cut and the reconnected phone's first
    expect(await pingsAnswered(t)).toBe(2);
    // The reconnected phone answers its ping (due in the advance above) over the socket, after the
    // recovery's write loop took the rows buffered then: its row goes with the next flush.
    await t.advance(t.config.telemetry.flushMs);
    await eventually(
      () => count('kb_ping_monitor'),
      (n) => n === 2,
    );
    await waitUntil('telemetry healthy again', () => t.gateway.telemetry.healthy.ok);
    expect(t.gateway.telemetry.buffered).toBe(0);
    expect(t.logs.some((l) => String(l.msg).startsWith('database reachable again'))).toBe(true);

    // and the database is used again: a back-office block takes effect live
    await scratch().conn.query("UPDATE kb_bot_devices SET status = 'blocked' WHERE bot_name = ? AND device_id = ?", [
      BOT,
      DEVICE,
    ]);
    await t.advance(5_000);
    await waitUntil('standing changed to blocked', () =>
      t.logs.some((l) => l.msg === 'device standing changed' && l.to === 'blocked'),
    );
    c.analyze('# echo not any more');
    await waitUntil('limited-mode message', () =>
      t.logs.some((l) => l.msg === 'message from a device in limited mode'),
    );
    expect(replies(c).at(-1)).toBe('에코: after reconnect');
  });

  it('buffer overflow during an outage: newest rows dropped, counted exactly, the rest written after recovery', async () => {
    await migrateDirectly();
    const BUFFER = 20;
    const { t } = await startGateway({ ...QUIET_PINGS, telemetry: { bufferRows: BUFFER } });
    await approvedRows();
    const c = await warmUp(t);

    await (proxy as CuttableProxy).cut('refuse');
    const SENT = 35;
    for (let i = 1; i <= SENT; i++) {
      await echo(t, c, `overflow ${i}`);
      if (i % 5 === 0) await t.advance(2_000);
    }
    expect(replies(c)).toHaveLength(1 + SENT); // chat never noticed
    // two rows per echo: the message and our answer (PROTOCOL §8.3 [REC])
    const ROWS = 2 * SENT;
    expect(t.gateway.telemetry.buffered).toBe(BUFFER);
    expect(t.gateway.telemetry.dropped).toEqual({ chat: ROWS - BUFFER, ping: 0, system: 0 });
    const metrics = await droppedTotal(t);
    expect(metrics.get('msgbot_telemetry_dropped_total{table="chat"}')).toBe(ROWS - BUFFER);
    expect(metrics.get('msgbot_telemetry_buffered')).toBe(BUFFER);
    expect(t.logs.filter((l) => String(l.msg).startsWith('telemetry buffer full'))).toHaveLength(1);
    expect(t.gateway.telemetry.healthy.ok).toBe(false);

    await (proxy as CuttableProxy).restore();
    await t.advance(MAX_BACKOFF_MS);
    await eventually(chatMessages, (m) => m.length === 2 + BUFFER);
    const expected = Array.from({ length: BUFFER / 2 }, (_, i) => [
      `# echo overflow ${i + 1}`,
      `에코: overflow ${i + 1}`,
    ]);
    expect(await chatMessages()).toEqual(['# echo warm', '에코: warm', ...expected.flat()]);
    await waitUntil('telemetry healthy again', () => t.gateway.telemetry.healthy.ok);
    // the counter stays exact after recovery (nothing more dropped, nothing double counted)
    expect(t.gateway.telemetry.dropped.chat).toBe(ROWS - BUFFER);
    expect((await droppedTotal(t)).get('msgbot_telemetry_dropped_total{table="chat"}')).toBe(ROWS - BUFFER);
    expect((await droppedTotal(t)).get('msgbot_telemetry_written_total{table="chat"}')).toBe(2 + BUFFER);
  });

  it('start while the database is unreachable: serves, a never-seen device stays pending, registered once it is back', async () => {
    await migrateDirectly(); // the operator's database exists; the network to it is down
    await (proxy as CuttableProxy).cut('blackhole');
    const { t, migrateErrors } = await startGateway(QUIET_PINGS);
    expect(migrateErrors).toHaveLength(1); // `serve` logs this and serves anyway (src/daemon.ts)

    const c = await connectPhone(t, clients, { deviceId: 'never-seen' });
    const hc = await c.next((p) => p.event === 'handshakeComplete');
    // fail closed (issue 4 §5), unlike the reference server's fail-open (PROTOCOL §7.3)
    expect(hc.data).toMatchObject({ success: true, approved: false });
    expect(String(hc.data.message)).toContain('pending');

    c.analyze('# echo hello');
    await waitUntil('limited-mode message', () =>
      t.logs.some((l) => l.msg === 'message from a device in limited mode'),
    );
    await t.advance(t.config.telemetry.flushMs);
    await waitUntil('telemetry reports the outage', () => !t.gateway.telemetry.healthy.ok);
    expect(t.gateway.telemetry.healthy.detail).toMatch(/database unreachable/);
    expect(replies(c)).toEqual([]);
    expect(c.closed).toBe(false);

    await (proxy as CuttableProxy).restore();
    await t.advance(MAX_BACKOFF_MS);
    await eventually(chatMessages, (m) => m.length === 1);
    await waitUntil('telemetry healthy again', () => t.gateway.telemetry.healthy.ok);

    // The phone stays connected for days; the back office must get a row to approve it.
    await t.advance(5_000);
    const [row] = await eventually(
      () => scratch().query('SELECT status FROM kb_bot_devices WHERE device_id = ?', ['never-seen']),
      (r) => r.length === 1,
    );
    expect(row?.status).toBe('pending');
    await scratch().conn.query("UPDATE kb_bot_devices SET status = 'approved' WHERE device_id = ?", ['never-seen']);
    await scratch().conn.query(
      "INSERT INTO kb_rooms (room_id, bot_name, device_id, room_name, status) VALUES (?, ?, 'never-seen', 'Demo Room', 'approved')",
      [CHANNEL, BOT],
    );
    await t.advance(5_000);
    await waitUntil('standing changed to approved', () =>
      t.logs.some((l) => l.msg === 'device standing changed' && l.to === 'approved'),
    );
    await echo(t, c, 'approved now');
  });
});
