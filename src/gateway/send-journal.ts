import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Outbox, OutboxEntry, OutboxOutcome, OutboxRecord } from '../actors/outbox.js';
import type { RunSendRecord, SchedulerRecoveryPort } from '../actors/scheduler-ports.js';
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import { Repeating } from './repeating.js';
import type { SendRecord } from './send-outcomes.js';

/**
 * The gateway's side of the send record (DESIGN.md §2 outbound path: waits for the phone while
 * it is away, bounded and durable). The Sender stores API and scheduled sends here when they are
 * queued and their outcomes when they settle; a write that fails is logged and counted and the
 * send goes on in memory (DESIGN.md §4: database trouble never stops traffic). Handler replies
 * never come here.
 *
 * A send failed `shutdown` (graceful stop) is not settled: it stays queued, so the next start
 * sends it, as it does after a crash.
 */
export interface SendJournalOptions {
  outbox: Outbox;
  /** this gateway (docs/decisions.md "Durable sends"): whose queued sends and runs these are */
  owner: string;
  clock: Clock;
  metrics: Metrics;
  log: Logger;
  /** outbound.holdMs: a queued send older than this at start has expired */
  holdMs: number;
  /** outbound.recordKeepMs: settled rows are pruned after this */
  keepMs: number;
}

/** The send record for the gateway's options; none without an outbox. */
export function sendJournalOf(
  outbox: Outbox | undefined,
  owner: string | undefined,
  config: Pick<Config, 'dataDir' | 'outbound'>,
  deps: Pick<SendJournalOptions, 'clock' | 'metrics' | 'log'>,
): SendJournal | undefined {
  if (outbox === undefined) return undefined;
  return new SendJournal({
    outbox,
    owner: owner ?? defaultOwner(config.dataDir),
    holdMs: config.outbound.holdMs,
    keepMs: config.outbound.recordKeepMs,
    ...deps,
  });
}

/** Without an instance id (a gateway built in code): one per host and data folder. The daemon keeps one in the data folder (instance-id.ts). */
export function defaultOwner(dataDir: string): string {
  return `${hostname()}:${resolve(dataDir)}`.slice(0, 255);
}

export class SendJournal {
  private readonly pruning: Repeating;

  /** the last asynchronous (MySQL) write while it is in flight; writes run in call order */
  private lastWrite: Promise<void> | undefined;

  constructor(private readonly o: SendJournalOptions) {
    this.pruning = new Repeating(o.clock, Math.min(3_600_000, o.keepMs), () =>
      o.outbox
        .prune(o.clock.now() - o.keepMs)
        .catch((error: unknown) => o.log.warn({ err: error }, 'send record prune failed')),
    );
  }

  /**
   * The writes started so far, while any is in flight (undefined when all have settled, always on
   * SQLite). The durable mailbox holds socket writes until this settles too, so a delivered send's
   * outcome is stored before its bytes leave (DESIGN.md §2).
   */
  inFlight(): Promise<void> | undefined {
    return this.lastWrite;
  }

  get owner(): string {
    return this.o.owner;
  }

  /** Stores a queued send; resolves once written (or failed, logged). Never rejects. */
  add(entry: Omit<OutboxEntry, 'owner'>): Promise<void> {
    return this.write(() => this.o.outbox.add({ ...entry, owner: this.o.owner }), entry.id);
  }

  /** Stores an outcome; `shutdown` is not one (the send waits for the next start). Never rejects. */
  settle(id: string, outcome: OutboxOutcome): Promise<void> {
    if (outcome.status === 'failed' && outcome.reason === 'shutdown') return Promise.resolve();
    return this.write(() => this.o.outbox.settle(id, outcome), id);
  }

  /** `GET /messages/<id>` for an id the in-memory outcomes do not know (e.g. after a restart). */
  async get(id: string): Promise<SendRecord | undefined> {
    let r: OutboxRecord | undefined;
    try {
      r = await this.o.outbox.get(id);
    } catch (error) {
      this.o.metrics.outbox.inc({ event: 'read-error' });
      this.o.log.error({ err: error, sendId: id }, 'send record read failed');
      return undefined;
    }
    if (r === undefined) return undefined;
    const record: SendRecord = {
      id: r.id,
      kind: r.kind,
      botName: r.botName,
      channelId: r.channelId,
      deviceId: r.deviceId,
      status: r.status,
      acceptedAt: r.acceptedAt,
    };
    if (r.reason !== undefined) record.reason = r.reason;
    if (r.detail !== undefined) record.detail = r.detail;
    if (r.settledAt !== undefined) record.at = r.settledAt;
    return record;
  }

  /**
   * Start-up: this gateway's API sends still queued are handed to `resubmit` in their order when
   * younger than outbound.holdMs (they wait for the rest of their hold); older ones fail `expired`.
   * Scheduled sends are left to the scheduler, which finishes their runs, and a handler's
   * `ctx.send` whose message is being replayed (`replayed` trace ids) to that handler, which sends
   * it again (no duplicates).
   */
  async recover(
    resubmit: (record: OutboxRecord) => Promise<void>,
    replayed: ReadonlySet<string> = new Set(),
  ): Promise<{ resubmitted: number; expired: number; replayed: number }> {
    const counts = { resubmitted: 0, expired: 0, replayed: 0 };
    this.pruning.start();
    let queued: OutboxRecord[];
    try {
      queued = await this.o.outbox.queued();
    } catch (error) {
      this.o.metrics.outbox.inc({ event: 'read-error' });
      this.o.log.error({ err: error }, 'send record unreadable at start; queued sends are not re-sent');
      return counts;
    }
    const now = this.o.clock.now();
    for (const r of queued) {
      if (r.kind !== 'api' || r.owner !== this.o.owner) continue;
      if (replayed.has(r.traceId)) {
        counts.replayed++;
        const detail = 'its message is replayed; the handler sends it again';
        void this.settle(r.id, { status: 'failed', reason: 'interrupted', detail, at: now });
        continue;
      }
      if (now - r.acceptedAt < this.o.holdMs) {
        counts.resubmitted++;
        // one after another: the lookups of one must not let a later one overtake it (MySQL)
        await resubmit(r);
        continue;
      }
      counts.expired++;
      const detail = 'the gateway restarted after outbound.holdMs';
      void this.settle(r.id, { status: 'failed', reason: 'expired', detail, at: now });
      this.o.log.warn(
        { sendId: r.id, traceId: r.traceId, botName: r.botName, deviceId: r.deviceId, ageMs: now - r.acceptedAt },
        'send expired before the restart could re-send it',
      );
    }
    this.o.metrics.outbox.inc({ event: 'resubmitted' }, counts.resubmitted);
    this.o.metrics.outbox.inc({ event: 'expired' }, counts.expired);
    this.o.metrics.outbox.inc({ event: 'left-to-replay' }, counts.replayed);
    this.o.log.info(counts, 'send record recovered; re-sent sends wait for their phones');
    return counts;
  }

  /**
   * Start-up: this gateway's API sends of the replayed messages (`ctx.send`s) that were delivered
   * before the restart, so the replayed handlers do not send them again (ReplayedSends). A read
   * that fails is logged and counted; those sends then go again.
   */
  async deliveredOf(traceIds: ReadonlySet<string>): Promise<OutboxRecord[]> {
    if (traceIds.size === 0) return [];
    try {
      const records = await this.o.outbox.deliveredOf([...traceIds]);
      return records.filter((r) => r.kind === 'api' && r.owner === this.o.owner);
    } catch (error) {
      this.o.metrics.outbox.inc({ event: 'read-error' });
      this.o.log.error({ err: error }, 'send record unreadable at start; replayed handlers may send again');
      return [];
    }
  }

  /** The scheduler's view of a run's sends (PROTOCOL §7.12, docs/decisions.md "Durable sends"). */
  recoveryPort(): SchedulerRecoveryPort {
    return {
      sendsOfRun: async (scheduleId, scheduledAt) =>
        (await this.o.outbox.ofRun(scheduleId, scheduledAt)).flatMap((r): RunSendRecord[] =>
          r.component === undefined
            ? []
            : [
                {
                  id: r.id,
                  component: r.component,
                  status: r.status,
                  ...(r.reason === undefined ? {} : { reason: r.reason }),
                  ...(r.detail === undefined ? {} : { detail: r.detail }),
                  ours: r.owner === this.o.owner,
                },
              ],
        ),
      abandon: async (ids, detail) => {
        const at = this.o.clock.now();
        await Promise.all(ids.map((id) => this.settle(id, { status: 'failed', reason: 'interrupted', detail, at })));
      },
    };
  }

  stop(): void {
    this.pruning.stop();
  }

  private write(op: () => void | Promise<void>, id: string): Promise<void> {
    try {
      const result = op();
      if (result === undefined) return Promise.resolve();
      const written = result.catch((error: unknown) => this.failed(error, id));
      this.lastWrite = written;
      void written.then(() => {
        if (this.lastWrite === written) this.lastWrite = undefined;
      });
      return written;
    } catch (error) {
      this.failed(error, id);
      return Promise.resolve();
    }
  }

  private failed(error: unknown, id: string): void {
    this.o.metrics.outbox.inc({ event: 'write-error' });
    this.o.log.error({ err: error, sendId: id }, 'send record write failed; the send goes on in memory');
  }
}
