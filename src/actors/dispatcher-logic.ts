import type { AnyActorLogic, AnyActorRef } from 'xstate';
import { queue, release as releaseSlots, type SchedulerState, schedule, type WorkerSlot } from './dispatch-order.js';
import type { GateRef } from './gate.js';
import type { GatePool } from './gate-pool.js';
import type { Inspection } from './inspection.js';
import type { Job, JobOutcome } from './job.js';
import { mailboxFull } from './mailbox-full.js';
import type { WorkerDoneEvent } from './worker.js';

/**
 * What one dispatcher event does (DESIGN.md §2): its types, and a plain function per event that
 * updates the context in place and lists the effects (starts, reports, sends) for the machine's
 * `step` action (dispatcher.ts) to perform.
 */

// ---------------------------------------------------------------------------------------------
// Plain data

export interface DispatcherInput {
  /** mailbox size: accepted messages waiting across all rooms (PROTOCOL §7.6: 10,000) */
  capacity: number;
  /** PROTOCOL §7.6: 30 in flight per bot */
  perBot: number;
  /** PROTOCOL §7.6: 3 in flight per room */
  perRoom: number;
  /** PROTOCOL §7.6: 31 workers */
  workers: number;
  /** processing deadline of one job (5 min) */
  deadlineMs: number;
  /** worker restarts allowed within `restartWindowMs` before the dispatcher is unhealthy */
  restartLimit: number;
  restartWindowMs: number;
  /** epoch ms; tests pass the simulated clock's `now` */
  now?: () => number;
  /** where the gate actors report for inspection (they are roots with their own system) */
  inspection?: Inspection;
  /**
   * How long a gate that fell idle and empty stays up before it is stopped (0 = stopped at
   * once). A busy room re-acquires its gate every few messages; keeping it for a while spares
   * an actor start and stop per message.
   */
  gateIdleMs?: number;
  /** idle gates kept per kind (room, bot) at most; beyond it the longest-idle one is stopped at once */
  maxIdleGates?: number;
  /**
   * When the gate actors learn their counts (DESIGN.md §2). Absent: at the end of every step.
   * Given: the step hands `flush` to it once and it runs it later — the gateway passes
   * `setImmediate`, so a gate gets at most one SET per event-loop turn, and a job that starts and
   * ends within one turn (a fast handler) costs its gates no event at all. Nothing outside the
   * dispatcher can read a gate between two steps of one turn, so the mirror loses nothing.
   */
  deferGateSync?: (flush: () => void) => void;
}

export interface DispatcherContext extends SchedulerState {
  readonly capacity: number;
  readonly perBot: number;
  readonly perRoom: number;
  readonly deadlineMs: number;
  readonly restartLimit: number;
  readonly restartWindowMs: number;
  readonly gateIdleMs: number;
  readonly maxIdleGates: number;
  processed: number;
  failed: number;
  /** ENQUEUEs refused (mailbox full or shutting down) */
  refused: number;
  restarts: number;
  /** false once workers crashed more than restartLimit times within restartWindowMs (sticky) */
  healthy: boolean;
  /** false after SHUTDOWN: ENQUEUE is refused with MAILBOX_CLOSED */
  accepting: boolean;
  readonly botPool: GatePool;
  readonly roomPool: GatePool;
  /** the pools' live gate actors (`botPool.gates`, `roomPool.gates`) */
  readonly botGates: Map<string, GateRef>;
  readonly roomGates: Map<string, GateRef>;
  /** gates with nothing in flight or waiting, by key → idle since (epoch ms), longest idle first */
  readonly idleBotGates: Map<string, number>;
  readonly idleRoomGates: Map<string, number>;
  /** a GATES.SWEEP is scheduled */
  sweepArmed: boolean;
  /** see DispatcherInput.deferGateSync; null: gates are brought up to date at the end of each step */
  readonly deferGateSync: ((flush: () => void) => void) | null;
  /** a deferred gate sync is pending */
  gateSyncArmed: boolean;
  workers: Map<string, WorkerSlot>;
  /** refs told MAILBOX_FULL (or registered by WAIT_FOR_ROOM), each told MAILBOX_READY once */
  waiters: Set<AnyActorRef>;
  restartTimes: number[];
  /** scratch for one event's effects, reused so the hot path allocates nothing for it */
  readonly fx: Effects;
  /** the worker machine with this dispatcher's `runJob`, for spawning and respawning */
  readonly workerLogic: AnyActorLogic;
}

// ---------------------------------------------------------------------------------------------
// Events

/** PROTOCOL §7.6 backpressure, sent to `replyTo` of a refused ENQUEUE. */
export interface MailboxFullEvent {
  type: 'MAILBOX_FULL';
  jobId: string;
}
/** Sent once to every ref that was told MAILBOX_FULL or asked WAIT_FOR_ROOM, when there is room. */
export interface MailboxReadyEvent {
  type: 'MAILBOX_READY';
}
/** Sent to `replyTo` of an ENQUEUE after SHUTDOWN; no MAILBOX_READY follows. */
export interface MailboxClosedEvent {
  type: 'MAILBOX_CLOSED';
  jobId: string;
}

export interface WorkerErrorEvent {
  type: `xstate.error.actor.${string}`;
  actorId?: string;
  error: unknown;
}

export interface EnqueueEvent {
  type: 'ENQUEUE';
  job: Job;
  replyTo?: AnyActorRef;
}

/** Several ENQUEUEs in one step (DESIGN.md §2: events may carry batches); each is handled exactly as alone. */
export interface EnqueueBatchEvent {
  type: 'ENQUEUE.BATCH';
  items: readonly EnqueueEvent[];
}

export type DispatcherEvent =
  | EnqueueEvent
  | EnqueueBatchEvent
  | { type: 'WAIT_FOR_ROOM'; ref: AnyActorRef }
  | { type: 'SHUTDOWN' }
  | { type: 'GATE.ERROR'; key: string; error: string }
  /** delayed, raised by the dispatcher itself: stop gates idle for `gateIdleMs` */
  | { type: 'GATES.SWEEP' }
  | WorkerDoneEvent
  | WorkerErrorEvent;

// ---------------------------------------------------------------------------------------------
// Reports (provided actions; defaults are no-ops)

export interface OutcomeReport {
  job: Job;
  outcome: JobOutcome;
  /** from acceptance to (last) start */
  waitedMs: number;
  /** on the worker */
  ranMs: number;
}

export interface RestartReport {
  workerId: string;
  error: string;
}

export interface UnhealthyReport {
  reason: string;
}

// ---------------------------------------------------------------------------------------------
// Scheduling: plain synchronous functions over the context

/** What one event asks the actor to do once the context is updated. */
export interface Effects {
  starts: WorkerSlot[];
  outcomes: OutcomeReport[];
  sends: { to: AnyActorRef; event: MailboxFullEvent | MailboxClosedEvent | MailboxReadyEvent }[];
  respawn: string | null;
  restart: RestartReport | null;
  unhealthy: UnhealthyReport | null;
  /** schedule a GATES.SWEEP in this many ms */
  sweepInMs: number | null;
}

const READY: MailboxReadyEvent = { type: 'MAILBOX_READY' };
const CRASH_RETRIES = 1;

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function armSweep(ctx: DispatcherContext, fx: Effects): void {
  if (ctx.sweepArmed) return;
  ctx.sweepArmed = true;
  fx.sweepInMs = ctx.gateIdleMs;
}

function release(ctx: DispatcherContext, fx: Effects, job: Job): void {
  if (releaseSlots(ctx, job)) armSweep(ctx, fx);
}

export function onSweep(ctx: DispatcherContext, fx: Effects): void {
  const now = ctx.now();
  const nextRoom = ctx.roomPool.sweep(now, (key) => ctx.queues.has(key));
  const nextBot = ctx.botPool.sweep(now, (key) => ctx.bots.has(key));
  const next = Math.min(nextRoom, nextBot);
  ctx.sweepArmed = next !== Number.POSITIVE_INFINITY;
  if (ctx.sweepArmed) fx.sweepInMs = Math.max(1, next - now);
}

/** Brings the gate actors up to date with the pools' counts: now, or once per turn when deferred. */
export function syncGates(ctx: DispatcherContext): void {
  if (ctx.deferGateSync === null) {
    ctx.botPool.flush();
    ctx.roomPool.flush();
    return;
  }
  if (ctx.gateSyncArmed || !(ctx.botPool.dirty || ctx.roomPool.dirty)) return;
  ctx.gateSyncArmed = true;
  ctx.deferGateSync(() => {
    ctx.gateSyncArmed = false;
    ctx.botPool.flush();
    ctx.roomPool.flush();
  });
}

/** Every gate, busy or idle: when the dispatcher is done (closed) or stopped by its owner. */
export function stopGates(ctx: Pick<DispatcherContext, 'botPool' | 'roomPool'>): void {
  ctx.roomPool.stopAll();
  ctx.botPool.stopAll();
}

export function notifyIfRoom(ctx: DispatcherContext, fx: Effects): void {
  if (ctx.waiters.size === 0 || mailboxFull(ctx)) return;
  for (const ref of ctx.waiters) fx.sends.push({ to: ref, event: READY });
  ctx.waiters.clear();
}

function finish(ctx: DispatcherContext, fx: Effects, slot: WorkerSlot, job: Job, outcome: JobOutcome): void {
  const now = ctx.now();
  ctx.running--;
  if (outcome.status === 'processed') ctx.processed++;
  else ctx.failed++;
  fx.outcomes.push({ job, outcome, waitedMs: slot.startedAt - job.enqueuedAt, ranMs: now - slot.startedAt });
}

export function onEnqueue(ctx: DispatcherContext, fx: Effects, job: Job, replyTo: AnyActorRef | undefined): void {
  if (!ctx.accepting) {
    ctx.refused++;
    if (replyTo !== undefined) fx.sends.push({ to: replyTo, event: { type: 'MAILBOX_CLOSED', jobId: job.id } });
    return;
  }
  if (mailboxFull(ctx)) {
    // DESIGN.md §2: refuse with an event; the connection pauses its socket until MAILBOX_READY.
    ctx.refused++;
    if (replyTo !== undefined) {
      ctx.waiters.add(replyTo);
      fx.sends.push({ to: replyTo, event: { type: 'MAILBOX_FULL', jobId: job.id } });
    }
    return;
  }
  // The dispatcher owns an accepted job: it stamps acceptance time and counts attempts on it.
  job.enqueuedAt = ctx.now();
  queue(ctx, job, false);
  schedule(ctx, fx.starts);
}

export function onWorkerDone(ctx: DispatcherContext, fx: Effects, event: WorkerDoneEvent): void {
  const slot = ctx.workers.get(event.workerId);
  const job = slot?.job;
  // A report for a job this slot no longer holds (cannot happen short of a bug) is ignored.
  if (slot === undefined || job === null || job === undefined || job.id !== event.jobId) return;
  slot.job = null;
  ctx.idle.push(slot);
  finish(ctx, fx, slot, job, event.outcome);
  release(ctx, fx, job);
  schedule(ctx, fx.starts);
  notifyIfRoom(ctx, fx);
}

/** Supervision (DESIGN.md §2): intensity check, restart with the same id, re-queue the job once. */
export function onWorkerCrash(ctx: DispatcherContext, fx: Effects, workerId: string, error: unknown): void {
  const slot = ctx.workers.get(workerId);
  if (slot === undefined) return;
  const now = ctx.now();
  const text = messageOf(error);
  ctx.restarts++;
  ctx.restartTimes.push(now);
  while (ctx.restartTimes.length > 0 && now - ctx.restartTimes[0]! > ctx.restartWindowMs) ctx.restartTimes.shift();
  if (ctx.restartTimes.length > ctx.restartLimit + 1) ctx.restartTimes.shift();
  if (ctx.restartTimes.length > ctx.restartLimit && ctx.healthy) {
    ctx.healthy = false;
    fx.unhealthy = {
      reason: `${ctx.restartTimes.length} worker restarts within ${ctx.restartWindowMs} ms (limit ${ctx.restartLimit})`,
    };
  }
  fx.respawn = workerId;
  fx.restart = { workerId, error: text };
  const job = slot.job;
  slot.job = null;
  ctx.idle.push(slot);
  if (job !== null) {
    if (job.attempts <= CRASH_RETRIES) {
      ctx.running--;
      queue(ctx, job, true);
    } else {
      finish(ctx, fx, slot, job, { status: 'failed', reason: 'crash', error: text });
    }
    release(ctx, fx, job);
  }
  schedule(ctx, fx.starts);
  notifyIfRoom(ctx, fx);
}

export function onWaitForRoom(ctx: DispatcherContext, fx: Effects, ref: AnyActorRef): void {
  // After SHUTDOWN there will be no room: the gateway is closing its connections anyway.
  if (!ctx.accepting) return;
  ctx.waiters.add(ref);
  // The gateway checked `waiting` before this event arrived; room may have appeared since.
  notifyIfRoom(ctx, fx);
}

/**
 * Sends `events` in order, runs of consecutive ENQUEUEs as one ENQUEUE.BATCH. `events` may grow
 * while this runs (what the dispatcher's answers make connections submit); those go out too.
 */
export function sendInBatches(events: readonly DispatcherEvent[], send: (event: DispatcherEvent) => void): void {
  let i = 0;
  while (i < events.length) {
    const first = events[i]!;
    if (first.type !== 'ENQUEUE' || events[i + 1]?.type !== 'ENQUEUE') {
      send(first);
      i++;
      continue;
    }
    const items: EnqueueEvent[] = [];
    for (let e = events[i]; e?.type === 'ENQUEUE'; e = events[++i]) items.push(e);
    send({ type: 'ENQUEUE.BATCH', items });
  }
}
