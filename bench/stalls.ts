import { constants, monitorEventLoopDelay, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';

/**
 * What held the gateway's event loop during the measured window (DESIGN.md §6: p99 and max latency
 * at a moderate rate are figures that matter): the event-loop delay (how late a 1 ms timer fired)
 * and the garbage collector's pauses, major ones apart. `start()` at the window's start.
 */
export class StallMeter {
  private readonly delay = monitorEventLoopDelay({ resolution: 1 });
  private gc = { count: 0, totalMs: 0, maxMs: 0, majorCount: 0, majorMaxMs: 0 };
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const g = this.gc;
      g.count++;
      g.totalMs += entry.duration;
      g.maxMs = Math.max(g.maxMs, entry.duration);
      const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        g.majorCount++;
        g.majorMaxMs = Math.max(g.majorMaxMs, entry.duration);
      }
    }
  });

  start(): void {
    this.delay.reset();
    this.delay.enable();
    this.gc = { count: 0, totalMs: 0, maxMs: 0, majorCount: 0, majorMaxMs: 0 };
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** figures for the child's `stats` line (ms) */
  stop(): Record<string, number> {
    this.delay.disable();
    this.observer.disconnect();
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      loopDelayP99Ms: ms(this.delay.percentile(99)),
      loopDelayMaxMs: ms(this.delay.max),
      gcPauses: this.gc.count,
      gcTotalMs: round(this.gc.totalMs),
      gcMaxMs: round(this.gc.maxMs),
      gcMajorPauses: this.gc.majorCount,
      gcMajorMaxMs: round(this.gc.majorMaxMs),
    };
  }
}
