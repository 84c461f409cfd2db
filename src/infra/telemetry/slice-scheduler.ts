import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { OutageTracker } from './outage.js';
import type { RowBuffer } from './row-buffer.js';
import type { SliceWriter } from './slice-writer.js';

export interface SliceSchedulerOptions {
  clock: Clock;
  /** the `database` log category */
  log: Logger;
  buffer: RowBuffer;
  writer: SliceWriter;
  outage: OutageTracker;
  /** flush interval (config telemetry.flushMs) */
  flushMs: number;
}

/** Lets socket reads and timers run between two batches of a long backlog. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * When telemetry is written: one write loop, so at most one insert is in flight, started by the
 * flush tick and, after a failed write, by the retry backoff instead.
 */
export class SliceScheduler {
  /** set when close() gave up: the loop stops after the write in flight */
  abandoned = false;
  private started = false;
  private stopped = false;
  private flushTimer: unknown = null;
  private retryTimer: unknown = null;
  private running: Promise<void> | null = null;

  constructor(private readonly o: SliceSchedulerOptions) {}

  /** Starts the flush timer (every flushMs on the clock). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.flushTimer = this.o.clock.setTimeout(this.tick, this.o.flushMs);
  }

  /** Stops the timers for good; writes go on only when asked for (`run`). */
  stop(): void {
    this.stopped = true;
    this.started = false;
    this.clearTimer('flushTimer');
    this.clearTimer('retryTimer');
  }

  /** Starts the write loop unless it runs already; the one loop is what keeps one write in flight. */
  run(): Promise<void> {
    if (this.running === null && this.o.buffer.count > 0 && !this.abandoned) {
      this.running = this.drain().finally(() => {
        this.running = null;
      });
    }
    return this.running ?? Promise.resolve();
  }

  private readonly tick = (): void => {
    this.flushTimer = this.o.clock.setTimeout(this.tick, this.o.flushMs);
    // While a retry is scheduled the backoff decides when to try again, not the tick.
    if (this.retryTimer === null && this.o.buffer.count > 0) void this.run();
  };

  private readonly retry = (): void => {
    this.retryTimer = null;
    void this.run();
  };

  private async drain(): Promise<void> {
    const { buffer, writer } = this.o;
    try {
      while (buffer.count > 0 && !this.abandoned) {
        const lane = buffer.nextLane();
        if (lane === undefined) break;
        const outcome = await writer.write(lane);
        if (outcome === 'failed') {
          this.scheduleRetry();
          break;
        }
        // A write went through: an outage is over, so is its retry.
        if (outcome === 'ok') this.clearTimer('retryTimer');
        if (buffer.count > 0) await yieldToEventLoop();
      }
    } catch (err) {
      // Defensive: a bug here must not become an unhandled rejection that kills the process.
      this.o.log.error({ err }, 'telemetry write loop failed');
    } finally {
      this.o.outage.reportRecovery(buffer.count);
    }
  }

  private scheduleRetry(): void {
    if (!this.started) return;
    this.clearTimer('retryTimer');
    this.retryTimer = this.o.clock.setTimeout(this.retry, this.o.outage.backoffMs);
  }

  private clearTimer(which: 'flushTimer' | 'retryTimer'): void {
    const id = this[which];
    if (id === null) return;
    this.o.clock.clearTimeout(id);
    this[which] = null;
  }
}
