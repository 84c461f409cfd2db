import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/infra/metrics.js';
import { TelemetryWriter, type TelemetryWriterOptions } from '../../src/infra/telemetry/writer.js';
import { advance, capturedLog, chatRow, FakeStore, settle, simulatedClock, T0 } from './fake-store.js';

/**
 * The writer holds the event loop for at most one slice at a time (DESIGN.md §6): on SQLite an
 * insert call runs synchronously, so rows are written `sliceRows` per call (more, up to batchRows,
 * only while a long backlog is caught up), one call per event-loop turn, and full slices go out as
 * they fill instead of piling up until the flush tick.
 */

function setup(opts: Partial<TelemetryWriterOptions> = {}, dialect: FakeStore['dialect'] = 'sqlite') {
  const clock = simulatedClock();
  const store = new FakeStore(clock);
  store.dialect = dialect;
  const logs = capturedLog();
  /** inserts and yields in the order the writer did them */
  const events: string[] = [];
  const insert = store.insertChatLogs.bind(store);
  store.insertChatLogs = (rows) => {
    events.push(`insert ${rows.length}`);
    return insert(rows);
  };
  const writer = new TelemetryWriter({
    store,
    clock,
    metrics: createMetrics(),
    log: logs.log,
    bufferRows: 10_000,
    batchRows: 500,
    sliceRows: 100,
    flushMs: 1_000,
    yieldTurn: () => {
      events.push('yield');
      return new Promise((resolve) => setImmediate(resolve));
    },
    ...opts,
  });
  return { clock, store, logs, writer, events };
}

const messages = (store: FakeStore) => store.chatLogs.map((r) => r.message);
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `m${from + i}`);
const sizes = (store: FakeStore) => store.attempts.map((a) => a.size);

describe('slices on a synchronous store (SQLite)', () => {
  it('writes a 2,000-row backlog in slices of at most sliceRows, yielding between slices, in order', async () => {
    const { store, writer, events } = setup({ sliceRows: 250 });
    for (const id of ids(0, 2_000)) writer.chat(chatRow(id));

    await writer.flush();

    expect(sizes(store)).toEqual(Array(8).fill(250));
    // insert, yield, insert, … : never two inserts in one turn, no yield after the last
    expect(events).toEqual(Array.from({ length: 15 }, (_, i) => (i % 2 === 0 ? 'insert 250' : 'yield')));
    expect(messages(store)).toEqual(ids(0, 2_000));
    expect(writer.buffered).toBe(0);
  });

  it('grows a slice with a long backlog (an eighth of it, at most batchRows) and back to sliceRows', async () => {
    const { store, writer } = setup({ sliceRows: 100, batchRows: 500 });
    for (const id of ids(0, 4_000)) writer.chat(chatRow(id));

    await writer.flush();

    const s = sizes(store);
    expect(s[0]).toBe(500); // 4,000 / 8
    expect(s[1]).toBe(438); // 3,500 / 8, rounded up
    expect(s.every((n, i) => i === 0 || n <= s[i - 1]!)).toBe(true);
    expect(s.slice(-5)).toEqual([100, 100, 100, 100, 2]); // the rest: due, though short of a slice
    expect(s.reduce((a, b) => a + b, 0)).toBe(4_000);
    expect(messages(store)).toEqual(ids(0, 4_000));
  });

  it('writes a full slice on the next turn, without waiting for the flush tick; the rest at the tick', async () => {
    const { clock, store, writer } = setup();
    writer.start();
    for (const id of ids(0, 250)) writer.chat(chatRow(id));
    // producers never call the store themselves
    expect(store.attempts).toHaveLength(0);

    await settle();
    expect(store.attempts.map((a) => [a.at - T0, a.size])).toEqual([
      [0, 100],
      [0, 100],
    ]);
    expect(writer.buffered).toBe(50);

    await advance(clock, 1_000);
    expect(store.attempts.map((a) => [a.at - T0, a.size])).toEqual([
      [0, 100],
      [0, 100],
      [1_000, 50],
    ]);
    expect(messages(store)).toEqual(ids(0, 250));
    await writer.close();
  });

  it('keeps up with a steady 4,000 rows/s without filling a 1,000-row buffer between ticks', async () => {
    const { clock, store, writer, logs } = setup({ bufferRows: 1_000 });
    writer.start();
    let n = 0;
    for (let step = 0; step < 300; step++) {
      for (let i = 0; i < 40; i++) writer.chat(chatRow(`m${n++}`));
      clock.increment(10);
      await settle(2);
    }

    expect(writer.dropped).toEqual({ chat: 0, ping: 0, system: 0 });
    expect(logs.at('warn')).toEqual([]);
    expect(writer.buffered).toBeLessThan(200);
    expect(Math.max(...sizes(store))).toBeLessThanOrEqual(100);
    await writer.close();
    expect(messages(store)).toEqual(ids(0, n));
  });

  it('keeps pace when event-loop turns get long: 400 rows per turn against a 100-row slice', async () => {
    const { store, writer, logs } = setup({ sliceRows: 100, batchRows: 500 });
    writer.start();
    let n = 0;
    for (let turn = 0; turn < 200; turn++) {
      for (let i = 0; i < 400; i++) writer.chat(chatRow(`m${n++}`));
      await settle(1);
    }

    expect(writer.dropped).toEqual({ chat: 0, ping: 0, system: 0 });
    expect(logs.at('warn')).toEqual([]);
    expect(Math.max(...sizes(store))).toBeLessThanOrEqual(500);
    await writer.close();
    expect(messages(store)).toEqual(ids(0, n));
  });

  it('close writes everything buffered, slice by slice', async () => {
    const { store, writer, logs, events } = setup();
    writer.start();
    for (const id of ids(0, 2_000)) writer.chat(chatRow(id));

    await writer.close();

    expect(messages(store)).toEqual(ids(0, 2_000));
    expect(Math.max(...sizes(store))).toBe(250);
    expect(events.filter((e) => e.startsWith('insert'))).toHaveLength(store.attempts.length);
    // a yield between any two inserts
    expect(events.some((e, i) => e.startsWith('insert') && events[i + 1]?.startsWith('insert'))).toBe(false);
    expect(writer.buffered).toBe(0);
    expect(logs.lines.map((l) => l.msg)).toContain('telemetry writer closed, everything written');
  });

  it('while the database is away, full slices wait for the backoff; after it, the backlog goes in slices, in order', async () => {
    const { clock, store, writer, logs } = setup();
    store.mode = 'fail';
    writer.start();
    for (const id of ids(0, 250)) writer.chat(chatRow(id));
    await settle();
    expect(store.attempts.map((a) => a.at - T0)).toEqual([0]);

    // Full slices keep arriving: no write until the backoff (1 s) has passed.
    for (const id of ids(250, 1_000)) writer.chat(chatRow(id));
    await settle();
    expect(store.attempts).toHaveLength(1);
    expect(writer.buffered).toBe(1_250);
    await advance(clock, 1_000);
    expect(store.attempts.map((a) => a.at - T0)).toEqual([0, 1_000]);

    store.mode = 'ok';
    await advance(clock, 2_000); // the next retry, 2 s later
    await settle(30); // a slice per turn
    expect(messages(store)).toEqual(ids(0, 1_250));
    expect(Math.max(...sizes(store))).toBe(157); // 1,250 / 8
    expect(writer.buffered).toBe(0);
    expect(writer.healthy).toEqual({ ok: true });
    expect(logs.at('info')).toEqual(['database reachable again: 1250 telemetry rows flushed']);
    await writer.close();
  });
});

describe('batches on an asynchronous store (MySQL)', () => {
  it('writes batchRows per call (sliceRows is for SQLite) and a full batch without waiting for the tick', async () => {
    const { store, writer } = setup({}, 'mysql');
    writer.start();
    for (const id of ids(0, 1_200)) writer.chat(chatRow(id));
    await settle();
    expect(sizes(store)).toEqual([500, 500]);

    await writer.flush();
    expect(sizes(store)).toEqual([500, 500, 200]);
    expect(messages(store)).toEqual(ids(0, 1_200));
    expect(store.maxInFlight).toBe(1);
    await writer.close();
  });
});
