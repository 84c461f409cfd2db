import { type Clock, sleep } from '../clock.js';
import type { Logger } from '../logger.js';
import type { OutageTracker } from './outage.js';
import type { RowBuffer } from './row-buffer.js';
import type { SliceScheduler } from './slice-scheduler.js';

export interface FinalFlushOptions {
  clock: Clock;
  /** the `database` log category */
  log: Logger;
  buffer: RowBuffer;
  scheduler: SliceScheduler;
  outage: OutageTracker;
  minBackoffMs: number;
  /** give up after this long on the clock */
  deadlineMs: number;
}

/**
 * The last effort on close (DESIGN.md §2 "Gateway": on SIGTERM … flushes telemetry): writes
 * everything buffered, slice by slice, retrying with backoff while the database is away, until
 * `deadlineMs` has passed on the clock. Rows still unwritten then are reported in the log, and the
 * write loop stops after the write in flight. Never rejects.
 */
export async function finalFlush(o: FinalFlushOptions): Promise<void> {
  const { buffer, scheduler } = o;
  const stop = new AbortController();
  const deadline = sleep(o.clock, o.deadlineMs, stop.signal).then(
    () => 'deadline' as const,
    () => 'done' as const,
  );
  const work = (async () => {
    while (buffer.count > 0 && !stop.signal.aborted) {
      await scheduler.flushDue();
      if (buffer.count === 0 || stop.signal.aborted) break;
      // The database is away: wait out the backoff, but never past the deadline.
      await sleep(o.clock, o.outage.backoffMs || o.minBackoffMs, stop.signal).catch(() => undefined);
    }
    return 'done' as const;
  })();
  const outcome = await Promise.race([work, deadline]);
  stop.abort();
  if (outcome === 'deadline') scheduler.abandoned = true;
  if (buffer.count > 0) {
    o.log.warn(
      { unwritten: buffer.unwritten(), dropped: buffer.dropped },
      `telemetry writer closed with ${buffer.count} rows not written`,
    );
  } else {
    o.log.debug({ dropped: buffer.dropped }, 'telemetry writer closed, everything written');
  }
}
