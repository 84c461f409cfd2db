import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/types.js';

const DAY_MS = 86_400_000;

export interface RetentionJobOptions {
  store: Pick<Store, 'pruneTelemetry'>;
  clock: Clock;
  /** the `database` log category */
  log: Logger;
  /** config telemetry.retentionDays */
  retentionDays: number;
  /** how often to prune; once an hour keeps each delete small */
  intervalMs?: number;
  metrics?: Pick<Metrics, 'storeErrors'>;
}

/**
 * PROTOCOL §8.4 [REC], §9.49: deletes kb_ping_monitor and kb_system_monitor rows older than
 * `retentionDays`, once at start and then every hour. Database trouble is logged and the next
 * run tries again; nothing here ever throws into the gateway.
 */
export class RetentionJob {
  private readonly opts: RetentionJobOptions;
  private readonly intervalMs: number;
  private timer: unknown = null;
  private running: Promise<void> | null = null;

  constructor(opts: RetentionJobOptions) {
    this.opts = opts;
    this.intervalMs = opts.intervalMs ?? 3_600_000;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = this.opts.clock.setTimeout(this.tick, this.intervalMs);
    void this.runOnce();
  }

  stop(): void {
    if (this.timer === null) return;
    this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** One prune; joins a prune still running (a slow DELETE must not pile up). Never rejects. */
  runOnce(): Promise<void> {
    if (this.running === null) {
      this.running = this.prune().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private readonly tick = (): void => {
    this.timer = this.opts.clock.setTimeout(this.tick, this.intervalMs);
    void this.runOnce();
  };

  private async prune(): Promise<void> {
    const before = this.opts.clock.now() - this.opts.retentionDays * DAY_MS;
    try {
      const deleted = await this.opts.store.pruneTelemetry(before);
      const level = deleted.pings + deleted.samples > 0 ? 'info' : 'debug';
      this.opts.log[level]({ ...deleted, before: new Date(before).toISOString() }, 'old telemetry rows deleted');
    } catch (err) {
      this.opts.metrics?.storeErrors.inc({ op: 'pruneTelemetry' });
      this.opts.log.warn({ err }, 'telemetry retention failed; retried at the next run');
    }
  }
}
