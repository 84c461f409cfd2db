import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

export interface TelemetryHealth {
  ok: boolean;
  detail?: string;
}

export type OutageKind = 'unreachable' | 'refused';

interface Outage {
  since: number;
  kind: OutageKind;
  error: string;
  droppedAtStart: number;
}

interface Recovery {
  kind: OutageKind;
  downMs: number;
  rows: number;
  droppedDuringOutage: number;
}

export interface OutageTrackerOptions {
  clock: Clock;
  /** the `database` log category */
  log: Logger;
  /** first retry delay after a failed write; doubles up to maxBackoffMs */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** a write still pending after this long makes `health` report the database as stalled */
  stallMs: number;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whether the database takes telemetry writes (DESIGN.md §4 "Database trouble never stops chat
 * traffic"): the outage in progress and its retry backoff, one warning when it begins, one line
 * when it ends (with the rows flushed since), and the health /readyz shows.
 */
export class OutageTracker {
  /** the current retry delay; 0 while the database takes writes */
  backoffMs = 0;
  private outage: Outage | null = null;
  private recovery: Recovery | null = null;

  constructor(private readonly o: OutageTrackerOptions) {}

  /** The last write failed: retries wait for the backoff. */
  get down(): boolean {
    return this.outage !== null;
  }

  /** A write of `rows` succeeded; ends an outage in progress (reported when the write loop ends). */
  succeeded(rows: number, totalDropped: number): void {
    const outage = this.outage;
    if (outage !== null) {
      this.recovery = {
        kind: outage.kind,
        downMs: this.o.clock.now() - outage.since,
        rows: 0,
        droppedDuringOutage: totalDropped - outage.droppedAtStart,
      };
      this.outage = null;
      this.backoffMs = 0;
    }
    if (this.recovery !== null) this.recovery.rows += rows;
  }

  /** A write failed: starts an outage (one warning) or doubles the backoff of the one in progress. */
  failed(kind: OutageKind, err: unknown, buffered: number, totalDropped: number): void {
    this.reportRecovery(buffered);
    if (this.outage === null) {
      this.outage = { since: this.o.clock.now(), kind, error: messageOf(err), droppedAtStart: totalDropped };
      this.backoffMs = this.o.minBackoffMs;
      // One warning per outage; retries are visible in msgbot_store_errors_total.
      this.o.log.warn(
        { err, buffered },
        kind === 'unreachable'
          ? 'database unreachable: telemetry is buffered and retried with backoff'
          : 'database refuses telemetry rows: retrying with backoff',
      );
    } else {
      this.outage.kind = kind;
      this.outage.error = messageOf(err);
      this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs);
    }
  }

  /** Logs the end of the last outage, once, if there was one. */
  reportRecovery(buffered: number): void {
    const recovery = this.recovery;
    if (recovery === null) return;
    this.recovery = null;
    this.o.log.info(
      { rows: recovery.rows, downMs: recovery.downMs, dropped: recovery.droppedDuringOutage, buffered },
      recovery.kind === 'unreachable'
        ? `database reachable again: ${recovery.rows} telemetry rows flushed`
        : `database accepts telemetry rows again: ${recovery.rows} rows flushed`,
    );
  }

  /** For /readyz: not ok while the last write failed or the write in flight (since `pendingSince`) is stalled. */
  health(buffered: number, pendingSince: number | null): TelemetryHealth {
    const outage = this.outage;
    if (outage !== null) {
      const since = new Date(outage.since).toISOString();
      const detail =
        outage.kind === 'unreachable'
          ? `database unreachable since ${since}, ${buffered} rows buffered`
          : `database refusing telemetry rows since ${since} (${outage.error}), ${buffered} rows buffered`;
      return { ok: false, detail };
    }
    if (pendingSince !== null && this.o.clock.now() - pendingSince >= this.o.stallMs) {
      return {
        ok: false,
        detail: `database write pending since ${new Date(pendingSince).toISOString()}, ${buffered} rows buffered`,
      };
    }
    return { ok: true };
  }
}
