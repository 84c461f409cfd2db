import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Actor } from 'xstate';
import { parseKst } from '../../src/actors/schedule-rules.js';
import type { schedulerMachine } from '../../src/actors/scheduler.js';
import type { SendOutcome } from '../../src/actors/send.js';
import { startScheduler } from '../../src/gateway/scheduler-wiring.js';
import { defineBot } from '../../src/handlers/api.js';
import { openSqliteInbox } from '../../src/infra/inbox/sqlite.js';
import { openSqliteOutbox, type SqliteOutbox } from '../../src/infra/outbox/sqlite.js';
import { openSqliteStore, type SqliteStore } from '../../src/infra/store/sqlite.js';
import { metricValue } from '../robustness/support/wire.js';
import { newSchedule } from '../store/schedules.suite.js';
import type { BridgeClient } from '../support/bridge-client.js';
import { connectPhone, startTestGateway, type TestGatewayOptions, until } from '../support/test-gateway.js';

/**
 * DESIGN.md §2 outbound path ("waits for the phone while it is away (bounded, durable)"): API and
 * scheduled sends survive a gateway that is dropped without a graceful stop (a crash), on the
 * simulated clock. A "crash" here: the old gateway's send record handle is closed under it (the
 * process is gone, it writes nothing more), its phone's socket closes, its clock never moves again.
 */

type TG = Awaited<ReturnType<typeof startTestGateway>>;
const gateways: TG[] = [];
const clients: BridgeClient[] = [];
const handles: { close(): void }[] = [];
const schedulers: Actor<typeof schedulerMachine>[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of schedulers.splice(0)) s.stop();
  for (const c of clients.splice(0)) c.close();
  for (const t of gateways.splice(0)) await t.stop();
  for (const h of handles.splice(0)) h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const BOT = 'demo-bot';
const DEVICE = 'a1b2c3';
const ROOM = '18234567890123456';
const HOLD_MS = 600_000;
const OWNER = 'test-host:/data';
const PNG = 'iVBORw0KGgoAAAANSUhEUg==';
const kst = (t: string) => parseKst(t) as number;

interface World {
  file: string;
  outbox(): Promise<SqliteOutbox>;
  store(): Promise<SqliteStore>;
}

async function world(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'msgbot-sends-'));
  dirs.push(dir);
  const file = join(dir, 'msgbot.db');
  const w: World = {
    file,
    async outbox() {
      const o = openSqliteOutbox(file);
      await o.migrate();
      handles.push({ close: () => o.db.open && o.db.close() });
      return o;
    },
    async store() {
      const s = openSqliteStore(file);
      await s.migrate();
      return s;
    },
  };
  const s = await w.store();
  await s.setDeviceStatus({ botName: BOT, deviceId: DEVICE }, 'approved');
  await s.registerRoom({ roomId: ROOM, botName: BOT, deviceId: DEVICE }, '공지방', 'approved');
  await s.close();
  return w;
}

/** A gateway on the world's database file with its own handles (one process). */
async function gateway(w: World, opts: TestGatewayOptions & { clockStart: number }) {
  const outbox = await w.outbox();
  const t = await startTestGateway({ outbox, instanceId: OWNER, ...opts, store: opts.store ?? (await w.store()) });
  gateways.push(t);
  return { t, outbox };
}

function phone(t: TG, deviceId = DEVICE) {
  return connectPhone(t, clients, deviceId);
}

const texts = (c: BridgeClient) =>
  c.packets.filter((p) => p.event === 'messageResponse').map((p) => String(p.data.text));

function rows(o: SqliteOutbox) {
  return o.db.prepare('SELECT id, kind, status, reason, component FROM msgbot_outbox ORDER BY seq').all() as {
    id: string;
    kind: string;
    status: string;
    reason: string | null;
    component: string | null;
  }[];
}

describe('API sends survive a crash (DESIGN.md §2 outbound path, durable)', () => {
  it('a send queued for an away phone is delivered once after the restart, and GET /messages/<id> says so', async () => {
    const w = await world();
    const t0 = Date.now();
    const first = await gateway(w, { clockStart: t0 });
    const accepted = await first.t.gateway.sender.accept({
      botName: BOT,
      channelId: ROOM,
      deviceId: DEVICE,
      text: 'hi',
    });
    const other = await first.t.gateway.sender.accept({ botName: BOT, channelId: ROOM, deviceId: DEVICE, text: 'two' });
    expect(accepted.status).toBe('queued');
    expect(rows(first.outbox).map((r) => [r.id, r.status])).toEqual([
      [accepted.id, 'queued'],
      [other.id, 'queued'],
    ]);
    first.outbox.db.close(); // the crash

    const second = await gateway(w, { clockStart: t0 + 60_000 });
    const recovered = second.t.logs.find((l) => l.msg === 'send record recovered; re-sent sends wait for their phones');
    expect(recovered).toMatchObject({ resubmitted: 2, expired: 0 });
    expect(await second.t.gateway.sender.lookup(accepted.id)).toMatchObject({ status: 'queued', deviceId: DEVICE });
    const c = await phone(second.t);
    await until(() => texts(c).length === 1);
    await second.t.advance(1_000); // the room gap (outbound.minGapMs)
    await until(() => texts(c).length === 2);
    await second.t.advance(2_000); // a second copy would have its room gap by now
    expect(texts(c)).toEqual(['hi', 'two']);
    expect(await second.t.gateway.sender.lookup(accepted.id)).toMatchObject({ status: 'delivered', deviceId: DEVICE });
    expect(rows(second.outbox).map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(await metricValue(second.t.gateway.metrics.outbox, { event: 'resubmitted' })).toBe(2);

    // a third start knows them from the record only (GET /messages/<id> after a restart)
    second.outbox.db.close();
    const third = await gateway(w, { clockStart: t0 + 120_000 });
    expect(third.t.gateway.sender.outcomes.get(accepted.id)).toBeUndefined();
    expect(await third.t.gateway.sender.lookup(accepted.id)).toMatchObject({
      id: accepted.id,
      kind: 'api',
      status: 'delivered',
      deviceId: DEVICE,
      channelId: ROOM,
    });
    expect(await third.t.gateway.sender.lookup('01NOSUCHSEND')).toBeUndefined();
  });

  it('a send older than outbound.holdMs at the restart fails expired and is never delivered', async () => {
    const w = await world();
    const t0 = Date.now();
    const first = await gateway(w, { clockStart: t0 });
    const accepted = await first.t.gateway.sender.accept({
      botName: BOT,
      channelId: ROOM,
      deviceId: DEVICE,
      text: 'old',
    });
    first.outbox.db.close();

    const second = await gateway(w, { clockStart: t0 + HOLD_MS + 1 });
    expect(
      second.t.logs.find((l) => l.msg === 'send record recovered; re-sent sends wait for their phones'),
    ).toMatchObject({ resubmitted: 0, expired: 1 });
    expect(second.t.logs.find((l) => l.msg === 'send expired before the restart could re-send it')).toMatchObject({
      sendId: accepted.id,
    });
    expect(await second.t.gateway.sender.lookup(accepted.id)).toMatchObject({ status: 'failed', reason: 'expired' });
    const c = await phone(second.t);
    await second.t.advance(2_000);
    expect(texts(c)).toEqual([]);
    expect(await metricValue(second.t.gateway.metrics.outbox, { event: 'expired' })).toBe(1);
  });

  it('a graceful stop leaves a waiting send queued in the record; the next start sends it', async () => {
    const w = await world();
    const t0 = Date.now();
    const first = await gateway(w, { clockStart: t0 });
    const accepted = await first.t.gateway.sender.accept({
      botName: BOT,
      channelId: ROOM,
      deviceId: DEVICE,
      text: 'kept',
    });
    const outcome = first.t.gateway.send({ botName: BOT, channelId: ROOM, deviceId: DEVICE, text: 'also kept' });
    await first.t.gateway.stop(50);
    // the caller in this process hears `shutdown`; the record keeps both for the next start
    expect(await outcome).toMatchObject({ status: 'failed', reason: 'shutdown' });
    expect(rows(first.outbox).map((r) => [r.status, r.reason])).toEqual([
      ['queued', null],
      ['queued', null],
    ]);
    const second = await gateway(w, { clockStart: t0 + 5_000 });
    const c = await phone(second.t);
    await until(() => texts(c).length === 1);
    await second.t.advance(1_000);
    await until(() => texts(c).length === 2);
    expect(texts(c)).toEqual(['kept', 'also kept']);
    expect(await second.t.gateway.sender.lookup(accepted.id)).toMatchObject({ status: 'delivered' });
  });

  it('a failing record write is counted and logged; the send still goes out', async () => {
    const w = await world();
    const first = await gateway(w, { clockStart: Date.now() });
    first.outbox.db.close();
    const c = await phone(first.t);
    const outcome = await first.t.gateway.send({ botName: BOT, channelId: ROOM, deviceId: DEVICE, text: 'anyway' });
    expect(outcome.status).toBe('delivered');
    await until(() => texts(c).length === 1);
    expect(texts(c)).toEqual(['anyway']);
    expect(await metricValue(first.t.gateway.metrics.outbox, { event: 'write-error' })).toBeGreaterThanOrEqual(1);
    expect(first.t.logs.some((l) => l.msg === 'send record write failed; the send goes on in memory')).toBe(true);
  });

  it('a ctx.send of a message that is replayed is left to its handler: the target phone gets it once', async () => {
    const w = await world();
    const s = await w.store();
    await s.setDeviceStatus({ botName: BOT, deviceId: 'dev-2' }, 'approved');
    await s.registerRoom({ roomId: ROOM, botName: BOT, deviceId: 'dev-2' }, '공지방', 'approved');
    await s.close();
    const relay = defineBot({
      async onMessage(ctx) {
        await ctx.send({ channelId: ROOM, device: 'dev-2', text: `relay: ${ctx.message.text}` });
        await ctx.reply('relayed');
      },
    });
    const inbox = async () => {
      const i = openSqliteInbox(w.file);
      await i.migrate();
      handles.push({ close: () => i.db.open && i.db.close() });
      return i;
    };
    const t0 = Date.now();
    const firstInbox = await inbox();
    const first = await gateway(w, { clockStart: t0, inbox: firstInbox, bots: [relay] });
    const sender = await phone(first.t);
    sender.analyze('news', { channelId: ROOM });
    await until(() => rows(first.outbox).length === 1); // the handler waits for dev-2, which is away
    first.outbox.db.close(); // the crash
    firstInbox.db.close();
    sender.close();

    const second = await gateway(w, { clockStart: t0 + 30_000, inbox: await inbox(), bots: [relay] });
    expect(
      second.t.logs.find((l) => l.msg === 'send record recovered; re-sent sends wait for their phones'),
    ).toMatchObject({ resubmitted: 0, replayed: 1 });
    const target = await phone(second.t, 'dev-2');
    const back = await phone(second.t); // the replayed message runs once its phone is back
    await until(() => texts(back).includes('relayed'));
    await second.t.advance(2_000);
    expect(texts(target)).toEqual(['relay: news']);
    expect(rows(second.outbox).map((r) => [r.status, r.reason])).toEqual([
      ['failed', 'interrupted'],
      ['delivered', null],
    ]);
  });

  it('settled rows are pruned after outbound.recordKeepMs', async () => {
    const w = await world();
    const first = await gateway(w, { clockStart: Date.now(), config: { outbound: { recordKeepMs: 60_000 } } });
    const c = await phone(first.t);
    await first.t.gateway.send({ botName: BOT, channelId: ROOM, deviceId: DEVICE, text: 'short-lived' });
    await until(() => texts(c).length === 1);
    expect(rows(first.outbox).map((r) => r.status)).toEqual(['delivered']);
    await first.t.advance(60_000);
    expect(rows(first.outbox)).toHaveLength(1); // settled less than recordKeepMs before the prune
    await first.t.advance(60_000);
    await until(() => rows(first.outbox).length === 0);
  });

  it('a re-sent send waits only for the rest of its hold', async () => {
    const w = await world();
    const t0 = Date.now();
    const first = await gateway(w, { clockStart: t0 });
    const accepted = await first.t.gateway.sender.accept({
      botName: BOT,
      channelId: ROOM,
      deviceId: DEVICE,
      text: 'x',
    });
    first.outbox.db.close();
    const second = await gateway(w, { clockStart: t0 + HOLD_MS - 10_000 });
    await second.t.advance(10_001);
    await until(() => rows(second.outbox)[0]?.status === 'failed');
    expect(await second.t.gateway.sender.lookup(accepted.id)).toMatchObject({ status: 'failed', reason: 'expired' });
  });
});

describe('an interrupted schedule run is finished after the restart (PROTOCOL §7.12)', () => {
  function scheduler(t: TG, store: SqliteStore) {
    const s = startScheduler({
      store,
      send: t.gateway.outbound,
      clock: t.gateway.clock,
      liveBots: () => [...t.gateway.registry.entries()].map(([, e]) => e.info.handshake.botName),
      config: t.config.scheduler,
      metrics: t.gateway.metrics,
      log: pino({ level: 'silent' }),
      recovery: t.gateway.journal?.recoveryPort(),
    });
    schedulers.push(s);
    return s;
  }

  /** Runs the schedule on a first gateway until its text is delivered and its image waits, then crashes. */
  async function interrupted(w: World) {
    const t0 = kst('2026-01-15 11:59:55');
    const config = { scheduler: { startDelayMs: 10_000 } };
    const store = await w.store();
    const id = await store.schedules.addSchedule(
      newSchedule({
        botName: BOT,
        deviceId: DEVICE,
        roomId: ROOM,
        messageText: 'morning',
        images1: [{ base64: PNG, name: 'a.png' }],
        imageStorageMode: 'base64',
        scheduleType: 'daily',
        scheduleTime: '12:00:00',
        nextSendAt: '2026-01-15 12:00:00',
        now: '2026-01-15 11:00:00',
      }),
    );
    const first = await gateway(w, { clockStart: t0, config, store });
    scheduler(first.t, store);
    const c = await phone(first.t);
    await first.t.advance(10_000); // the catch-up pass: claim, text out, the image waits for the room gap
    await until(() => texts(c).includes('morning'));
    await until(() => rows(first.outbox).length === 2);
    expect(rows(first.outbox).map((r) => [r.component, r.status])).toEqual([
      ['text', 'delivered'],
      ['images_1', 'queued'],
    ]);
    first.outbox.db.close(); // the crash
    c.close();
    return { id, t0, config, before: c };
  }

  function table(store: SqliteStore, sql: string) {
    return (store as unknown as { db: { prepare(s: string): { all(): Record<string, unknown>[] } } }).db
      .prepare(sql)
      .all();
  }

  it('within the catch-up window: the image is sent, the text not again; one log row; the schedule advances', async () => {
    const w = await world();
    const { id, t0, config, before } = await interrupted(w);
    const store = await w.store();
    const second = await gateway(w, { clockStart: t0 + 60_000, config, store });
    expect(table(store, 'SELECT * FROM kb_schedule_logs')).toEqual([]);
    scheduler(second.t, store);
    const c = await phone(second.t);
    await second.t.advance(10_000);
    await until(() => table(store, 'SELECT * FROM kb_schedule_logs').length === 1);
    await second.t.advance(5_000);
    expect(texts(c)).toEqual([`IMAGE_BASE64:${PNG}`]);
    expect([...texts(before), ...texts(c)].filter((x) => x === 'morning')).toHaveLength(1);
    const logs = table(
      store,
      'SELECT schedule_id, status, scheduled_at, error_message, api_response FROM kb_schedule_logs',
    );
    expect(logs).toMatchObject([{ schedule_id: id, status: 'success', scheduled_at: '2026-01-15 12:00:00' }]);
    expect(JSON.parse(String(logs[0]?.api_response))).toMatchObject({ resumed: true });
    expect(table(store, 'SELECT next_send_at, send_count FROM kb_schedule')).toEqual([
      { next_send_at: '2026-01-16 12:00:00', send_count: 1 },
    ]);
    expect(rows(second.outbox).map((r) => [r.component, r.status])).toEqual([
      ['text', 'delivered'],
      ['images_1', 'delivered'],
    ]);
    expect(await metricValue(second.t.gateway.metrics.outbox, { event: 'run-resumed' })).toBe(1);
    // the re-sent step did not take the scheduled send for an API one
    expect(
      second.t.logs.find((l) => l.msg === 'send record recovered; re-sent sends wait for their phones'),
    ).toMatchObject({ resubmitted: 0 });
    await second.t.advance(120_000); // later polls leave it alone
    expect(table(store, 'SELECT * FROM kb_schedule_logs')).toHaveLength(1);
    expect(texts(c)).toHaveLength(1);
  });

  it('after the catch-up window: logged partial as interrupted, advanced, nothing sent', async () => {
    const w = await world();
    const { id, t0, config } = await interrupted(w);
    const store = await w.store();
    const second = await gateway(w, { clockStart: t0 + 3_600_000, config, store });
    scheduler(second.t, store);
    const c = await phone(second.t);
    await second.t.advance(10_000);
    await until(() => table(store, 'SELECT * FROM kb_schedule_logs').length === 1);
    await second.t.advance(5_000);
    expect(texts(c)).toEqual([]);
    const logs = table(store, 'SELECT schedule_id, status, error_message FROM kb_schedule_logs');
    expect(logs).toEqual([
      {
        schedule_id: id,
        status: 'partial',
        error_message: 'interrupted: the gateway stopped during the run; images_1: interrupted',
      },
    ]);
    expect(table(store, 'SELECT next_send_at, send_count FROM kb_schedule')).toEqual([
      { next_send_at: '2026-01-16 12:00:00', send_count: 1 },
    ]);
    expect(rows(second.outbox).map((r) => [r.component, r.status, r.reason])).toEqual([
      ['text', 'delivered', null],
      ['images_1', 'failed', 'interrupted'],
    ]);
    expect(await metricValue(second.t.gateway.metrics.outbox, { event: 'run-closed' })).toBe(1);
  });

  it('a graceful stop during the run leaves it claimed and unlogged; the next start resumes it', async () => {
    const w = await world();
    const t0 = kst('2026-01-15 11:59:55');
    const config = { scheduler: { startDelayMs: 10_000 } };
    const store = await w.store();
    await store.schedules.addSchedule(
      newSchedule({
        botName: BOT,
        deviceId: DEVICE,
        roomId: ROOM,
        messageText: 'morning',
        images1: [{ base64: PNG, name: 'a.png' }],
        scheduleType: 'daily',
      }),
    );
    const first = await gateway(w, { clockStart: t0, config, store });
    const s = scheduler(first.t, store);
    const before = await phone(first.t);
    await first.t.advance(10_000);
    await until(() => rows(first.outbox).length === 2);
    before.close();
    await until(() => first.t.gateway.connectionInfos().length === 0);
    s.stop(); // the daemon stops the scheduler first, then the gateway
    await first.t.gateway.stop(50);
    await new Promise((r) => setTimeout(r, 20));
    expect(table(store, 'SELECT * FROM kb_schedule_logs')).toEqual([]);
    expect(rows(first.outbox).map((r) => [r.component, r.status])).toEqual([
      ['text', 'delivered'],
      ['images_1', 'queued'],
    ]);

    const store2 = await w.store();
    const second = await gateway(w, { clockStart: t0 + 30_000, config, store: store2 });
    scheduler(second.t, store2);
    const c = await phone(second.t);
    await second.t.advance(10_000);
    await until(() => table(store2, 'SELECT * FROM kb_schedule_logs').length === 1);
    expect(texts(c)).toEqual([`IMAGE_BASE64:${PNG}`]);
    expect(table(store2, 'SELECT status FROM kb_schedule_logs')).toEqual([{ status: 'success' }]);
    expect(table(store2, 'SELECT next_send_at FROM kb_schedule')).toEqual([{ next_send_at: '2026-01-16 12:00:00' }]);
  });

  it('another gateway leaves a fresh claim alone and takes it over once it is older than staleClaimMs', async () => {
    const w = await world();
    const { t0, config } = await interrupted(w);
    const store = await w.store();
    const stale = { scheduler: { ...config.scheduler, staleClaimMs: 1_800_000 } };
    const second = await gateway(w, { clockStart: t0 + 60_000, config: stale, store, instanceId: 'other-host:/data' });
    scheduler(second.t, store);
    await phone(second.t);
    await second.t.advance(10_000);
    await second.t.advance(120_000);
    expect(table(store, 'SELECT * FROM kb_schedule_logs')).toEqual([]);
    await second.t.advance(1_800_000);
    await until(() => table(store, 'SELECT * FROM kb_schedule_logs').length === 1);
    expect(table(store, 'SELECT status FROM kb_schedule_logs')).toEqual([{ status: 'partial' }]);
  });
});

describe('a ctx.send delivered before a crash is not sent again by the replayed handler (DESIGN.md §2)', () => {
  const TARGET = 'dev-2';

  /** The world with a second approved phone serving the room, and a durable mailbox per gateway. */
  async function replayWorld() {
    const w = await world();
    const s = await w.store();
    await s.setDeviceStatus({ botName: BOT, deviceId: TARGET }, 'approved');
    await s.registerRoom({ roomId: ROOM, botName: BOT, deviceId: TARGET }, '공지방', 'approved');
    await s.close();
    const inbox = async () => {
      const i = openSqliteInbox(w.file);
      await i.migrate();
      handles.push({ close: () => i.db.open && i.db.close() });
      return i;
    };
    return { w, inbox };
  }

  /**
   * A handler that ctx.sends `texts` to the target phone, one after another, then (first run)
   * waits for ever, or (replayed run) replies `done`.
   */
  function relay(sends: string[], wait: boolean, outcomes: SendOutcome[]) {
    return defineBot({
      async onMessage(ctx) {
        for (const text of sends) outcomes.push(await ctx.send({ channelId: ROOM, device: TARGET, text }));
        if (wait) await new Promise<void>(() => {}); // the crash comes first
        await ctx.reply('done');
      },
    });
  }

  /** First run: the ctx.sends are delivered, the handler waits; then the crash. */
  async function crashAfterSends(sends: string[]) {
    const { w, inbox } = await replayWorld();
    const t0 = Date.now();
    const firstInbox = await inbox();
    const before: SendOutcome[] = [];
    const first = await gateway(w, { clockStart: t0, inbox: firstInbox, bots: [relay(sends, true, before)] });
    const target = await phone(first.t, TARGET);
    const sender = await phone(first.t);
    sender.analyze('news', { channelId: ROOM });
    for (let n = 1; n <= sends.length; n++) {
      await until(() => before.length === n);
      if (n < sends.length) await first.t.advance(1_000); // the room gap (outbound.minGapMs)
    }
    await until(() => texts(target).length === sends.length);
    expect(texts(target)).toEqual(sends);
    expect(rows(first.outbox).map((r) => r.status)).toEqual(sends.map(() => 'delivered'));
    first.outbox.db.close(); // the crash
    firstInbox.db.close();
    sender.close();
    target.close();
    return { w, inbox, t0, before };
  }

  it('the replayed call resolves with the stored outcome, is counted and logged, and the handler goes on', async () => {
    const { w, inbox, t0, before } = await crashAfterSends(['relay: news']);
    const after: SendOutcome[] = [];
    const second = await gateway(w, {
      clockStart: t0 + 30_000,
      inbox: await inbox(),
      bots: [relay(['relay: news'], false, after)],
    });
    const target = await phone(second.t, TARGET);
    const back = await phone(second.t); // the replayed message runs once its phone is back
    await until(() => texts(back).includes('done'));
    await second.t.advance(2_000);
    expect(texts(target)).toEqual([]);
    expect(after).toEqual(before); // same id, device, at
    expect(before[0]).toMatchObject({ status: 'delivered', deviceId: TARGET });
    expect(rows(second.outbox)).toHaveLength(1); // nothing new in the record
    expect(await metricValue(second.t.gateway.metrics.outbox, { event: 'not-resent' })).toBe(1);
    expect(second.t.logs.find((l) => l.msg === 'ctx.send delivered before the restart; not sent again')).toMatchObject({
      sendId: before[0]?.id,
      traceId: expect.any(String),
    });
  });

  it('two identical sends before the crash and three calls after: the third goes out', async () => {
    const { w, inbox, t0, before } = await crashAfterSends(['same', 'same']);
    const after: SendOutcome[] = [];
    const second = await gateway(w, {
      clockStart: t0 + 30_000,
      inbox: await inbox(),
      bots: [relay(['same', 'same', 'same'], false, after)],
    });
    const target = await phone(second.t, TARGET);
    const back = await phone(second.t);
    await until(() => texts(target).length === 1);
    await until(() => texts(back).includes('done'));
    await second.t.advance(2_000);
    expect(texts(target)).toEqual(['same']);
    expect(after.slice(0, 2)).toEqual(before);
    expect(new Set(after.map((o) => o.id)).size).toBe(3);
    expect(after[2]).toMatchObject({ status: 'delivered', deviceId: TARGET });
    expect(rows(second.outbox).map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(await metricValue(second.t.gateway.metrics.outbox, { event: 'not-resent' })).toBe(2);
  });

  it('matched by content, not by position; another text or another phone is sent', async () => {
    const { w, inbox, t0, before } = await crashAfterSends(['first', 'second']);
    const after: SendOutcome[] = [];
    const s = await w.store();
    await s.setDeviceStatus({ botName: BOT, deviceId: 'dev-3' }, 'approved');
    await s.registerRoom({ roomId: ROOM, botName: BOT, deviceId: 'dev-3' }, '공지방', 'approved');
    await s.close();
    const bot = defineBot({
      async onMessage(ctx) {
        after.push(await ctx.send({ channelId: ROOM, device: TARGET, text: 'second' }));
        after.push(await ctx.send({ channelId: ROOM, device: 'dev-3', text: 'first' }));
        after.push(await ctx.send({ channelId: ROOM, device: TARGET, text: 'first' }));
        after.push(await ctx.send({ channelId: ROOM, device: TARGET, text: 'third' }));
        await ctx.reply('done');
      },
    });
    const second = await gateway(w, { clockStart: t0 + 30_000, inbox: await inbox(), bots: [bot] });
    const target = await phone(second.t, TARGET);
    const other = await phone(second.t, 'dev-3');
    const back = await phone(second.t);
    await until(() => after.length >= 2);
    await until(() => texts(target).length === 1);
    await until(() => texts(back).includes('done'));
    await until(() => texts(other).length === 1);
    await second.t.advance(2_000); // a second copy would have its room gap by now
    expect(texts(other)).toEqual(['first']);
    expect(texts(target)).toEqual(['third']);
    expect([after[0]?.id, after[2]?.id]).toEqual([before[1]?.id, before[0]?.id]);
    expect(await metricValue(second.t.gateway.metrics.outbox, { event: 'not-resent' })).toBe(2);
  });
});
