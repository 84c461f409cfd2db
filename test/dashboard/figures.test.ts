import { describe, expect, it } from 'vitest';
import { type MetricTotals, quantileBetween, ratePerSecond, readTotals } from '../../src/infra/admin/dash-figures.js';
import { LogRing } from '../../src/infra/log-ring.js';
import { createMetrics } from '../../src/infra/metrics.js';

describe('overview figures from the gateway metrics', () => {
  it('rates and percentiles between two readings count only what happened in between', async () => {
    const m = createMetrics();
    for (let i = 0; i < 10; i++) m.processingSeconds.observe(2); // before the window
    m.messages.inc({ outcome: 'processed' }, 10);
    const older = await readTotals(m, 1_000);
    for (let i = 0; i < 98; i++) m.processingSeconds.observe(0.003); // bucket (0.001, 0.005]
    m.processingSeconds.observe(0.2);
    m.processingSeconds.observe(0.2);
    m.messages.inc({ outcome: 'processed' }, 97);
    m.messages.inc({ outcome: 'failed-timeout' }, 3);
    m.packetsOut.inc({ event: 'messageResponse' }, 50);
    m.packetsOut.inc({ event: 'ping' }, 7);
    const newer = await readTotals(m, 11_000);
    expect(newer).toMatchObject({ messages: 110, failed: 3, replies: 50 });
    expect(ratePerSecond(older, newer, 'messages')).toBe(10);
    expect(ratePerSecond(older, newer, 'replies')).toBe(5);
    const p50 = quantileBetween(older, newer, 0.5)!;
    expect(p50).toBeGreaterThan(0.001);
    expect(p50).toBeLessThanOrEqual(0.005);
    const p99 = quantileBetween(older, newer, 0.99)!;
    expect(p99).toBeGreaterThan(0.1);
    expect(p99).toBeLessThanOrEqual(0.5);
    // since the start, the 2 s observations count too
    expect(quantileBetween(undefined, newer, 0.99)).toBeGreaterThan(1);
  });

  it('no observations: no percentile, no rate', () => {
    const empty: MetricTotals = {
      at: 5,
      messages: 0,
      failed: 0,
      replies: 0,
      buckets: [
        [0.1, 0],
        [Infinity, 0],
      ],
      lagSeconds: 0,
    };
    expect(quantileBetween(undefined, empty, 0.5)).toBeNull();
    expect(ratePerSecond(undefined, empty, 'messages')).toBe(0);
  });
});

describe('LogRing', () => {
  it('keeps the newest lines with sequence numbers and answers only new ones', () => {
    const ring = new LogRing(3);
    ring.write('{"level":30,"time":1,"cat":"client","msg":"a"}\n');
    ring.write('{"level":40,"time":2,"msg":"b"}\n{"level":50,"time":3,"cat":"database","msg":"c"}\n');
    ring.write('not json\n');
    expect(ring.since(0).map((l) => l.msg)).toEqual(['b', 'c', 'not json']);
    expect(ring.since(0)[0]).toMatchObject({ seq: 2, level: 40, cat: null, time: 2 });
    expect(ring.since(3).map((l) => l.seq)).toEqual([4]);
    expect(ring.since(4)).toEqual([]);
    expect(ring.lastSeq).toBe(4);
    expect(() => new LogRing(0)).toThrow(RangeError);
  });
});
