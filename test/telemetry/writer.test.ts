import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../src/infra/metrics.js';
import { TelemetryWriter, type TelemetryWriterOptions } from '../../src/infra/telemetry/writer.js';
import {
  advance,
  capturedLog,
  chatRow,
  FakeStore,
  pingRowOf,
  sampleRow,
  settle,
  simulatedClock,
  T0,
} from './fake-store.js';

interface MetricLike {
  get(): Promise<{ values: Array<{ labels: Record<string, string | number | undefined>; value: number }> }>;
}

async function metricValue(metric: MetricLike, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return hit?.value ?? 0;
}

function setup(opts: Partial<TelemetryWriterOptions> = {}) {
  const clock = simulatedClock();
  const store = new FakeStore(clock);
  const metrics: Metrics = createMetrics();
  const logs = capturedLog();
  const writer = new TelemetryWriter({
    store,
    clock,
    metrics,
    log: logs.log,
    bufferRows: 10_000,
    batchRows: 500,
    flushMs: 1_000,
    maxBackoffMs: 30_000,
    ...opts,
  });
  return { clock, store, metrics, logs, writer };
}

const messages = (store: FakeStore) => store.chatLogs.map((r) => r.message);

describe('batching', () => {
  it('writes batchRows rows per insert call, in arrival order per table, only when flushed', async () => {
    const { store, writer, metrics } = setup({ batchRows: 3 });
    for (let i = 0; i < 7; i++) writer.chat(chatRow(`m${i}`));
    writer.ping(pingRowOf('p0'));
    writer.ping(pingRowOf('p1'));
    expect(store.attempts).toHaveLength(0);
    expect(writer.buffered).toBe(9);
    expect(await metricValue(metrics.telemetryBuffered)).toBe(9);

    await writer.flush();

    expect(store.attempts.filter((a) => a.op === 'insertChatLogs').map((a) => a.size)).toEqual([3, 3, 1]);
    expect(store.attempts.filter((a) => a.op === 'insertPings').map((a) => a.size)).toEqual([2]);
    expect(messages(store)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expect(store.pings.map((p) => p.deviceId)).toEqual(['p0', 'p1']);
    expect(writer.buffered).toBe(0);
    expect(await metricValue(metrics.telemetryBuffered)).toBe(0);
    expect(await metricValue(metrics.telemetryWritten, { table: 'chat' })).toBe(7);
    expect(await metricValue(metrics.telemetryWritten, { table: 'ping' })).toBe(2);
  });

  it('flushes every flushMs on the injected clock once started', async () => {
    const { clock, store, writer } = setup({ flushMs: 1_000 });
    writer.start();
    writer.chat(chatRow('a'));
    writer.system(sampleRow('host-1'));
    await advance(clock, 900);
    expect(store.attempts).toHaveLength(0);
    await advance(clock, 100);
    expect(messages(store)).toEqual(['a']);
    expect(store.samples.map((s) => s.serverName)).toEqual(['host-1']);
    expect(store.attempts.map((a) => a.at)).toEqual([T0 + 1_000, T0 + 1_000]);

    writer.chat(chatRow('b'));
    await advance(clock, 1_000);
    expect(messages(store)).toEqual(['a', 'b']);
    expect(store.attempts.at(-1)?.at).toBe(T0 + 2_000);
    await writer.close();
  });

  it('close writes what is left, stops the timer, and counts rows offered afterwards as dropped', async () => {
    const { clock, store, writer, metrics } = setup();
    writer.start();
    writer.chat(chatRow('x'));
    writer.chat(chatRow('y'));
    await writer.close();
    expect(messages(store)).toEqual(['x', 'y']);

    writer.chat(chatRow('late'));
    expect(writer.buffered).toBe(0);
    expect(writer.dropped).toEqual({ chat: 1, ping: 0, system: 0 });
    expect(await metricValue(metrics.telemetryDropped, { table: 'chat' })).toBe(1);
    const before = store.attempts.length;
    await advance(clock, 5_000, 500);
    expect(store.attempts).toHaveLength(before);
  });
});

describe('database outage', () => {
  it('keeps the rows, retries with exponential backoff, and flushes them in order after recovery', async () => {
    const { clock, store, writer, logs, metrics } = setup({ batchRows: 2 });
    store.mode = 'fail';
    writer.start();
    writer.chat(chatRow('a'));
    writer.chat(chatRow('b'));
    writer.chat(chatRow('c'));
    expect(writer.healthy).toEqual({ ok: true });
    await settle();

    await advance(clock, 1_000);
    // The first write went out at once (a full batch of 2 was waiting), not at the first tick.
    expect(writer.healthy).toEqual({
      ok: false,
      detail: 'database unreachable since 2025-07-24T05:00:00.000Z, 3 rows buffered',
    });
    writer.chat(chatRow('d'));

    await advance(clock, 91_000, 500);
    // 1 s doubling, capped at 30 s; neither the flush tick nor full batches retry on their own meanwhile.
    expect(store.attempts.map((a) => a.at - T0)).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000, 61_000, 91_000]);
    expect(store.chatLogs).toHaveLength(0);
    expect(writer.buffered).toBe(4);
    expect(writer.healthy.detail).toBe('database unreachable since 2025-07-24T05:00:00.000Z, 4 rows buffered');
    expect(logs.at('warn')).toEqual(['database unreachable: telemetry is buffered and retried with backoff']);
    expect(await metricValue(metrics.storeErrors, { op: 'insertChatLogs' })).toBe(8);

    store.mode = 'ok';
    await advance(clock, 30_000, 500);
    expect(messages(store)).toEqual(['a', 'b', 'c', 'd']);
    expect(store.attempts.filter((a) => a.ok).map((a) => [a.at - T0, a.size])).toEqual([
      [121_000, 2],
      [121_000, 2],
    ]);
    expect(writer.healthy).toEqual({ ok: true });
    expect(writer.buffered).toBe(0);
    expect(logs.at('warn')).toHaveLength(1);
    expect(logs.at('info')).toEqual(['database reachable again: 4 telemetry rows flushed']);
    expect(writer.dropped).toEqual({ chat: 0, ping: 0, system: 0 });
    await writer.close();
  });

  it('drops only the new rows when the buffer is full, counting them exactly per table', async () => {
    const { clock, store, writer, logs, metrics } = setup({ bufferRows: 10 });
    store.mode = 'fail';
    writer.start();
    for (let i = 0; i < 8; i++) writer.chat(chatRow(`c${i}`));
    for (let i = 0; i < 5; i++) writer.ping(pingRowOf(`p${i}`));
    for (let i = 0; i < 4; i++) writer.system(sampleRow(`s${i}`));
    await advance(clock, 3_000);

    expect(writer.buffered).toBe(10);
    expect(writer.dropped).toEqual({ chat: 0, ping: 3, system: 4 });
    expect(await metricValue(metrics.telemetryDropped, { table: 'ping' })).toBe(3);
    expect(await metricValue(metrics.telemetryDropped, { table: 'system' })).toBe(4);
    expect(await metricValue(metrics.telemetryDropped, { table: 'chat' })).toBe(0);
    expect(await metricValue(metrics.telemetryBuffered)).toBe(10);
    expect(logs.at('warn').filter((m) => m.startsWith('telemetry buffer full'))).toHaveLength(1);

    store.mode = 'ok';
    await advance(clock, 5_000);
    expect(messages(store)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    expect(store.pings.map((p) => p.deviceId)).toEqual(['p0', 'p1']);
    expect(store.samples).toHaveLength(0);
    expect(logs.at('info')).toContain('telemetry buffer has room again');
    await writer.close();
  });

  it('drop counts stay exact for any mix of tables, buffer sizes and failed flushes', async () => {
    const op = fc.constantFrom('chat', 'ping', 'system', 'flush');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 60 }), async (bufferRows, ops) => {
        const { store, writer } = setup({ bufferRows, batchRows: 3 });
        store.mode = 'fail';
        const expected = { chat: 0, ping: 0, system: 0 };
        const accepted: string[] = [];
        let n = 0;
        for (const o of ops) {
          if (o === 'flush') {
            await writer.flush();
            continue;
          }
          const id = `${o}${n++}`;
          if (writer.buffered >= bufferRows) expected[o]++;
          else accepted.push(id);
          if (o === 'chat') writer.chat(chatRow(id));
          if (o === 'ping') writer.ping(pingRowOf(id));
          if (o === 'system') writer.system(sampleRow(id));
        }
        expect(writer.dropped).toEqual(expected);
        store.mode = 'ok';
        await writer.flush();
        const written = [
          ...store.chatLogs.map((r) => r.message),
          ...store.pings.map((r) => r.deviceId),
          ...store.samples.map((r) => r.serverName),
        ];
        const byTable = (t: string) => accepted.filter((id) => id.startsWith(t));
        expect(written).toEqual([...byTable('chat'), ...byTable('ping'), ...byTable('system')]);
        expect(writer.buffered).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('producers never throw, even when the store throws synchronously', async () => {
    const { store, writer } = setup();
    store.insertChatLogs = () => {
      throw new Error('pool closed');
    };
    store.mode = 'fail';
    expect(() => {
      for (let i = 0; i < 100; i++) writer.chat(chatRow(`m${i}`));
      writer.ping(pingRowOf('p'));
      writer.system(sampleRow('s'));
    }).not.toThrow();
    await expect(writer.flush()).resolves.toBeUndefined();
    expect(writer.buffered).toBe(102);
    expect(writer.healthy.ok).toBe(false);
  });

  it('a row the database keeps refusing is dropped after retries; the rows around it are written in order', async () => {
    const { clock, store, writer, logs } = setup({ batchRows: 10 });
    store.refuse = (row) => (row as { message?: string }).message === 'POISON';
    writer.start();
    for (const m of ['a', 'POISON', 'b', 'c']) writer.chat(chatRow(m));
    await advance(clock, 1_000);
    expect(writer.healthy.ok).toBe(false);
    expect(writer.healthy.detail).toBe(
      "database refusing telemetry rows since 2025-07-24T05:00:01.000Z (Data too long for column 'message' at row 1), 4 rows buffered",
    );
    await advance(clock, 30_000, 250);

    expect(messages(store)).toEqual(['a', 'b', 'c']);
    expect(writer.dropped).toEqual({ chat: 1, ping: 0, system: 0 });
    expect(logs.at('error')).toEqual(['database refused a telemetry row repeatedly: row dropped']);
    expect(writer.healthy).toEqual({ ok: true });
    expect(writer.buffered).toBe(0);
    // After the batch it is back to full batches.
    writer.chat(chatRow('d'));
    writer.chat(chatRow('e'));
    await advance(clock, 1_000);
    expect(store.attempts.at(-1)?.size).toBe(2);
    await writer.close();
  });

  it('close retries until its deadline, then reports what was not written', async () => {
    const { clock, store, writer, logs } = setup();
    store.mode = 'fail';
    writer.start();
    writer.chat(chatRow('a'));
    writer.ping(pingRowOf('p'));
    let closed = false;
    const closing = writer.close(5_000).then(() => {
      closed = true;
    });
    await settle();
    await advance(clock, 4_900);
    expect(closed).toBe(false);
    await advance(clock, 100);
    await closing;
    expect(closed).toBe(true);
    // attempts at once, after 1 s and 3 s (backoff 1 s, 2 s), taking the tables in turn;
    // the next one would fall after the deadline
    expect(store.attempts.map((a) => [a.at - T0, a.op])).toEqual([
      [0, 'insertChatLogs'],
      [1_000, 'insertPings'],
      [3_000, 'insertChatLogs'],
    ]);
    expect(logs.at('warn')).toContain('telemetry writer closed with 2 rows not written');
  });
});

describe('slow database', () => {
  it('never blocks producers and keeps exactly one write in flight', async () => {
    const { clock, store, writer } = setup({ batchRows: 2 });
    store.mode = 'hang';
    writer.start();
    // a full batch (2 rows) is written at once, not at the tick
    for (const m of ['a', 'b', 'c']) writer.chat(chatRow(m));
    await settle();
    await advance(clock, 1_000);
    expect(store.hungWrites).toBe(1);

    for (let i = 0; i < 100; i++) writer.chat(chatRow(`n${i}`));
    writer.ping(pingRowOf('p'));
    await advance(clock, 10_000, 500);
    expect(store.attempts).toHaveLength(1);
    expect(store.maxInFlight).toBe(1);
    expect(writer.buffered).toBe(104);
    expect(writer.healthy).toEqual({ ok: true });

    await advance(clock, 20_000, 1_000);
    expect(writer.healthy).toEqual({
      ok: false,
      detail: 'database write pending since 2025-07-24T05:00:00.000Z, 104 rows buffered',
    });

    store.mode = 'ok';
    store.release();
    await advance(clock, 1_000);
    expect(messages(store)).toEqual(['a', 'b', 'c', ...Array.from({ length: 100 }, (_, i) => `n${i}`)]);
    expect(store.pings).toHaveLength(1);
    expect(store.maxInFlight).toBe(1);
    expect(writer.buffered).toBe(0);
    expect(writer.healthy).toEqual({ ok: true });
    await writer.close();
  });

  it('close does not wait past its deadline for a write that hangs', async () => {
    const { clock, store, writer, logs } = setup();
    store.mode = 'hang';
    writer.chat(chatRow('a'));
    const closing = writer.close(2_000);
    await advance(clock, 2_000);
    await closing;
    expect(logs.at('warn')).toContain('telemetry writer closed with 1 rows not written');
  });
});
