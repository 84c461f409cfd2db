import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/types.js';
import type { AnyLane } from './lane.js';
import type { OutageTracker } from './outage.js';
import type { RowBuffer } from './row-buffer.js';

export interface SliceWriterOptions {
  store: Store;
  clock: Clock;
  metrics: Metrics;
  /** the `database` log category */
  log: Logger;
  buffer: RowBuffer;
  outage: OutageTracker;
  /** rows per insert call while the backlog is small */
  sliceRows: number;
  /** rows per insert call at most, however long the backlog */
  maxRows: number;
  /**
   * Consecutive failures of one batch, while the database answers `ping()`, after which the batch
   * is retried row by row and a row the database keeps refusing is dropped (and counted), so one
   * bad row (e.g. too long for an operator's column) cannot hold up all telemetry forever.
   */
  refusalLimit: number;
}

/**
 * A backlog is caught up over about this many event-loop turns: a slice grows from sliceRows
 * toward maxRows with the backlog, so the rows written per turn keep pace with the rows arriving
 * per turn when turns get long under load (a fixed slice per turn would fall behind).
 */
export const CATCH_UP_TURNS = 8;

/** Rows in the next insert call of a lane holding `backlog` rows. */
export function sliceSize(backlog: number, sliceRows: number, maxRows: number): number {
  return Math.min(backlog, maxRows, Math.max(sliceRows, Math.ceil(backlog / CATCH_UP_TURNS)));
}

/** How one write ended: written, failed but worth another try at once, or failed (wait for the backoff). */
export type WriteOutcome = 'ok' | 'retry' | 'failed';

/**
 * Writes one slice of one table: the front rows of its lane in one insert call, committed to the
 * buffer only once the database took them, so a failed slice stays at the front in its order.
 * Tells "database away" from "database refuses these rows" and hunts down a refused row.
 */
export class SliceWriter {
  /** when the write in flight started; null while none is */
  inFlightSince: number | null = null;

  constructor(private readonly o: SliceWriterOptions) {}

  async write(lane: AnyLane): Promise<WriteOutcome> {
    const backlog = lane.queue.length;
    const size = lane.single > 0 ? Math.min(1, backlog) : sliceSize(backlog, this.o.sliceRows, this.o.maxRows);
    this.inFlightSince = this.o.clock.now();
    try {
      const written = await lane.writeFront(size);
      this.inFlightSince = null;
      lane.refusals = 0;
      this.o.buffer.commit(lane, written);
      this.o.outage.succeeded(written, this.o.buffer.totalDropped());
      return 'ok';
    } catch (err) {
      this.o.metrics.storeErrors.inc({ op: lane.op });
      const reachable = await this.probe();
      this.inFlightSince = null;
      if (reachable && ++lane.refusals >= this.o.refusalLimit) {
        lane.refusals = 0;
        if (size > 1) {
          // Find the bad row: the same rows, in the same order, one per call.
          lane.single = size;
          this.o.log.warn(
            { table: lane.table, rows: size, err },
            'database refuses a telemetry batch: retrying its rows one by one',
          );
        } else {
          this.o.buffer.discardFront(lane, err);
        }
        return 'retry';
      }
      this.o.outage.failed(
        reachable ? 'refused' : 'unreachable',
        err,
        this.o.buffer.count,
        this.o.buffer.totalDropped(),
      );
      return 'failed';
    }
  }

  /** Tells "database away" from "database refuses these rows". */
  private async probe(): Promise<boolean> {
    try {
      await this.o.store.ping();
      return true;
    } catch {
      this.o.metrics.storeErrors.inc({ op: 'ping' });
      return false;
    }
  }
}
