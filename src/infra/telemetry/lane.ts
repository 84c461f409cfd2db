import type { ChatLogRow, PingRow, SystemSampleRow } from '../store/types.js';
import { RowQueue } from './row-queue.js';

export type TelemetryTable = 'chat' | 'ping' | 'system';
export type InsertOp = 'insertChatLogs' | 'insertPings' | 'insertSystemSamples';

/** One table's queue, its write state, and how to insert into it. */
export class Lane<Row> {
  readonly queue = new RowQueue<Row>();
  dropped = 0;
  /** consecutive refusals of the front batch by a reachable database */
  refusals = 0;
  /** front rows still to be written one at a time, to find the row the database refuses */
  single = 0;
  /**
   * Front rows a flush asked for (the flush tick, `flush()`, a retry, close): the write loop goes
   * on while any are left, even when they do not fill a slice. Rows behind them wait for a full
   * slice or the next flush.
   */
  due = 0;

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

  /** The front `n` rows left the queue (written or dropped). */
  removed(n: number): void {
    this.queue.drop(n);
    this.due = Math.max(0, this.due - n);
    if (this.single > 0) this.single = Math.max(0, this.single - n);
  }
}

export type AnyLane = Lane<ChatLogRow> | Lane<PingRow> | Lane<SystemSampleRow>;
