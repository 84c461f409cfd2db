import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Actor, SimulatedClock } from 'xstate';
import { parseKst } from '../../src/actors/schedule-rules.js';
import { runSchedule } from '../../src/actors/schedule-run.js';
import type { schedulerMachine } from '../../src/actors/scheduler.js';
import type { ScheduleRunOutcome, SchedulerRecoveryPort } from '../../src/actors/scheduler-ports.js';
import type { SendOutcome, SendRequest } from '../../src/actors/send.js';
import { schedulerPorts, startScheduler } from '../../src/gateway/scheduler-wiring.js';
import { defaultConfig } from '../../src/infra/config/schema.js';
import { createMetrics } from '../../src/infra/metrics.js';
import type { NewSchedule } from '../../src/infra/store/schedule-types.js';
import { openSqliteStore, type SqliteStore } from '../../src/infra/store/sqlite.js';
import { newSchedule } from '../store/schedules.suite.js';

const kst = (t: string) => parseKst(t) as number;
const BOT = 'demo-bot';
const DEV = 'dev-1';
const ROOM = '18469710452305870';
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function flush(): Promise<void> {
  for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
}

interface World {
  clock: SimulatedClock;
  store: SqliteStore;
  sends: { at: number; request: SendRequest }[];
  runs: { outcome: ScheduleRunOutcome; scheduleId: number }[];
  answer: (request: SendRequest) => Promise<SendOutcome>;
  live: string[];
  mediaDir: string;
  /** the send record's side (DESIGN.md §2 outbound path, durable); none by default */
  recovery?: SchedulerRecoveryPort;
  actor?: Actor<typeof schedulerMachine>;
  start(store?: SqliteStore): Actor<typeof schedulerMachine>;
  add(over?: Partial<NewSchedule>): Promise<number>;
  advance(ms: number): Promise<void>;
  logs(): Promise<Record<string, unknown>[]>;
  schedules(): Promise<Record<string, unknown>[]>;
}

let dir: string;
const actors: Actor<typeof schedulerMachine>[] = [];
const stores: SqliteStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-sched-'));
});
afterEach(async () => {
  for (const a of actors.splice(0)) a.stop();
  for (const s of stores.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Start at 11:59:50 KST: the catch-up pass runs at 12:00:00, the polls at every full minute. */
async function world(start = '2026-01-15 11:59:50'): Promise<World> {
  const clock = new SimulatedClock();
  clock.set(kst(start));
  const store = openSqliteStore(join(dir, 'msgbot.db'), { clock });
  stores.push(store);
  await store.migrate();
  await store.setDeviceStatus({ botName: BOT, deviceId: DEV }, 'approved');
  await store.registerRoom({ roomId: ROOM, botName: BOT, deviceId: DEV }, '공지방', 'approved');
  const mediaDir = join(dir, 'media');
  mkdirSync(join(mediaDir, 'schedule'), { recursive: true });
  writeFileSync(join(mediaDir, 'schedule', 'a.png'), PNG);
  const w: World = {
    clock,
    store,
    sends: [],
    runs: [],
    live: [BOT],
    mediaDir,
    answer: async (r) => ({ id: r.id, status: 'delivered', deviceId: r.deviceId ?? '', at: clock.now() }),
    start(s = store) {
      const actor = startScheduler({
        store: s,
        send: {
          send: (request) => {
            w.sends.push({ at: clock.now(), request });
            return w.answer(request);
          },
        },
        clock,
        liveBots: () => w.live,
        config: { ...defaultConfig().scheduler, mediaDir },
        metrics: {
          scheduleRuns: { inc: (labels: { outcome: ScheduleRunOutcome }) => w.runs.push({ ...labels, scheduleId: 0 }) },
        } as never,
        log: pino({ level: 'silent' }),
        recovery: w.recovery,
      });
      actors.push(actor);
      return actor;
    },
    add: (over = {}) =>
      store.schedules.addSchedule(
        newSchedule({ botName: BOT, deviceId: DEV, roomId: ROOM, now: '2026-01-15 11:00:00', ...over }),
      ),
    async advance(ms) {
      const step = 250;
      for (let t = 0; t < ms; t += step) {
        clock.increment(Math.min(step, ms - t));
        await flush();
      }
    },
    logs: async () => store.schedules && (sqlite(store, 'SELECT * FROM kb_schedule_logs ORDER BY id') as never),
    schedules: async () => sqlite(store, 'SELECT * FROM kb_schedule ORDER BY id') as never,
  };
  return w;
}

function sqlite(store: SqliteStore, sql: string): unknown[] {
  const stmt = (
    store as unknown as { db: { prepare(s: string): { reader: boolean; all(): unknown[]; run(): void } } }
  ).db.prepare(sql);
  if (stmt.reader) return stmt.all();
  stmt.run();
  return [];
}

describe('scheduler actor (PROTOCOL §7.12)', () => {
  it('catch-up pass 10 s after start takes only what fell due within 300 s; the minute poll takes the rest', async () => {
    const w = await world();
    const recent = await w.add({ nextSendAt: '2026-01-15 11:56:00', messageText: 'recent' });
    const old = await w.add({ nextSendAt: '2026-01-15 11:54:00', messageText: 'old' });
    w.start();
    await w.advance(9_750);
    expect(w.sends).toEqual([]);
    await w.advance(500); // 12:00:00.25
    expect(w.sends.map((s) => s.request.text)).toEqual(['recent']);
    await w.advance(59_000); // 12:00:59.25
    expect(w.sends).toHaveLength(1);
    await w.advance(1_000); // past 12:01:00
    expect(w.sends.map((s) => s.request.text)).toEqual(['recent', 'old']);
    const logs = await w.logs();
    expect(logs.map((l) => [l.schedule_id, l.status, l.scheduled_at])).toEqual([
      [recent, 'success', '2026-01-15 11:56:00'],
      [old, 'success', '2026-01-15 11:54:00'],
    ]);
  });

  it('polls at every full minute; nothing for bots without a live connection', async () => {
    const w = await world();
    await w.add({ nextSendAt: '2026-01-15 12:00:30' });
    await w.add({ nextSendAt: '2026-01-15 12:00:30', botName: 'away-bot' });
    w.start();
    await w.advance(60_000); // to 12:00:50
    expect(w.sends).toEqual([]);
    await w.advance(10_250); // 12:01:00.25
    expect(w.sends).toHaveLength(1);
    expect(w.sends[0]?.at).toBe(kst('2026-01-15 12:01:00'));
    expect(w.sends[0]?.request).toMatchObject({
      kind: 'scheduled',
      botName: BOT,
      deviceId: DEV,
      channelId: ROOM,
      roomTitle: '공지방',
      text: '좋은 아침입니다 ☀️',
    });
    await w.store.setDeviceStatus({ botName: 'away-bot', deviceId: DEV }, 'approved');
    await w.store.registerRoom({ roomId: ROOM, botName: 'away-bot', deviceId: DEV }, '공지방', 'approved');
    w.live = [BOT, 'away-bot'];
    await w.advance(60_000);
    expect(w.sends.map((s) => s.request.botName)).toEqual([BOT, 'away-bot']);
    expect(w.sends[1]?.request.scheduleId).toBeTypeOf('number');
  });

  it('advances once → completed, daily → tomorrow, weekly → next listed weekday', async () => {
    const w = await world();
    const once = await w.add({ nextSendAt: '2026-01-15 12:00:30' });
    const daily = await w.add({ scheduleType: 'daily', scheduleTime: '12:00:30', nextSendAt: '2026-01-15 12:00:30' });
    const fri = await w.add({
      scheduleType: 'weekly',
      scheduleWeekdays: 'friday',
      scheduleTime: '09:00:00',
      nextSendAt: '2026-01-15 12:00:30',
    });
    const mon = await w.add({
      scheduleType: 'weekly',
      scheduleWeekdays: 'monday,thursday',
      scheduleTime: '09:00:00',
      nextSendAt: '2026-01-15 12:00:30',
    });
    w.start();
    await w.advance(75_000);
    expect(w.sends).toHaveLength(4);
    const rows = await w.schedules();
    expect(rows.map((r) => [r.id, r.status, r.next_send_at, r.send_count])).toEqual([
      [once, 'completed', '2026-01-15 12:00:30', 1],
      [daily, 'active', '2026-01-16 12:00:30', 1],
      [fri, 'active', '2026-01-16 09:00:00', 1],
      [mon, 'active', '2026-01-19 09:00:00', 1], // 2026-01-15 is a Thursday: from tomorrow on
    ]);
    // one bot's schedules go one after another, 0.5 s apart
    const gaps = w.sends.slice(1).map((s, i) => s.at - (w.sends[i]?.at ?? 0));
    expect(gaps.every((g) => g >= 500)).toBe(true);
    await w.advance(120_000);
    expect(w.sends).toHaveLength(4); // nothing again before tomorrow
  });

  it('sends text, image group 1, waits send_interval_seconds, then image group 2, with media waits', async () => {
    const w = await world();
    const id = await w.add({
      nextSendAt: '2026-01-15 11:59:55',
      images1: [{ base64: 'iVBORw0KGgo=', name: 'a.png' }],
      mediaWaitTime1: 1500,
    });
    sqlite(
      w.store,
      `UPDATE kb_schedule SET message_images_2 = '[{"base64":"QUJD","name":"b"}]', media_wait_time_2 = 2500, send_interval_seconds = 3 WHERE id = ${id}`,
    );
    w.start();
    await w.advance(20_000);
    expect(w.sends.map((s) => s.request.text ?? s.request.media)).toEqual([
      '좋은 아침입니다 ☀️',
      { imagesBase64: ['iVBORw0KGgo='], waitMs: 1500 },
      { imagesBase64: ['QUJD'], waitMs: 2500 },
    ]);
    const [text, img1, img2] = w.sends.map((s) => s.at);
    expect(img1).toBe(text); // back-to-back
    expect((img2 ?? 0) - (img1 ?? 0)).toBe(3_000);
    const [log] = await w.logs();
    expect(log).toMatchObject({ status: 'success', send_components: 'text,images_1,images_2', error_message: null });
    expect(JSON.parse(String(log?.sent_images_1))).toEqual({ count: 1, status: 'delivered' });
    expect(Number(log?.duration_ms)).toBe(3_000);
  });

  it("image_storage_mode 'file' reads the path under scheduler.mediaDir and sends it as base64", async () => {
    const w = await world();
    await w.add({
      nextSendAt: '2026-01-15 11:59:55',
      messageText: null,
      imageStorageMode: 'file',
      images1: [{ path: 'schedule/a.png', name: 'a.png' }],
    });
    w.start();
    // the file is read on real I/O: wait for the send instead of assuming a simulated instant
    await w.advance(10_250);
    for (let i = 0; i < 200 && w.sends.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(w.sends.map((s) => s.request.media)).toEqual([{ imagesBase64: [PNG.toString('base64')] }]);
  });

  it('records the real outcome: partial with the reason, bad-media for a path leaving mediaDir', async () => {
    const w = await world();
    await w.add({
      nextSendAt: '2026-01-15 11:59:55',
      imageStorageMode: 'file',
      images1: [{ path: '../../etc/passwd', name: 'x' }],
    });
    w.start();
    await w.advance(11_000);
    expect(w.sends.map((s) => s.request.text !== undefined)).toEqual([true]);
    const [log] = await w.logs();
    expect(log?.status).toBe('partial');
    expect(String(log?.error_message)).toMatch(/^images_1: bad-media \(path leaves scheduler\.mediaDir/);
    expect(w.runs.map((r) => r.outcome)).toEqual(['partial']);
  });

  it('counts runs in msgbot_schedule_runs_total{outcome}', async () => {
    const w = await world();
    const metrics = createMetrics();
    await w.add({ nextSendAt: '2026-01-15 11:59:55' });
    await w.add({ nextSendAt: '2026-01-15 11:59:56', deviceId: 'unknown-dev' });
    const actor = startScheduler({
      store: w.store,
      send: { send: (r) => w.answer(r) },
      clock: w.clock,
      liveBots: () => [BOT],
      config: defaultConfig().scheduler,
      metrics,
      log: pino({ level: 'silent' }),
    });
    actors.push(actor);
    await w.advance(12_000);
    const text = await metrics.registry.getSingleMetricAsString('msgbot_schedule_runs_total');
    expect(text).toContain('msgbot_schedule_runs_total{outcome="success"} 1');
    expect(text).toContain('msgbot_schedule_runs_total{outcome="failed"} 1');
  });

  it('fails without sending when device or room is not approved, the title is empty or no device is set', async () => {
    const w = await world();
    await w.store.setDeviceStatus({ botName: BOT, deviceId: 'pending-dev' }, 'pending');
    await w.store.setDeviceStatus({ botName: BOT, deviceId: 'dev-2' }, 'approved');
    await w.store.registerRoom({ roomId: ROOM, botName: BOT, deviceId: 'dev-2' }, '', 'approved');
    await w.store.setDeviceStatus({ botName: BOT, deviceId: 'dev-3' }, 'approved');
    await w.store.registerRoom({ roomId: ROOM, botName: BOT, deviceId: 'dev-3' }, '방', 'pending');
    for (const deviceId of ['pending-dev', 'dev-2', 'dev-3', ''])
      await w.add({ nextSendAt: '2026-01-15 11:59:55', deviceId });
    w.start();
    await w.advance(15_000);
    expect(w.sends).toEqual([]);
    const logs = await w.logs();
    expect(logs.map((l) => [l.status, l.error_message])).toEqual([
      ['failed', 'text: not-approved (device pending)'],
      ['failed', 'text: no-room-title'],
      ['failed', 'text: not-approved (room pending)'],
      ['failed', 'text: no-connection (target_device_id is empty)'],
    ]);
    expect(w.runs.map((r) => r.outcome)).toEqual(['failed', 'failed', 'failed', 'failed']);
  });

  it('an untitled room still gets the images (media go by channel id); only the text fails no-room-title', async () => {
    const w = await world();
    await w.store.setDeviceStatus({ botName: BOT, deviceId: 'dev-2' }, 'approved');
    await w.store.registerRoom({ roomId: ROOM, botName: BOT, deviceId: 'dev-2' }, '', 'approved');
    await w.add({ nextSendAt: '2026-01-15 11:59:55', deviceId: 'dev-2', images1: [{ base64: 'QUJD', name: 'a' }] });
    w.start();
    await w.advance(15_000);
    expect(w.sends.map((s) => [s.request.media, s.request.roomTitle])).toEqual([
      [{ imagesBase64: ['QUJD'] }, undefined],
    ]);
    const [log] = await w.logs();
    expect(log).toMatchObject({ status: 'partial', error_message: 'text: no-room-title' });
  });

  it('a send that fails on the outbound path is logged failed with its reason, not as sent', async () => {
    const w = await world();
    w.answer = async (r) => ({
      id: r.id,
      status: 'failed',
      reason: 'expired',
      detail: 'phone away',
      at: w.clock.now(),
    });
    await w.add({ nextSendAt: '2026-01-15 11:59:55' });
    w.start();
    await w.advance(11_000);
    const [log] = await w.logs();
    expect(log).toMatchObject({ status: 'failed', error_message: 'text: expired (phone away)' });
    expect(JSON.parse(String(log?.api_response))).toEqual({
      components: [{ component: 'text', status: 'failed', reason: 'expired', detail: 'phone away' }],
    });
  });

  it('two schedulers on one database: each row goes out once; a stale candidate loses the claim', async () => {
    const w = await world();
    const other = openSqliteStore(join(dir, 'msgbot.db'), { clock: w.clock });
    stores.push(other);
    for (let i = 0; i < 5; i++) await w.add({ nextSendAt: '2026-01-15 12:00:30', messageText: `m${i}` });
    w.start();
    w.start(other);
    await w.advance(80_000);
    expect(w.sends.map((s) => s.request.text).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect((await w.logs()).length).toBe(5);

    // deterministic: server B read the row before server A claimed it
    const id = await w.add({ scheduleType: 'daily', nextSendAt: '2026-01-15 12:01:30' });
    const [stale] = await other.schedules.dueSchedules({ now: '2026-01-15 12:01:40', bots: [BOT], limit: 10 });
    expect(stale?.id).toBe(id);
    await w.advance(60_000); // A runs it at 12:02
    expect(w.sends).toHaveLength(6);
    const skipped: string[] = [];
    const portsB = schedulerPorts({
      store: other,
      send: { send: async () => Promise.reject(new Error('must not send')) },
      clock: w.clock,
      liveBots: () => [BOT],
      config: defaultConfig().scheduler,
      metrics: { scheduleRuns: { inc: (l: { outcome: string }) => skipped.push(l.outcome) } } as never,
      log: pino({ level: 'silent' }),
    });
    expect(await runSchedule(portsB, stale as NonNullable<typeof stale>)).toBe('skipped');
    expect(skipped).toEqual(['skipped']);
    expect((await w.logs()).length).toBe(6);
  });

  it('a phone that holds its send does not hold up other bots; its own next row waits until it is done', async () => {
    const w = await world();
    await w.store.setDeviceStatus({ botName: 'slow-bot', deviceId: DEV }, 'approved');
    await w.store.registerRoom({ roomId: ROOM, botName: 'slow-bot', deviceId: DEV }, '느린방', 'approved');
    w.live = [BOT, 'slow-bot'];
    let release: (() => void) | undefined;
    const fast = w.answer;
    w.answer = (r) =>
      r.botName === 'slow-bot' && release === undefined
        ? new Promise((resolve) => {
            release = () => resolve({ id: r.id, status: 'delivered', deviceId: DEV, at: w.clock.now() });
          })
        : fast(r);
    await w.add({ botName: 'slow-bot', nextSendAt: '2026-01-15 12:00:30', messageText: 'A' });
    await w.add({ botName: BOT, nextSendAt: '2026-01-15 12:01:30', messageText: 'X' });
    await w.add({ botName: 'slow-bot', nextSendAt: '2026-01-15 12:01:30', messageText: 'B' });
    w.start();
    await w.advance(70_500); // 12:01:00.5
    expect(w.sends.map((s) => s.request.text)).toEqual(['A']);
    await w.advance(60_000); // 12:02:00.5: X goes; B waits for A
    expect(w.sends.map((s) => s.request.text)).toEqual(['A', 'X']);
    expect((await w.logs()).map((l) => l.sent_message_text)).toEqual(['X']);
    release?.();
    await w.advance(250);
    expect((await w.logs()).map((l) => l.sent_message_text)).toEqual(['X', 'A']);
    await w.advance(60_000); // 12:03:00.75
    expect(w.sends.map((s) => s.request.text)).toEqual(['A', 'X', 'B']);
  });

  it('stopping the actor during the wait between image groups sends nothing more', async () => {
    const w = await world();
    const id = await w.add({ nextSendAt: '2026-01-15 11:59:55', images1: [{ base64: 'QUJD', name: 'a' }] });
    sqlite(
      w.store,
      `UPDATE kb_schedule SET message_images_2 = '[{"base64":"REVG"}]', send_interval_seconds = 30 WHERE id = ${id}`,
    );
    const actor = w.start();
    await w.advance(11_000);
    expect(w.sends).toHaveLength(2);
    actor.stop();
    await w.advance(60_000);
    expect(w.sends).toHaveLength(2);
  });

  it('a claimed row already logged (a crash between the log row and the advance) is advanced only', async () => {
    const w = await world();
    const id = await w.add({ nextSendAt: '2026-01-15 11:58:00', scheduleType: 'daily' });
    await w.store.schedules.claimSchedule(id, '2026-01-15 11:58:00', '2026-01-15 11:58:01');
    sqlite(
      w.store,
      `INSERT INTO kb_schedule_logs (schedule_id, target_room_id, status, scheduled_at, started_at, created_at)
       VALUES (${id}, '${ROOM}', 'success', '2026-01-15 11:58:00', '2026-01-15 11:58:01', '2026-01-15 11:58:01')`,
    );
    w.recovery = {
      sendsOfRun: async () => [{ id: 'x', component: 'text', status: 'delivered', ours: true }],
      abandon: async () => {},
    };
    w.start();
    await w.advance(10_500);
    expect(w.sends).toEqual([]);
    expect(await w.logs()).toHaveLength(1);
    expect((await w.schedules()).map((r) => [r.next_send_at, r.send_count])).toEqual([['2026-01-16 12:00:00', 1]]);
  });

  it('without a send record a claim is left alone until staleClaimMs, then closed as interrupted and never sent again', async () => {
    const w = await world();
    const id = await w.add({ nextSendAt: '2026-01-15 11:58:00', scheduleType: 'daily' });
    await w.store.schedules.claimSchedule(id, '2026-01-15 11:58:00', '2026-01-15 11:58:01');
    w.start();
    await w.advance(10_500);
    expect(await w.logs()).toEqual([]);
    await w.advance(defaultConfig().scheduler.staleClaimMs);
    await w.advance(60_000);
    expect(w.sends).toEqual([]);
    const logs = await w.logs();
    expect(logs.map((l) => [l.schedule_id, l.status, l.error_message])).toEqual([
      [id, 'failed', 'interrupted: the gateway stopped during the run; text: interrupted'],
    ]);
    expect((await w.schedules()).map((r) => r.next_send_at)).toEqual(['2026-01-16 12:00:00']);
  });
});
