import type { Metrics } from '../metrics.js';

/**
 * The overview's numbers, read from the gateway's own metrics (the ones /metrics exports):
 * counter totals for rates, and histogram buckets for percentiles over a window.
 */

export interface MetricTotals {
  /** epoch ms of the reading */
  at: number;
  /** every chat message the mailbox finished, any outcome */
  messages: number;
  failed: number;
  /** messageResponse packets written */
  replies: number;
  /** cumulative processing-time bucket counts, by upper bound (seconds; Infinity last) */
  buckets: [number, number][];
  lagSeconds: number;
}

export async function readTotals(metrics: Metrics, at: number): Promise<MetricTotals> {
  const messages = await metrics.messages.get();
  let all = 0;
  let failed = 0;
  for (const v of messages.values) {
    all += v.value;
    if (String(v.labels.outcome ?? '').startsWith('failed')) failed += v.value;
  }
  let replies = 0;
  for (const v of (await metrics.packetsOut.get()).values) if (v.labels.event === 'messageResponse') replies += v.value;
  const buckets: [number, number][] = [];
  for (const v of (await metrics.processingSeconds.get()).values) {
    if (!v.metricName?.endsWith('_bucket')) continue;
    const le = v.labels.le;
    buckets.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), v.value]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const lag = (await metrics.eventLoopLagSeconds.get()).values[0]?.value ?? 0;
  return { at, messages: all, failed, replies, buckets, lagSeconds: lag };
}

/**
 * The q-quantile (0..1) of the observations between two readings, interpolated inside its
 * bucket as Prometheus' histogram_quantile does; null without observations.
 */
export function quantileBetween(older: MetricTotals | undefined, newer: MetricTotals, q: number): number | null {
  const counts = newer.buckets.map(([le, n], i) => [le, n - (older?.buckets[i]?.[1] ?? 0)] as [number, number]);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, n] of counts) {
    if (n >= rank) {
      if (!Number.isFinite(le)) return lowerBound; // beyond the last finite bucket: its bound
      const inBucket = n - lowerCount;
      return inBucket <= 0 ? le : lowerBound + ((le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = Number.isFinite(le) ? le : lowerBound;
    lowerCount = n;
  }
  return lowerBound;
}

/** Per-second rate of a counter between two readings. */
export function ratePerSecond(older: MetricTotals | undefined, newer: MetricTotals, pick: 'messages' | 'replies') {
  if (older === undefined || newer.at <= older.at) return 0;
  return Math.max(0, newer[pick] - older[pick]) / ((newer.at - older.at) / 1000);
}
