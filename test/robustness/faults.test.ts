import { afterEach, describe, expect, it } from 'vitest';
import { WorkerCrash } from '../../src/actors/worker.js';
import type { BotModule } from '../../src/handlers/api.js';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import type { Store } from '../../src/infra/store/types.js';
import type { BridgeClient, Packet } from '../support/bridge-client.js';
import { until } from '../support/test-gateway.js';
import { type Arena, EVIL_CHANNEL, EVIL_DEVICE, GOOD_CHANNEL, startArena } from './support/arena.js';
import { metricValue, nextLogId } from './support/wire.js';

/**
 * Issue 6 item 5: fault injection. Operator handlers that throw, never settle, block the event
 * loop, or answer 10 MB; a worker crash mid-message; a store that throws on every call. For each:
 * the gateway stays up, other rooms are served, the outcome is logged with the message's trace id,
 * and a metric counts it.
 */

const MIB = 1_048_576;
const crashedOnce = new Set<string>();

const faulty: BotModule = {
  commands: [
    {
      prefix: '# boom',
      run: () => {
        throw new Error('boom');
      },
    },
    { prefix: '# hang', run: () => new Promise<void>(() => {}) },
    {
      prefix: '# block',
      run: (ctx) => {
        const until = Date.now() + 2_000;
        while (Date.now() < until) {
          // a handler doing synchronous work it should not: the whole process waits
        }
        return ctx.reply('unblocked');
      },
    },
    { prefix: '# big-text', run: (ctx) => ctx.reply('가'.repeat(10 * MIB)) },
    { prefix: '# big-media', run: (ctx) => ctx.reply({ imagesBase64: ['QUJD'.repeat((10 * MIB) / 4)] }) },
  ],
  // Catch-all handlers are not wrapped like commands: what they throw reaches the worker.
  async onMessage(ctx) {
    const text = ctx.message.text;
    if (text === 'catch-all throws') throw new Error('catch-all failed');
    if (text === 'crash once' || text === 'crash always') {
      await Promise.resolve(); // mid-message: the handler is running when the worker dies
      if (text === 'crash always' || !crashedOnce.has(ctx.message.traceId)) {
        crashedOnce.add(ctx.message.traceId);
        throw new WorkerCrash(`worker died on "${text}"`);
      }
      await ctx.reply('survived');
    }
  },
};

let arena: Arena | undefined;
/** run before stopping: a store left failing would keep the final telemetry flush retrying */
let heal: (() => void) | undefined;
afterEach(async () => {
  heal?.();
  heal = undefined;
  await arena?.stop();
  arena = undefined;
});

const reply = (text: string) => (p: Packet) => p.event === 'messageResponse' && p.data.text === text;
const anyReply = (p: Packet) => p.event === 'messageResponse';

/** The evil phone (here: just a second approved phone) sends `text` in its own room. */
function send(a: Arena, text: string): void {
  a.evil.analyze(text, { room: 'Evil Room', channelId: EVIL_CHANNEL });
}

/** The trace id the gateway gave the message with `text` (from its 'message accepted' log). */
async function traceOf(a: Arena, room: string, nth = 0): Promise<string> {
  await until(() => a.tg.logs.filter((l) => l.msg === 'message accepted' && l.room === room).length > nth);
  const log = a.tg.logs.filter((l) => l.msg === 'message accepted' && l.room === room)[nth];
  return String(log?.traceId);
}

function logsOf(a: Arena, traceId: string): Array<Record<string, unknown>> {
  return a.tg.logs.filter((l) => l.traceId === traceId);
}

async function open(opts: Parameters<typeof startArena>[0] = {}): Promise<Arena> {
  arena = await startArena({ bots: [faulty], ...opts });
  return arena;
}

describe('operator handlers that misbehave', () => {
  it('a command that throws is answered with the §7.9 error text; a catch-all that throws fails the message', async () => {
    const a = await open();
    const m = a.tg.gateway.metrics;
    send(a, '# boom');
    expect((await a.evil.next(anyReply)).data.text).toBe('명령어 처리 중 오류가 발생했습니다: boom');
    const boom = await traceOf(a, 'Evil Room', 0);
    expect(logsOf(a, boom).map((l) => l.msg)).toEqual(
      expect.arrayContaining(['message accepted', 'command failed', 'message processed']),
    );
    await a.probe();

    send(a, 'catch-all throws');
    const failing = await traceOf(a, 'Evil Room', 1);
    await until(() => logsOf(a, failing).some((l) => l.msg === 'message failed'));
    expect(logsOf(a, failing).find((l) => l.msg === 'message failed')).toMatchObject({
      reason: 'error',
      err: 'catch-all failed',
    });
    expect(await metricValue(m.messages, { outcome: 'failed-error' })).toBe(1);
    await a.probe();
    expect(a.evil.packets.filter(anyReply)).toHaveLength(1);
  });

  it('a handler that never settles fails with timeout at the deadline; meanwhile other rooms are served', async () => {
    const a = await open({ config: { processing: { deadlineMs: 30_000 } } });
    const m = a.tg.gateway.metrics;
    send(a, '# hang');
    const hang = await traceOf(a, 'Evil Room');
    for (let i = 0; i < 3; i++) await a.probe();
    expect(a.tg.gateway.dispatcher.getSnapshot().context.running).toBe(1);
    // the deadline runs on the simulated clock; steps of 10 s let the phones answer pings
    for (let i = 0; i < 3; i++) await a.tg.advance(10_000);
    await until(() => logsOf(a, hang).some((l) => l.msg === 'message failed'));
    expect(logsOf(a, hang).find((l) => l.msg === 'message failed')).toMatchObject({ reason: 'timeout' });
    expect(await metricValue(m.messages, { outcome: 'failed-timeout' })).toBe(1);
    expect(a.tg.gateway.dispatcher.getSnapshot().context.running).toBe(0);
    // the room is free again
    send(a, '# echo after');
    expect((await a.evil.next(anyReply)).data.text).toBe('에코: after');
    await a.probe();
  });

  it('a handler that blocks the event loop for 2 s: everything waits, nothing is lost, the stall is measured', async () => {
    // the system clock here: the stall must show in real processing time
    const a = await open({ simulated: false });
    const m = a.tg.gateway.metrics;
    const closesBefore = await metricValue(m.closes);
    send(a, '# block');
    a.good.analyze('# echo while-blocked', { room: 'Good Room', channelId: GOOD_CHANNEL });
    expect((await a.evil.next(reply('unblocked'), 10_000)).data.text).toBe('unblocked');
    expect((await a.good.next(reply('에코: while-blocked'), 10_000)).data.text).toBe('에코: while-blocked');
    const block = await traceOf(a, 'Evil Room');
    await until(() => logsOf(a, block).some((l) => l.msg === 'message processed'));
    expect(Number(logsOf(a, block).find((l) => l.msg === 'message processed')?.ranMs)).toBeGreaterThanOrEqual(1_900);
    // msgbot_processing_seconds saw one message between 1 s and 5 s
    const buckets = (await m.processingSeconds.get()).values.filter((v) => v.metricName?.endsWith('_bucket'));
    const le = (x: number) => buckets.find((v) => v.labels.le === x)?.value ?? 0;
    expect(le(5) - le(1)).toBe(1);
    expect(await metricValue(m.closes)).toBe(closesBefore);
    await a.probe();
  });

  it('a 10 MB text reply is cut to 65,000 characters (counted); a 10 MB media reply goes out whole', async () => {
    const a = await open();
    const m = a.tg.gateway.metrics;
    send(a, '# big-text');
    const text = String((await a.evil.next(anyReply, 10_000)).data.text);
    expect(text).toBe('가'.repeat(65_000));
    expect(await metricValue(m.repliesTruncated)).toBe(1);
    const bigText = await traceOf(a, 'Evil Room', 0);
    await until(() => logsOf(a, bigText).some((l) => l.msg === 'message processed'));
    await a.probe();

    send(a, '# big-media');
    const media = String((await a.evil.next(anyReply, 10_000)).data.text);
    expect(media.length).toBe('IMAGE_BASE64:'.length + 10 * MIB);
    expect(media.startsWith('IMAGE_BASE64:QUJD')).toBe(true);
    const bigMedia = await traceOf(a, 'Evil Room', 1);
    await until(() => logsOf(a, bigMedia).some((l) => l.msg === 'message processed'));
    expect(await metricValue(m.messages, { outcome: 'processed' })).toBe(3); // two big ones and a probe
    expect(a.evil.closed).toBe(false);
    await a.probe();
  });
});

describe('a worker crash mid-message (DESIGN.md §2 supervision)', () => {
  it('the worker is restarted and the message re-run once: answered; crashing twice fails it with crash', async () => {
    const a = await open();
    const m = a.tg.gateway.metrics;
    send(a, 'crash once');
    expect((await a.evil.next(anyReply)).data.text).toBe('survived');
    const once = await traceOf(a, 'Evil Room', 0);
    await until(() => logsOf(a, once).some((l) => l.msg === 'message processed'));
    expect(await metricValue(m.workerRestarts)).toBe(1);
    expect(a.tg.logs.filter((l) => l.msg === 'worker crashed; restarted')).toHaveLength(1);
    await a.probe();

    send(a, 'crash always');
    const always = await traceOf(a, 'Evil Room', 1);
    await until(() => logsOf(a, always).some((l) => l.msg === 'message failed'));
    expect(logsOf(a, always).find((l) => l.msg === 'message failed')).toMatchObject({
      reason: 'crash',
      err: 'worker died on "crash always"',
    });
    expect(await metricValue(m.workerRestarts)).toBe(3);
    expect(await metricValue(m.messages, { outcome: 'failed-crash' })).toBe(1);
    // every worker is still there and serving
    const d = a.tg.gateway.dispatcher.getSnapshot();
    expect(Object.keys(d.children)).toHaveLength(a.tg.config.processing.workers);
    expect(d.context.healthy).toBe(true);
    for (let i = 0; i < 3; i++) await a.probe();
  });
});

/** Wraps a store so that, once failing, every call throws synchronously (the nastiest form). */
function breakable(inner: Store): { store: Store; fail(on: boolean): void; thrown: Map<string, number> } {
  let failing = false;
  const thrown = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (failing && prop !== 'close') {
          thrown.set(String(prop), (thrown.get(String(prop)) ?? 0) + 1);
          throw new Error(`database gone (${String(prop)})`);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, fail: (on) => (failing = on), thrown };
}

describe('a store that throws on every call', () => {
  it('chat goes on from the last known standing; failures are logged (with trace id) and counted; rows are kept', async () => {
    const b = breakable(openSqliteStore(':memory:'));
    heal = () => b.fail(false);
    const a = await open({ store: b.store, extraDevices: ['new-phone'] });
    const m = a.tg.gateway.metrics;
    await a.probe(); // room statuses cached, devices known
    send(a, '# echo before');
    expect((await a.evil.next(anyReply)).data.text).toBe('에코: before');

    b.fail(true);
    await a.probe(); // cached room: no store call needed
    // past the room cache (2 × standing refresh) and a standing refresh: every store call now throws
    await a.tg.advance(11_000);
    await a.probe();
    send(a, '# echo during');
    expect((await a.evil.next(anyReply)).data.text).toBe('에코: during');
    const during = await traceOf(a, 'Evil Room', 1);
    expect(logsOf(a, during).find((l) => l.msg === 'room lookup failed; using the last known status')).toBeDefined();
    expect(await metricValue(m.storeErrors, { op: 'room' })).toBeGreaterThanOrEqual(2);
    expect(await metricValue(m.storeErrors, { op: 'refreshStanding' })).toBeGreaterThanOrEqual(1);

    // a known phone reconnecting keeps its standing; a phone never seen stays limited (fail closed)
    a.evil.close();
    const again = await a.connect(EVIL_DEVICE);
    const hc = await again.next((p) => p.event === 'handshakeComplete');
    expect(hc.data).toMatchObject({
      success: true,
      approved: true,
      message: '검증 실패 - 마지막 상태 사용 (approved)',
    });
    // a fresh logId: the new client's counter starts where the old one's did (dedup would drop it)
    again.analyze('# echo reconnected', { room: 'Evil Room', channelId: EVIL_CHANNEL, logId: nextLogId() });
    expect((await again.next(anyReply)).data.text).toBe('에코: reconnected');
    const stranger: BridgeClient = await a.connect('stranger-phone');
    expect((await stranger.next((p) => p.event === 'handshakeComplete')).data).toMatchObject({
      success: true,
      approved: false,
    });
    expect(await metricValue(m.storeErrors, { op: 'registerDevice' })).toBe(2);

    // telemetry (chat logs, pings) is buffered, not lost
    await a.tg.advance(2_000);
    await until(() => a.tg.logs.some((l) => String(l.msg).startsWith('database unreachable')));
    expect(await metricValue(m.telemetryBuffered)).toBeGreaterThan(0);
    expect(await metricValue(m.telemetryDropped)).toBe(0);
    expect(a.tg.logs.filter((l) => (l.level as number) >= 60)).toEqual([]); // nothing fatal
    await a.probe();

    // the database comes back: the backlog is written
    const written = await metricValue(m.telemetryWritten);
    b.fail(false);
    await a.tg.advance(30_000); // past the retry backoff
    await until(() => a.tg.logs.some((l) => String(l.msg).startsWith('database reachable again')));
    expect((await metricValue(m.telemetryWritten)) - written).toBeGreaterThanOrEqual(5);
    expect(await metricValue(m.telemetryDropped)).toBe(0);
    expect([...b.thrown.keys()]).toEqual(
      expect.arrayContaining(['getRoom', 'getDevices', 'registerDevice', 'insertChatLogs', 'ping']),
    );
    await a.probe();
  });
});
