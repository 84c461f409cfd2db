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
  /** rows per insert call: a lane holding this many is written without waiting for the flush */
  sliceRows: number;
  /** gives the event loop back for one turn (socket reads, timers) */
  yieldTurn: () => Promise<void>;
}

/** The default `yieldTurn`: one turn of the event loop, after the I/O callbacks waiting. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * When telemetry is written (DESIGN.md §6: no sync I/O holding up the message path). One write
 * loop, so at most one insert is in flight, writes one slice per event-loop turn and yields
 * between slices. It runs when a full slice is waiting (started on the next turn, so rows are
 * written steadily under load), at every flush tick for whatever is queued then, and on retry
 * after a failed write; while the database is away, only the backoff starts it.
 */
export class SliceScheduler {
  /** set when close() gave up: the loop stops after the write in flight */
  abandoned = false;
  private started = false;
  private stopped = false;
  private flushTimer: unknown = null;
  private retryTimer: unknown = null;
  private running: Promise<void> | null = null;
  private kickPending = false;

  constructor(private readonly o: SliceSchedulerOptions) {}

  /** Starts the flush timer (every flushMs on the clock) and writing full slices as they fill. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.flushTimer = this.o.clock.setTimeout(this.tick, this.o.flushMs);
  }

  /** Stops the timers for good; writes go on only when asked for (`flushDue`). */
  stop(): void {
    this.stopped = true;
    this.started = false;
    this.clearTimer('flushTimer');
    this.clearTimer('retryTimer');
  }

  /**
   * A row was queued on a lane now holding `waiting` rows (on the producer's path: O(1), no store
   * call). When they fill a slice, the loop starts on the next turn rather than at the next tick.
   */
  queued(waiting: number): void {
    if (waiting < this.o.sliceRows || this.running !== null || this.kickPending) return;
    if (!this.started || this.o.outage.down) return;
    this.kickPending = true;
    void this.o.yieldTurn().then(this.kick);
  }

  /**
   * Makes everything queued now due and runs the loop (joining one already running) until it is
   * written or a write fails. Never rejects.
   */
  flushDue(): Promise<void> {
    this.o.buffer.markDue();
    return this.run();
  }

  private readonly kick = (): void => {
    this.kickPending = false;
    if (this.started && !this.o.outage.down) void this.run();
  };

  private readonly tick = (): void => {
    this.flushTimer = this.o.clock.setTimeout(this.tick, this.o.flushMs);
    // While a retry is scheduled the backoff decides when to try again, not the tick.
    if (this.retryTimer === null && this.o.buffer.count > 0) void this.flushDue();
  };

  private readonly retry = (): void => {
    this.retryTimer = null;
    void this.flushDue();
  };

  /** Starts the write loop unless it runs already; the one loop is what keeps one write in flight. */
  private run(): Promise<void> {
    if (this.running === null && this.o.buffer.count > 0 && !this.abandoned) {
      this.running = this.drain().finally(() => {
        this.running = null;
      });
    }
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    const { buffer, writer, sliceRows } = this.o;
    try {
      while (!this.abandoned) {
        const lane = buffer.nextLane(sliceRows);
        if (lane === undefined) break;
        const outcome = await writer.write(lane);
        if (outcome === 'failed') {
          this.scheduleRetry();
          break;
        }
        // A write went through: an outage is over, so is its retry.
        if (outcome === 'ok') this.clearTimer('retryTimer');
        // One slice per turn: socket reads and timers run between two slices.
        if (buffer.hasWork(sliceRows)) await this.o.yieldTurn();
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
