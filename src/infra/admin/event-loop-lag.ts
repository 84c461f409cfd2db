import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The gauge part of prom-client the sampler needs (keeps it testable without a registry). */
export interface LagGauge {
  set(value: number): void;
}

/** Timer resolution of the monitor in ms: the histogram's samples include it, so it is subtracted. */
const RESOLUTION_MS = 10;

/**
 * Samples event-loop delay into a gauge (seconds, p99 over the last interval). The interval timer
 * is unref'd so it never holds the process open during shutdown.
 */
export function startEventLoopLagSampler(gauge: LagGauge, intervalMs = 5_000): { stop(): void } {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const timer = setInterval(() => {
    const p99Ms = histogram.count > 0 ? histogram.percentile(99) / 1e6 : RESOLUTION_MS;
    gauge.set(Math.max(0, p99Ms - RESOLUTION_MS) / 1_000);
    histogram.reset();
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
