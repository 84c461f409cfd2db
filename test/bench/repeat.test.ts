import { describe, expect, test } from 'vitest';
import { describeRepeat, median, summarizeRuns } from '../../bench/repeat.js';

const run = (repliesPerSecond: number, cpuUsPerReply: number, gcTotalMs?: number) => ({
  repliesPerSecond,
  cpuUsPerReply,
  p50Ms: 1,
  p99Ms: 10,
  maxMs: 20,
  rssEndMiB: 200,
  ...(gcTotalMs === undefined ? {} : { gcTotalMs }),
});

describe('bench --repeat (DESIGN.md §6)', () => {
  test('median of an odd and an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  test('each figure gets its median, lowest and highest; a figure no run reported is left out', () => {
    const s = summarizeRuns([run(5000, 200, 300), run(4000, 250), run(6000, 180, 200)]);
    expect(s.runs).toBe(3);
    expect(s.repliesPerSecond).toEqual({ median: 5000, min: 4000, max: 6000 });
    expect(s.cpuUsPerReply).toEqual({ median: 200, min: 180, max: 250 });
    expect(s.gcTotalMs).toEqual({ median: 250, min: 200, max: 300 });
    expect(s.loopDelayP99Ms).toBeUndefined();
    const text = describeRepeat(s);
    expect(text).toContain('median of 3 runs');
    expect(text).toContain('replies/s                5000 (4000–6000)');
    expect(text).not.toContain('event-loop delay');
  });
});
