export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of latencies in ms (rounded to 0.01 ms). */
export function summarize(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { count: 0, p50: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: round2(rank(0.5)),
    p99: round2(rank(0.99)),
    max: round2(sorted[sorted.length - 1]!),
    mean: round2(sum / sorted.length),
  };
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
