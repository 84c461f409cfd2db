import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ChatLogRow, PingRow, Store, SystemSampleRow } from '../store/types.js';
import { finalFlush } from './final-flush.js';
import type { Lane, TelemetryTable } from './lane.js';
import { OutageTracker, type TelemetryHealth } from './outage.js';
import { RowBuffer } from './row-buffer.js';
import { SliceScheduler, yieldToEventLoop } from './slice-scheduler.js';
import { SliceWriter } from './slice-writer.js';

export type { TelemetryTable } from './lane.js';
export type { TelemetryHealth } from './outage.js';

/**
 * The batched, asynchronous telemetry writer (DESIGN.md §4 "Database trouble never stops chat
 * traffic"). Producers append to bounded in-memory queues and return at once; one loop writes
 * slices with at most one store call in flight and one slice per event-loop turn (DESIGN.md §6).
 * A failed slice stays at the front of its queue, so an outage loses nothing until the buffer is
 * full, and then only the newest rows, each one counted.
 *
 * The parts: RowBuffer (the bounded queues), SliceWriter (one insert call and its failure),
 * OutageTracker (backoff, health), SliceScheduler (when to write), finalFlush (close).
 */

export interface TelemetryWriterOptions {
  store: Store;
  clock: Clock;
  metrics: Metrics;
  /** the `database` log category */
  log: Logger;
  /** rows kept across all tables while the database is slow or away (config telemetry.bufferRows) */
  bufferRows?: number;
  /** rows per insert call; on SQLite the most, see sliceRows (config telemetry.batchRows) */
  batchRows?: number;
  /**
   * rows per insert call when the store writes synchronously on the event loop (SQLite), so how
   * long one telemetry write holds the loop; more (up to batchRows) only while a backlog is caught
   * up (config telemetry.sliceRows)
   */
  sliceRows?: number;
  /** flush interval (config telemetry.flushMs) */
  flushMs?: number;
  /** first retry delay after a failed write; doubles up to maxBackoffMs */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** a write still pending after this long makes `healthy` report the database as stalled */
  stallMs?: number;
  /**
   * Consecutive failures of one batch, while the database answers `ping()`, after which the batch
   * is retried row by row and a row the database keeps refusing is dropped (and counted), so one
   * bad row (e.g. too long for an operator's column) cannot hold up all telemetry forever.
   */
  refusalLimit?: number;
  /** how the write loop gives the event loop back between two slices (default: setImmediate) */
  yieldTurn?: () => Promise<void>;
}

/**
 * Rows per insert call while the backlog is small. better-sqlite3 runs the whole insert
 * transaction synchronously inside the call, so on SQLite a call is also how long the event loop
 * is held; MySQL's insert is a round trip off the loop, where bigger batches mean fewer round trips.
 */
function rowsPerCall(store: Store, batchRows: number, sliceRows: number): number {
  return store.dialect === 'sqlite' ? Math.min(batchRows, sliceRows) : batchRows;
}

export class TelemetryWriter {
  private readonly buffer: RowBuffer;
  private readonly outage: OutageTracker;
  private readonly slices: SliceWriter;
  private readonly scheduler: SliceScheduler;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly minBackoffMs: number;
  private closing: Promise<void> | null = null;

  constructor(opts: TelemetryWriterOptions) {
    const { store, clock, metrics, log } = opts;
    this.clock = clock;
    this.log = log;
    this.minBackoffMs = opts.minBackoffMs ?? 1_000;
    const batchRows = Math.max(1, opts.batchRows ?? 500);
    const sliceRows = rowsPerCall(store, batchRows, Math.max(1, opts.sliceRows ?? 100));
    this.buffer = new RowBuffer({ store, metrics, log, bufferRows: opts.bufferRows ?? 10_000 });
    this.outage = new OutageTracker({
      clock,
      log,
      minBackoffMs: this.minBackoffMs,
      maxBackoffMs: Math.max(this.minBackoffMs, opts.maxBackoffMs ?? 30_000),
      stallMs: opts.stallMs ?? 30_000,
    });
    this.slices = new SliceWriter({
      store,
      clock,
      metrics,
      log,
      buffer: this.buffer,
      outage: this.outage,
      sliceRows,
      maxRows: batchRows,
      refusalLimit: Math.max(1, opts.refusalLimit ?? 3),
    });
    this.scheduler = new SliceScheduler({
      clock,
      log,
      buffer: this.buffer,
      writer: this.slices,
      outage: this.outage,
      flushMs: opts.flushMs ?? 1_000,
      sliceRows,
      yieldTurn: opts.yieldTurn ?? yieldToEventLoop,
    });
  }

  // ---- producers: O(1), never await, never throw --------------------------------------------

  chat(row: ChatLogRow): void {
    this.offer(this.buffer.chat, row);
  }

  ping(row: PingRow): void {
    this.offer(this.buffer.ping, row);
  }

  system(row: SystemSampleRow): void {
    this.offer(this.buffer.system, row);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Starts the flush timer (every flushMs on the clock) and writing full slices as they fill. */
  start(): void {
    this.scheduler.start();
  }

  /**
   * Writes what is buffered (joining a write already in flight), a slice per call, in arrival
   * order per table. Resolves when the buffer is empty or at the first failed write (the rows
   * stay buffered and are retried with backoff). Never rejects.
   */
  async flush(): Promise<void> {
    await this.scheduler.flushDue();
    // A row appended while the loop was finishing would otherwise wait for the next tick.
    if (this.buffer.count > 0 && !this.outage.down && !this.scheduler.abandoned) await this.scheduler.flushDue();
  }

  /**
   * Stops the timers and makes a last effort to write everything, retrying with backoff, until
   * `deadlineMs` has passed on the clock. Rows still unwritten then are reported in the log.
   * Rows offered after close are dropped and counted. Never rejects.
   */
  close(deadlineMs = 5_000): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.buffer.closed = true;
    this.scheduler.stop();
    this.closing = finalFlush({
      clock: this.clock,
      log: this.log,
      buffer: this.buffer,
      scheduler: this.scheduler,
      outage: this.outage,
      minBackoffMs: this.minBackoffMs,
      deadlineMs,
    });
    return this.closing;
  }

  // ---- observation --------------------------------------------------------------------------

  /** Rows waiting to be written, across all tables (including a slice being written). */
  get buffered(): number {
    return this.buffer.count;
  }

  /** Rows dropped per table: buffer full, refused one by one by the database, or offered after close. */
  get dropped(): Record<TelemetryTable, number> {
    return this.buffer.dropped;
  }

  /** For /readyz: not ok while the last write failed or a write is stalled. */
  get healthy(): TelemetryHealth {
    return this.outage.health(this.buffer.count, this.slices.inFlightSince);
  }

  private offer<Row>(lane: Lane<Row>, row: Row): void {
    try {
      if (this.buffer.append(lane, row)) this.scheduler.queued(lane.queue.length);
    } catch {
      // Producers sit on the chat path: telemetry trouble must never surface there.
    }
  }
}
