import type { Clock } from '../actors/clock.js';
import type { DispatcherEvent } from '../actors/dispatcher.js';
import type { ChatMessage, Job, JobOutcome } from '../actors/job.js';
import type { GatewayServices } from '../handlers/api.js';
import { failureFields } from '../handlers/failure-fields.js';
import type { Router } from '../handlers/router.js';
import { handleMessage } from '../handlers/runner.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { DurableMailbox } from './durable.js';
import { jobOf } from './intake.js';
import type { PendingRoomNotices } from './pending-rooms.js';
import { ReplayedSends } from './replayed-sends.js';
import type { RoomDirectory } from './rooms.js';
import type { Sender } from './sender.js';

export interface JobRunningDeps {
  clock: Clock;
  metrics: Metrics;
  /** the `message` log category */
  log: Logger;
  rooms: Pick<RoomDirectory, 'status' | 'statusNow'>;
  pendingRooms: Pick<PendingRoomNotices, 'notice'>;
  /** the operator's modules of the moment (handler reload swaps them) */
  router(): Router;
  sender: Pick<Sender, 'replies' | 'sendInput'>;
  services: GatewayServices;
  durable: DurableMailbox<DispatcherEvent> | undefined;
  /** the dispatcher's `waiting` count (the mailbox depth gauge) */
  waiting(): number;
  /** processing.deadlineMs (direct mode; the workers keep their own deadline) */
  deadlineMs: number;
  /** outbound.minGapMs */
  replyGapMs: number;
  /** limits.maxTextChars */
  maxTextChars: number;
  /** how long the sends of replayed messages delivered before the restart are kept (ReplayedSends) */
  replayKeepMs: number;
}

/**
 * The second stage of one message: room approval, the handlers, their replies, the outcome
 * (PROTOCOL §7.7 steps 3–7). The workers run `runJob`; direct mode runs it at once.
 */
export class JobRunning {
  /** handlers running in direct mode (the shutdown waits for them) */
  directRunning = 0;
  /** trace ids of jobs that ended unanswered because their room is not approved (counted apart) */
  private readonly notApproved = new Set<string>();
  /** replayed messages' `ctx.send`s delivered before the restart (loaded at start) */
  readonly replayedSends: ReplayedSends;

  constructor(private readonly deps: JobRunningDeps) {
    const { clock, metrics, log, replayKeepMs: keepMs } = deps;
    this.replayedSends = new ReplayedSends({ clock, metrics, log, keepMs });
  }

  /** One message through room approval and the handlers (PROTOCOL §7.7 steps 3–7). */
  async runJob(job: Job, signal: AbortSignal): Promise<void> {
    const d = this.deps;
    const message = job.message;
    const log = d.log;
    // usually known: rooms are cached and refreshed in bulk, so most messages never wait here
    const status = d.rooms.statusNow(message) ?? (await d.rooms.status(message));
    if (status !== 'approved') {
      log.debug({ traceId: message.traceId, roomStatus: status }, 'room not approved; no reply');
      this.notApproved.add(job.id);
      d.pendingRooms.notice(message, status);
      return;
    }
    const result = await handleMessage(message, {
      router: d.router(),
      send: (packets, abandoned) => d.sender.replies(message, packets, abandoned),
      sendTo: (m, r) => {
        const input = {
          botName: m.botName,
          channelId: r.channelId,
          deviceId: r.device,
          text: r.text,
          media: r.media,
          traceId: m.traceId,
        };
        // a replayed message: what reached its phone before the restart is not sent again
        const before = this.replayedSends.take(input);
        return before === undefined ? d.sender.sendInput(input) : Promise.resolve(before);
      },
      services: d.services,
      clock: d.clock,
      replyGapMs: d.replyGapMs,
      maxTextChars: d.maxTextChars,
      signal,
      // The runner binds the trace id for ctx.log itself; `log` here would write the field twice.
      log: d.log,
      onTruncated: () => d.metrics.repliesTruncated.inc(),
    });
    // the handler stage of the message trace
    log.debug({ traceId: message.traceId, replies: result.replies, aborted: result.aborted }, 'handler finished');
  }

  /** Processing mode `direct`: the handler runs at once, outside the mailbox (processing.mode). */
  runDirect(message: ChatMessage): void {
    const clock = this.deps.clock;
    const controller = new AbortController();
    const deadline = clock.setTimeout(() => controller.abort(new Error('processing deadline')), this.deps.deadlineMs);
    const started = clock.now();
    this.directRunning++;
    const job = jobOf(message, 1, clock.now());
    this.runJob(job, controller.signal)
      .then(
        () => this.onOutcome(job, { status: 'processed' }, 0, clock.now() - started),
        (error: unknown) =>
          this.onOutcome(
            job,
            {
              status: 'failed',
              reason: controller.signal.aborted ? 'timeout' : 'error',
              error: error instanceof Error ? error.message : String(error),
            },
            0,
            clock.now() - started,
          ),
      )
      .finally(() => {
        clock.clearTimeout(deadline);
        this.directRunning--;
      });
  }

  /** A job's end: metrics, the durable record, and a failure's log line with its route. */
  onOutcome(job: Job, outcome: JobOutcome, waitedMs: number, ranMs: number): void {
    const d = this.deps;
    const m = d.metrics;
    m.mailboxDepth.set(d.waiting());
    m.gateWaitSeconds.observe(waitedMs / 1000);
    m.processingSeconds.observe((waitedMs + ranMs) / 1000);
    const log = d.log;
    d.durable?.finish(job.id, outcome.status);
    this.replayedSends.finished(job.id);
    if (this.notApproved.delete(job.id) && outcome.status === 'processed') {
      m.messages.inc({ outcome: 'not-approved' });
    } else if (outcome.status === 'processed') {
      m.messages.inc({ outcome: 'processed' });
      log.debug({ traceId: job.id, ranMs }, 'message processed');
    } else {
      m.messages.inc({ outcome: `failed-${outcome.reason}` });
      const route = d.router().match(job.message);
      const fields = failureFields(job.message, route.kind === 'command' ? route.def.prefix : undefined);
      log.error({ ...fields, reason: outcome.reason, err: outcome.error, ranMs }, 'message failed');
    }
  }
}
