import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ChatLogRow, PingRow, Store, SystemSampleRow } from '../store/types.js';
import { type AnyLane, Lane, type TelemetryTable } from './lane.js';

export interface RowBufferOptions {
  store: Store;
  metrics: Metrics;
  /** the `database` log category */
  log: Logger;
  /** rows kept across all tables (config telemetry.bufferRows) */
  bufferRows: number;
}

/**
 * The telemetry rows waiting to be written: one FIFO lane per table, bounded across all of them
 * (DESIGN.md §4 "Database trouble never stops chat traffic"). When full, only the newest rows are
 * dropped, each one counted, with one warning per episode.
 */
export class RowBuffer {
  readonly chat: Lane<ChatLogRow>;
  readonly ping: Lane<PingRow>;
  readonly system: Lane<SystemSampleRow>;
  readonly lanes: readonly AnyLane[];
  /** rows queued across all lanes, including the slice being written */
  count = 0;
  /** set by close: rows offered afterwards are dropped and counted */
  closed = false;

  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly bufferRows: number;
  /** round-robin position, so a chat backlog does not starve pings */
  private nextLaneIndex = 0;
  /** total dropped when the current buffer-full episode began */
  private overflowDroppedAtStart: number | null = null;

  constructor(opts: RowBufferOptions) {
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.bufferRows = opts.bufferRows;
    const store = opts.store;
    this.chat = new Lane<ChatLogRow>('chat', 'insertChatLogs', (rows) => store.insertChatLogs(rows));
    this.ping = new Lane<PingRow>('ping', 'insertPings', (rows) => store.insertPings(rows));
    this.system = new Lane<SystemSampleRow>('system', 'insertSystemSamples', (rows) => store.insertSystemSamples(rows));
    this.lanes = [this.chat, this.ping, this.system];
    this.metrics.telemetryBuffered.set(0);
  }

  /** Queues a row, or drops and counts it when closed or full. True when queued. */
  append<Row>(lane: Lane<Row>, row: Row): boolean {
    if (this.closed || this.count >= this.bufferRows) {
      this.dropNew(lane);
      return false;
    }
    lane.queue.push(row);
    this.count++;
    this.metrics.telemetryBuffered.set(this.count);
    return true;
  }

  /** Rows dropped per table: buffer full, refused one by one by the database, or offered after close. */
  get dropped(): Record<TelemetryTable, number> {
    return { chat: this.chat.dropped, ping: this.ping.dropped, system: this.system.dropped };
  }

  totalDropped(): number {
    return this.chat.dropped + this.ping.dropped + this.system.dropped;
  }

  /** Rows still queued per table. */
  unwritten(): Record<TelemetryTable, number> {
    return { chat: this.chat.queue.length, ping: this.ping.queue.length, system: this.system.queue.length };
  }

  /** Makes every row queued now due: the write loop goes on until they are written (or it fails). */
  markDue(): void {
    for (const lane of this.lanes) lane.due = lane.queue.length;
  }

  /** Whether `lane` has a write waiting: due rows, rows of a refused batch, or a full slice. */
  ready(lane: AnyLane, sliceRows: number): boolean {
    const n = lane.queue.length;
    return n > 0 && (lane.due > 0 || lane.single > 0 || n >= sliceRows);
  }

  /** The next lane with a write waiting, taking the tables in turn. */
  nextLane(sliceRows: number): AnyLane | undefined {
    const n = this.lanes.length;
    for (let i = 0; i < n; i++) {
      const index = (this.nextLaneIndex + i) % n;
      const lane = this.lanes[index];
      if (lane !== undefined && this.ready(lane, sliceRows)) {
        this.nextLaneIndex = (index + 1) % n;
        return lane;
      }
    }
    return undefined;
  }

  hasWork(sliceRows: number): boolean {
    return this.lanes.some((lane) => this.ready(lane, sliceRows));
  }

  /** The database took the front `n` rows of `lane`. */
  commit(lane: AnyLane, n: number): void {
    lane.removed(n);
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

  /** A single row a reachable database refused repeatedly: drop it and say so. */
  discardFront(lane: AnyLane, err: unknown): void {
    lane.removed(1);
    this.count--;
    lane.dropped++;
    this.metrics.telemetryBuffered.set(this.count);
    this.metrics.telemetryDropped.inc({ table: lane.table });
    this.log.error({ table: lane.table, err }, 'database refused a telemetry row repeatedly: row dropped');
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
}
