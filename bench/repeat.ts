import { round2 } from './stats.js';

/**
 * `--repeat N` (DESIGN.md §6): one end-to-end run on this shared host varies by ±25 %, so a figure
 * worth comparing is the median of several runs. This file reduces N gateway runs to the figures
 * the README's tables use: the median, and the lowest and highest value of each.
 */

/** The figures of one gateway run that the tables compare. */
export interface RunFigures {
  repliesPerSecond: number;
  cpuUsPerReply: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rssEndMiB: number;
  /** event-loop delay p99 in the measured window (absent when the server did not report it) */
  loopDelayP99Ms?: number;
  /** time paused by GC in the measured window */
  gcTotalMs?: number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export type RepeatSummary = { runs: number } & Record<keyof RunFigures, Spread | undefined>;

/** The median of `values` (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  return { median: round2(median(values)), min: round2(Math.min(...values)), max: round2(Math.max(...values)) };
}

const KEYS: readonly (keyof RunFigures)[] = [
  'repliesPerSecond',
  'cpuUsPerReply',
  'p50Ms',
  'p99Ms',
  'maxMs',
  'rssEndMiB',
  'loopDelayP99Ms',
  'gcTotalMs',
];

/** Median, lowest and highest of every figure over the runs (a figure no run reported is undefined). */
export function summarizeRuns(runs: readonly RunFigures[]): RepeatSummary {
  const out = { runs: runs.length } as RepeatSummary;
  for (const key of KEYS) {
    out[key] = spread(runs.map((r) => r[key]).filter((v): v is number => v !== undefined));
  }
  return out;
}

const LABELS: Record<keyof RunFigures, string> = {
  repliesPerSecond: 'replies/s',
  cpuUsPerReply: 'CPU µs per reply',
  p50Ms: 'latency p50 ms',
  p99Ms: 'latency p99 ms',
  maxMs: 'latency max ms',
  rssEndMiB: 'RSS at the end MiB',
  loopDelayP99Ms: 'event-loop delay p99 ms',
  gcTotalMs: 'GC paused ms',
};

/** The summary as text: one line per figure, `median (min–max)`. */
export function describeRepeat(s: RepeatSummary): string {
  const lines = [`gateway, median of ${s.runs} runs (lowest–highest):`];
  for (const key of KEYS) {
    const v = s[key];
    if (v === undefined) continue;
    lines.push(`  ${LABELS[key].padEnd(24)} ${v.median} (${v.min}–${v.max})`);
  }
  return lines.join('\n');
}
