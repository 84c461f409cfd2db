import { type Clock, sleep } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ChatLogRow, PingRow, Store, SystemSampleRow } from '../store/types.js';
import { RowQueue } from './row-queue.js';

/**
 * The batched, asynchronous telemetry writer (DESIGN.md §4 "Database trouble
 * never stops chat traffic"). Producers append to bounded in-memory queues and return at once;
 * one loop, driven by the injected clock, writes batches with at most one store call in flight.
 * A failed batch stays at the front of its queue, so an outage loses nothing until the buffer is
 * full, and then only the newest rows, each one counted.
 */

export type TelemetryTable = 'chat' | 'ping' | 'system';
type InsertOp = 'insertChatLogs' | 'insertPings' | 'insertSystemSamples';

export interface TelemetryWriterOptions {
  store: Store;
  clock: Clock;
  metrics: Metrics;
  /** the `database` log category */
  log: Logger;
  /** rows kept across all tables while the database is slow or away (config telemetry.bufferRows) */
  bufferRows?: number;
  /** rows per insert call (config telemetry.batchRows) */
  batchRows?: number;
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
}

export interface TelemetryHealth {
  ok: boolean;
  detail?: string;
}

/** One table's queue and how to insert into it. */
class Lane<Row> {
  readonly queue = new RowQueue<Row>();
  dropped = 0;
  /** consecutive refusals of the front batch by a reachable database */
  refusals = 0;
  /** front rows still to be written one at a time, to find the row the database refuses */
  single = 0;

  constructor(
    readonly table: TelemetryTable,
    readonly op: InsertOp,
    private readonly insert: (rows: readonly Row[]) => Promise<void>,
  ) {}

  /** Writes up to `n` front rows; they stay queued until the caller commits them. */
  async writeFront(n: number): Promise<number> {
    const rows = this.queue.peek(n);
    await this.insert(rows);
    return rows.length;
  }
}

type AnyLane = Lane<ChatLogRow> | Lane<PingRow> | Lane<SystemSampleRow>;

interface Outage {
  since: number;
  kind: 'unreachable' | 'refused';
  error: string;
  droppedAtStart: number;
}

interface Recovery {
  kind: Outage['kind'];
  downMs: number;
  rows: number;
  droppedDuringOutage: number;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Lets socket reads and timers run between two batches of a long backlog. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class TelemetryWriter {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly bufferRows: number;
  private readonly batchRows: number;
  private readonly flushMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly stallMs: number;
  private readonly refusalLimit: number;

  private readonly chatLane: Lane<ChatLogRow>;
  private readonly pingLane: Lane<PingRow>;
  private readonly systemLane: Lane<SystemSampleRow>;
  private readonly lanes: readonly AnyLane[];
  /** round-robin position, so a chat backlog does not starve pings */
  private nextLaneIndex = 0;

  /** rows queued across all lanes, including the batch being written */
  private count = 0;
  private started = false;
  private closed = false;
  /** set when close() gave up: the loop stops after the write in flight */
  private abandoned = false;
  private closing: Promise<void> | null = null;
  private flushTimer: unknown = null;
  private retryTimer: unknown = null;
  private running: Promise<void> | null = null;
  private inFlightSince: number | null = null;
  private backoffMs = 0;
  private outage: Outage | null = null;
  private recovery: Recovery | null = null;
  /** total dropped when the current buffer-full episode began */
  private overflowDroppedAtStart: number | null = null;

  constructor(opts: TelemetryWriterOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.bufferRows = opts.bufferRows ?? 10_000;
    this.batchRows = Math.max(1, opts.batchRows ?? 500);
    this.flushMs = opts.flushMs ?? 1_000;
    this.minBackoffMs = opts.minBackoffMs ?? 1_000;
    this.maxBackoffMs = Math.max(this.minBackoffMs, opts.maxBackoffMs ?? 30_000);
    this.stallMs = opts.stallMs ?? 30_000;
    this.refusalLimit = Math.max(1, opts.refusalLimit ?? 3);
    const store = this.store;
    this.chatLane = new Lane<ChatLogRow>('chat', 'insertChatLogs', (rows) => store.insertChatLogs(rows));
    this.pingLane = new Lane<PingRow>('ping', 'insertPings', (rows) => store.insertPings(rows));
    this.systemLane = new Lane<SystemSampleRow>('system', 'insertSystemSamples', (rows) =>
      store.insertSystemSamples(rows),
    );
    this.lanes = [this.chatLane, this.pingLane, this.systemLane];
    this.metrics.telemetryBuffered.set(0);
  }

  // ---- producers: O(1), never await, never throw --------------------------------------------

  chat(row: ChatLogRow): void {
    this.append(this.chatLane, row);
  }

  ping(row: PingRow): void {
    this.append(this.pingLane, row);
  }

  system(row: SystemSampleRow): void {
    this.append(this.systemLane, row);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Starts the flush timer (every flushMs on the clock). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.flushTimer = this.clock.setTimeout(this.tick, this.flushMs);
  }

  /**
   * Writes what is buffered (joining a write already in flight), batchRows per call, in arrival
   * order per table. Resolves when the buffer is empty or at the first failed write (the rows
   * stay buffered and are retried with backoff). Never rejects.
   */
  async flush(): Promise<void> {
    await this.run();
    // A row appended while the loop was finishing would otherwise wait for the next tick.
    if (this.count > 0 && this.outage === null && !this.abandoned) await this.run();
  }

  /**
   * Stops the timers and makes a last effort to write everything, retrying with backoff, until
   * `deadlineMs` has passed on the clock. Rows still unwritten then are reported in the log.
   * Rows offered after close are dropped and counted. Never rejects.
   */
  close(deadlineMs = 5_000): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closed = true;
    this.started = false;
    this.clearTimer('flushTimer');
    this.clearTimer('retryTimer');
    this.closing = this.finalFlush(deadlineMs);
    return this.closing;
  }

  // ---- observation --------------------------------------------------------------------------

  /** Rows waiting to be written, across all tables (including a batch being written). */
  get buffered(): number {
    return this.count;
  }

  /** Rows dropped per table: buffer full, refused one by one by the database, or offered after close. */
  get dropped(): Record<TelemetryTable, number> {
    return { chat: this.chatLane.dropped, ping: this.pingLane.dropped, system: this.systemLane.dropped };
  }

  /** For /readyz: not ok while the last write failed or a write is stalled. */
  get healthy(): TelemetryHealth {
    const outage = this.outage;
    if (outage !== null) {
      const since = new Date(outage.since).toISOString();
      const detail =
        outage.kind === 'unreachable'
          ? `database unreachable since ${since}, ${this.count} rows buffered`
          : `database refusing telemetry rows since ${since} (${outage.error}), ${this.count} rows buffered`;
      return { ok: false, detail };
    }
    const pendingSince = this.inFlightSince;
    if (pendingSince !== null && this.clock.now() - pendingSince >= this.stallMs) {
      return {
        ok: false,
        detail: `database write pending since ${new Date(pendingSince).toISOString()}, ${this.count} rows buffered`,
      };
    }
    return { ok: true };
  }

  // ---- internals ----------------------------------------------------------------------------

  private append<Row>(lane: Lane<Row>, row: Row): void {
    try {
      if (this.closed || this.count >= this.bufferRows) {
        this.dropNew(lane);
        return;
      }
      lane.queue.push(row);
      this.count++;
      this.metrics.telemetryBuffered.set(this.count);
    } catch {
      // Producers sit on the chat path: telemetry trouble must never surface there.
    }
  }

  private dropNew(lane: Pick<AnyLane, 'table' | 'dropped'>): void {
    lane.dropped++;
    this.metrics.telemetryDropped.inc({ table: lane.table });
    if (this.closed || this.overflowDroppedAtStart !== null) return;
    // Once per episode, not per row: the counter carries the exact number.
    this.overflowDroppedAtStart = this.totalDropped() - 1;
    this.log.warn(
      { table: lane.table, bufferRows: this.bufferRows },
      'telemetry buffer full: new rows are dropped and counted until the database catches up',
    );
  }

  private totalDropped(): number {
    return this.chatLane.dropped + this.pingLane.dropped + this.systemLane.dropped;
  }

  private readonly tick = (): void => {
    this.flushTimer = this.clock.setTimeout(this.tick, this.flushMs);
    // While a retry is scheduled the backoff decides when to try again, not the tick.
    if (this.retryTimer === null && this.count > 0) void this.run();
  };

  /** Starts the write loop unless it runs already; the one loop is what keeps one write in flight. */
  private run(): Promise<void> {
    if (this.running === null && this.count > 0 && !this.abandoned) {
      this.running = this.drain().finally(() => {
        this.running = null;
      });
    }
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    try {
      while (this.count > 0 && !this.abandoned) {
        const lane = this.nextLane();
        if (lane === undefined) break;
        if ((await this.writeOnce(lane)) === 'failed') break;
        if (this.count > 0) await yieldToEventLoop();
      }
    } catch (err) {
      // Defensive: a bug here must not become an unhandled rejection that kills the process.
      this.log.error({ err }, 'telemetry write loop failed');
    } finally {
      this.reportRecovery();
    }
  }

  private nextLane(): AnyLane | undefined {
    const n = this.lanes.length;
    for (let i = 0; i < n; i++) {
      const index = (this.nextLaneIndex + i) % n;
      const lane = this.lanes[index];
      if (lane !== undefined && lane.queue.length > 0) {
        this.nextLaneIndex = (index + 1) % n;
        return lane;
      }
    }
    return undefined;
  }

  private async writeOnce(lane: AnyLane): Promise<'ok' | 'retry' | 'failed'> {
    const size = Math.min(lane.single > 0 ? 1 : this.batchRows, lane.queue.length);
    this.inFlightSince = this.clock.now();
    try {
      const written = await lane.writeFront(size);
      this.inFlightSince = null;
      this.succeeded(lane, written);
      return 'ok';
    } catch (err) {
      this.metrics.storeErrors.inc({ op: lane.op });
      const reachable = await this.probe();
      this.inFlightSince = null;
      if (reachable && ++lane.refusals >= this.refusalLimit) {
        lane.refusals = 0;
        if (size > 1) {
          // Find the bad row: the same rows, in the same order, one per call.
          lane.single = size;
          this.log.warn(
            { table: lane.table, rows: size, err },
            'database refuses a telemetry batch: retrying its rows one by one',
          );
        } else {
          this.discardFront(lane, err);
        }
        return 'retry';
      }
      this.failed(reachable ? 'refused' : 'unreachable', err);
      return 'failed';
    }
  }

  /** Tells "database away" from "database refuses these rows". */
  private async probe(): Promise<boolean> {
    try {
      await this.store.ping();
      return true;
    } catch {
      this.metrics.storeErrors.inc({ op: 'ping' });
      return false;
    }
  }

  private succeeded(lane: AnyLane, written: number): void {
    lane.refusals = 0;
    if (lane.single > 0) lane.single = Math.max(0, lane.single - written);
    this.commit(lane, written);
    if (this.outage !== null) {
      this.recovery = {
        kind: this.outage.kind,
        downMs: this.clock.now() - this.outage.since,
        rows: 0,
        droppedDuringOutage: this.totalDropped() - this.outage.droppedAtStart,
      };
      this.outage = null;
      this.backoffMs = 0;
      this.clearTimer('retryTimer');
    }
    if (this.recovery !== null) this.recovery.rows += written;
  }

  private commit(lane: AnyLane, n: number): void {
    lane.queue.drop(n);
    this.count -= n;
    this.metrics.telemetryBuffered.set(this.count);
    this.metrics.telemetryWritten.inc({ table: lane.table }, n);
    if (this.overflowDroppedAtStart !== null && this.count < this.bufferRows) {
      this.log.info(
        { dropped: this.totalDropped() - this.overflowDroppedAtStart, buffered: this.count },
        'telemetry buffer has room again',
      );
      this.overflowDroppedAtStart = null;
    }
  }

  /** A single row a reachable database refused `refusalLimit` times: drop it and say so. */
  private discardFront(lane: AnyLane, err: unknown): void {
    lane.queue.drop(1);
    if (lane.single > 0) lane.single--;
    this.count--;
    lane.dropped++;
    this.metrics.telemetryBuffered.set(this.count);
    this.metrics.telemetryDropped.inc({ table: lane.table });
    this.log.error({ table: lane.table, err }, 'database refused a telemetry row repeatedly: row dropped');
  }

  private failed(kind: Outage['kind'], err: unknown): void {
    this.reportRecovery();
    if (this.outage === null) {
      this.outage = { since: this.clock.now(), kind, error: messageOf(err), droppedAtStart: this.totalDropped() };
      this.backoffMs = this.minBackoffMs;
      // One warning per outage; retries are visible in msgbot_store_errors_total.
      this.log.warn(
        { err, buffered: this.count },
        kind === 'unreachable'
          ? 'database unreachable: telemetry is buffered and retried with backoff'
          : 'database refuses telemetry rows: retrying with backoff',
      );
    } else {
      this.outage.kind = kind;
      this.outage.error = messageOf(err);
      this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
    }
    if (this.started && !this.closed) {
      this.clearTimer('retryTimer');
      this.retryTimer = this.clock.setTimeout(this.retry, this.backoffMs);
    }
  }

  private readonly retry = (): void => {
    this.retryTimer = null;
    void this.run();
  };

  private reportRecovery(): void {
    const recovery = this.recovery;
    if (recovery === null) return;
    this.recovery = null;
    this.log.info(
      {
        rows: recovery.rows,
        downMs: recovery.downMs,
        dropped: recovery.droppedDuringOutage,
        buffered: this.count,
      },
      recovery.kind === 'unreachable'
        ? `database reachable again: ${recovery.rows} telemetry rows flushed`
        : `database accepts telemetry rows again: ${recovery.rows} rows flushed`,
    );
  }

  private clearTimer(which: 'flushTimer' | 'retryTimer'): void {
    const id = this[which];
    if (id === null) return;
    this.clock.clearTimeout(id);
    this[which] = null;
  }

  private async finalFlush(deadlineMs: number): Promise<void> {
    const stop = new AbortController();
    const deadline = sleep(this.clock, deadlineMs, stop.signal).then(
      () => 'deadline' as const,
      () => 'done' as const,
    );
    const work = (async () => {
      while (this.count > 0 && !stop.signal.aborted) {
        await this.run();
        if (this.count === 0 || stop.signal.aborted) break;
        // The database is away: wait out the backoff, but never past the deadline.
        await sleep(this.clock, this.backoffMs || this.minBackoffMs, stop.signal).catch(() => undefined);
      }
      return 'done' as const;
    })();
    const outcome = await Promise.race([work, deadline]);
    stop.abort();
    if (outcome === 'deadline') this.abandoned = true;
    if (this.count > 0) {
      this.log.warn(
        {
          unwritten: {
            chat: this.chatLane.queue.length,
            ping: this.pingLane.queue.length,
            system: this.systemLane.queue.length,
          },
          dropped: this.dropped,
        },
        `telemetry writer closed with ${this.count} rows not written`,
      );
    } else {
      this.log.debug({ dropped: this.dropped }, 'telemetry writer closed, everything written');
    }
  }
}
