import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/actors/job.js';
import { defineBot } from '../../src/handlers/api.js';
import { openSqliteInbox, type SqliteInbox } from '../../src/infra/inbox/sqlite.js';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import { metricValue } from '../robustness/support/wire.js';
import type { BridgeClient } from '../support/bridge-client.js';
import { chat } from '../support/chat-message.js';
import { connectPhone, startTestGateway, type TestGatewayOptions, until } from '../support/test-gateway.js';

/** DESIGN.md §2 durable mailbox, through a real gateway on a simulated clock. */

type TG = Awaited<ReturnType<typeof startTestGateway>>;
let tg: TG | undefined;
const clients: BridgeClient[] = [];
const dirs: string[] = [];
const inboxes: SqliteInbox[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await tg?.stop();
  tg = undefined;
  for (const i of inboxes.splice(0)) if (i.db.open) i.db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const BOT = 'demo-bot';
const DEVICE = 'a1b2c3';
const ROOM_A = '18234567890123456';
const ROOM_B = '18234567890999999';

async function inboxFile(): Promise<{ file: string; open(): Promise<SqliteInbox> }> {
  const dir = mkdtempSync(join(tmpdir(), 'msgbot-durable-'));
  dirs.push(dir);
  const file = join(dir, 'msgbot.db');
  return {
    file,
    async open() {
      const inbox = openSqliteInbox(file);
      await inbox.migrate();
      inboxes.push(inbox);
      return inbox;
    },
  };
}

/** The device and rooms are approved before the gateway starts, so replayed jobs find them. */
async function start(opts: TestGatewayOptions) {
  const store = openSqliteStore(':memory:');
  await store.migrate();
  await store.setDeviceStatus({ botName: BOT, deviceId: DEVICE }, 'approved');
  for (const room of [ROOM_A, ROOM_B]) await store.setRoomStatus(BOT, room, 'approved', DEVICE);
  const t = await startTestGateway({ ...opts, store });
  tg = t;
  return t;
}

function connect(t: TG) {
  return connectPhone(t, clients, DEVICE);
}

const replies = (c: BridgeClient) => c.packets.filter((p) => p.event === 'messageResponse').map((p) => p.data.text);

function rows(inbox: SqliteInbox) {
  return inbox.db.prepare('SELECT trace_id, status, log_id FROM msgbot_inbox ORDER BY seq').all() as {
    trace_id: string;
    status: string;
    log_id: string | null;
  }[];
}

/** A bot that records each message it runs and the inbox row's status at that moment. */
function recordingBot(seen: Array<{ traceId: string; text: string; row?: string }>, inbox?: SqliteInbox) {
  return defineBot({
    async onMessage(ctx) {
      const row = inbox?.db.prepare('SELECT status FROM msgbot_inbox WHERE trace_id = ?').get(ctx.message.traceId) as
        | { status: string }
        | undefined;
      seen.push({ traceId: ctx.message.traceId, text: ctx.message.text, row: row?.status });
      await ctx.reply(`done: ${ctx.message.text}`);
    },
  });
}

/** A bot whose handler waits until `open()`, then replies. */
function heldGate() {
  let go: () => void = () => {};
  const gate = new Promise<void>((r) => {
    go = r;
  });
  let replying = false;
  const bot = defineBot({
    async onMessage(ctx) {
      await gate;
      replying = true;
      await ctx.reply(`done: ${ctx.message.text}`);
    },
  });
  return { bot, open: () => go(), replying: () => replying };
}

describe('durable mailbox (DESIGN.md §2)', () => {
  it('stores an accepted message before the dispatcher runs it, and finishes it after', async () => {
    const f = await inboxFile();
    const inbox = await f.open();
    const probe = await f.open(); // a second connection, like another process reading the file
    const seen: Array<{ traceId: string; text: string; row?: string }> = [];
    const t = await start({ inbox, bots: [recordingBot(seen, probe)] });
    const c = await connect(t);
    c.analyze('hello', { channelId: ROOM_A });
    await until(() => replies(c).includes('done: hello'));
    expect(seen).toEqual([{ traceId: expect.any(String), text: 'hello', row: 'pending' }]);
    await until(() => rows(probe)[0]?.status === 'processed');
    expect(rows(probe)).toEqual([{ trace_id: seen[0]!.traceId, status: 'processed', log_id: expect.any(String) }]);
    // a duplicate is never stored (never handed to the dispatcher)
    c.analyze('again', { channelId: ROOM_A, logId: String(rows(probe)[0]!.log_id) });
    c.analyze('# echo marker', { channelId: ROOM_A });
    await until(() => replies(c).includes('done: # echo marker') || replies(c).includes('에코: marker'));
    expect(rows(probe)).toHaveLength(2);
  });

  it("a reply leaves the process only after its message's finish is committed (a crash cannot answer it twice)", async () => {
    const f = await inboxFile();
    const inbox = await f.open();
    const probe = await f.open();
    const t = await start({ inbox, bots: [recordingBot([])] });
    const c = await connect(t);
    const statusOf = (text: string) =>
      (
        probe.db.prepare("SELECT status FROM msgbot_inbox WHERE json_extract(message, '$.text') = ?").get(text) as
          | { status: string }
          | undefined
      )?.status;
    // read the record in the very step the reply reaches the phone
    const atReply = new Map<string, string | undefined>();
    const replied = c.next((p) => {
      if (p.event !== 'messageResponse') return false;
      const text = String(p.data.text).slice('done: '.length);
      atReply.set(text, statusOf(text));
      return atReply.size === 3;
    });
    c.analyze('one', { channelId: ROOM_A });
    c.analyze('two', { channelId: ROOM_B });
    c.analyze('three', { channelId: ROOM_A });
    await replied;
    expect(Object.fromEntries(atReply)).toEqual({ one: 'processed', two: 'processed', three: 'processed' });
  });

  it('a reply waiting for its phone keeps its message unfinished until the reply has its outcome', async () => {
    const f = await inboxFile();
    const inbox = await f.open();
    const probe = await f.open();
    const gate = heldGate();
    const t = await start({ inbox, bots: [gate.bot] });
    const first = await connect(t);
    first.analyze('held', { channelId: ROOM_A });
    await until(() => rows(probe)[0]?.status === 'pending');
    first.close();
    await until(() => t.gateway.connectionInfos().length === 0);
    gate.open(); // the handler replies while its phone is away: the reply waits on the outbound path
    await until(() => gate.replying());
    await t.advance(1_000);
    expect(rows(probe)[0]?.status).toBe('pending'); // a crash now replays it
    const second = await connect(t);
    await until(() => replies(second).includes('done: held'));
    await until(() => rows(probe)[0]?.status === 'processed');
  });

  it('a handler that answers and keeps working: its answer is counted before it leaves, and a replay does not send it again', async () => {
    const f = await inboxFile();
    const inbox = await f.open();
    const probe = await f.open();
    const writtenOf = () =>
      (probe.db.prepare('SELECT replies_written AS n FROM msgbot_inbox').get() as { n: number } | undefined)?.n;
    /** answers at once, then again once `go` is called */
    const twoPart = (go: Promise<void>) =>
      defineBot({
        async onMessage(ctx) {
          await ctx.reply(`first: ${ctx.message.text}`);
          await go;
          await ctx.reply(`second: ${ctx.message.text}`);
        },
      });
    const first = await start({ inbox, bots: [twoPart(new Promise<void>(() => {}))] });
    const before = await connect(first);
    let atFirst: number | undefined;
    const arrived = before.next((p) => {
      if (p.event !== 'messageResponse') return false;
      atFirst = writtenOf(); // read in the very step the reply reaches the phone
      return true;
    });
    before.analyze('x', { channelId: ROOM_A });
    await arrived;
    expect(atFirst).toBe(1);
    // the process goes away with the handler still running: the message stays unfinished
    await first.gateway.stop(50);
    await first.stop();
    tg = undefined;
    expect(rows(probe).map((r) => r.status)).toEqual(['pending']);

    const t = await start({ inbox: await f.open(), bots: [twoPart(Promise.resolve())] });
    const after = await connect(t);
    await until(() => replies(after).includes('second: x'));
    await until(() => rows(probe)[0]?.status === 'processed');
    expect([...replies(before), ...replies(after)]).toEqual(['first: x', 'second: x']);
    expect(await metricValue(t.gateway.metrics.durability, { event: 'reply-not-resent' })).toBe(1);
  });

  it('a graceful stop while a reply waits for its phone leaves its message unfinished (the next start replays it)', async () => {
    const f = await inboxFile();
    const inbox = await f.open();
    const probe = await f.open();
    const gate = heldGate();
    const t = await start({ inbox, bots: [gate.bot] });
    const c = await connect(t);
    c.analyze('held', { channelId: ROOM_A });
    await until(() => rows(probe)[0]?.status === 'pending');
    c.close();
    await until(() => t.gateway.connectionInfos().length === 0);
    gate.open(); // the reply now waits on the outbound path for the phone
    await until(() => gate.replying());
    await t.advance(1_000);
    await t.gateway.stop(50);
    expect(rows(probe).map((r) => r.status)).toEqual(['pending']);
  });

  it('replays unfinished messages at start in their order with their trace ids; older ones expire', async () => {
    const f = await inboxFile();
    const before = await f.open();
    const now = Date.now();
    const left: ChatMessage[] = [
      chat(1, { receivedAt: now - 400_000, text: 'too old' }),
      chat(2, { receivedAt: now - 60_000, text: 'a1' }),
      chat(3, { receivedAt: now - 59_000, text: 'b1', channelId: ROOM_B }),
      chat(4, { receivedAt: now - 58_000, text: 'a2' }),
      chat(5, { receivedAt: now - 57_000, text: 'done before' }),
    ];
    for (const m of left) before.append(m);
    before.finish(left[4]!.traceId, 'processed', now - 56_000);
    before.flush();
    before.db.close(); // the process that wrote them is gone

    const inbox = await f.open();
    const seen: Array<{ traceId: string; text: string }> = [];
    const t = await start({ inbox, bots: [recordingBot(seen)] });
    const log = t.logs.find((l) => l.msg === 'durable mailbox recovered; replayed messages wait for their phones');
    expect(log).toMatchObject({ replayed: 3, expired: 1 });
    // they wait for their phone, so that their replies find it
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([]);
    const c = await connect(t);
    c.analyze('after', { channelId: ROOM_A });
    await until(() => replies(c).length === 4);
    expect(replies(c).filter((r) => String(r).startsWith('done: a'))).toEqual(['done: a1', 'done: a2', 'done: after']);
    // per-room order kept; room B may interleave with room A
    const texts = seen.map((s) => s.text);
    expect(texts.filter((x) => x.startsWith('a'))).toEqual(['a1', 'a2', 'after']);
    expect(texts.sort()).toEqual(['a1', 'a2', 'after', 'b1']);
    expect(seen.find((s) => s.text === 'a1')?.traceId).toBe(left[1]!.traceId);
    expect(t.logs.find((l) => l.msg === 'message expired before it could be replayed')).toMatchObject({
      traceId: left[0]!.traceId,
    });
    expect(await metricValue(t.gateway.metrics.durability, { event: 'replayed' })).toBe(3);
    expect(await metricValue(t.gateway.metrics.durability, { event: 'expired' })).toBe(1);
    await until(() => rows(inbox).every((r) => r.status !== 'pending'));
    expect(rows(inbox).map((r) => r.status)).toEqual([
      'expired',
      'processed',
      'processed',
      'processed',
      'processed',
      'processed',
    ]);
  });

  it('a replayed message whose phone does not come back within the replay window expires', async () => {
    const f = await inboxFile();
    const before = await f.open();
    const now = Date.now();
    const m = chat(1, { receivedAt: now - 1_000 });
    before.append(m);
    before.flush();
    before.db.close();

    const inbox = await f.open();
    const seen: Array<{ traceId: string; text: string }> = [];
    const t = await start({ inbox, bots: [recordingBot(seen)], config: { processing: { replayWindowMs: 60_000 } } });
    await t.advance(58_000);
    expect(rows(inbox)[0]?.status).toBe('pending');
    await t.advance(2_000);
    await until(() => rows(inbox)[0]?.status === 'expired');
    expect(t.logs.find((l) => l.msg === 'message expired before it could be replayed')).toMatchObject({
      traceId: m.traceId,
    });
    expect(await metricValue(t.gateway.metrics.durability, { event: 'expired' })).toBe(1);
    const c = await connect(t);
    c.analyze('later', { channelId: ROOM_A });
    await until(() => replies(c).includes('done: later'));
    expect(seen.map((s) => s.text)).toEqual(['later']);
  });

  it('a phone that re-sends after a restart is answered once (de-duplication survives restarts)', async () => {
    const f = await inboxFile();
    const before = await f.open();
    const now = Date.now();
    const answered = chat(1, { receivedAt: now - 10_000, deviceId: DEVICE });
    before.append(answered);
    before.finish(answered.traceId, 'processed', now - 9_000);
    before.flush();
    before.db.close();

    const inbox = await f.open();
    const seen: Array<{ traceId: string; text: string }> = [];
    const t = await start({ inbox, bots: [recordingBot(seen)] });
    const c = await connect(t);
    c.analyze(answered.text, { channelId: answered.channelId!, logId: answered.logId! });
    c.analyze('fresh', { channelId: ROOM_A });
    await until(() => replies(c).includes('done: fresh'));
    expect(seen.map((s) => s.text)).toEqual(['fresh']);
    expect(await metricValue(t.gateway.metrics.durability, { event: 'duplicate-after-restart' })).toBe(1);
    expect(await metricValue(t.gateway.metrics.duplicates)).toBe(1);
  });

  it('replayed messages of a device that is no longer approved are never run (marked failed)', async () => {
    const f = await inboxFile();
    const before = await f.open();
    const m = chat(1, { receivedAt: Date.now() - 1_000 });
    before.append(m);
    before.flush();
    before.db.close();

    const inbox = await f.open();
    const seen: Array<{ traceId: string; text: string }> = [];
    const t = await start({ inbox, bots: [recordingBot(seen)] });
    await t.store.setDeviceStatus({ botName: BOT, deviceId: DEVICE }, 'blocked');
    const c = await connect(t);
    c.analyze('limited', { channelId: ROOM_A });
    await until(() => rows(inbox)[0]?.status === 'failed');
    expect(seen).toEqual([]);
    expect(t.logs.some((l) => l.msg === 'replayed messages dropped: device not approved')).toBe(true);
  });

  it('a failing durable write is counted and logged; the messages still run', async () => {
    const f = await inboxFile();
    const inbox = await f.open();
    const seen: Array<{ traceId: string; text: string }> = [];
    const t = await start({ inbox, bots: [recordingBot(seen)] });
    const c = await connect(t);
    inbox.db.close(); // the database file's connection is gone
    c.analyze('still answered', { channelId: ROOM_A });
    await until(() => replies(c).includes('done: still answered'));
    expect(await metricValue(t.gateway.metrics.durability, { event: 'write-error' })).toBeGreaterThanOrEqual(1);
    expect(t.logs.some((l) => l.msg === 'durable mailbox write failed; messages are processed without it')).toBe(true);
  });

  it('prunes finished rows after the de-duplication window', async () => {
    const f = await inboxFile();
    const inbox = await f.open();
    const seen: Array<{ traceId: string; text: string }> = [];
    const t = await start({ inbox, bots: [recordingBot(seen)], config: { processing: { dedupWindowMs: 60_000 } } });
    const c = await connect(t);
    c.analyze('one', { channelId: ROOM_A });
    await until(() => replies(c).includes('done: one'));
    await until(() => rows(inbox)[0]?.status === 'processed');
    await t.advance(60_000);
    expect(rows(inbox)).toHaveLength(1); // finished less than a window before the prune
    await t.advance(60_000);
    await until(() => rows(inbox).length === 0);
  });
});
