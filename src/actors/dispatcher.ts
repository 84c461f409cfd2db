import { type Actor, type ActorRefFrom, type AnyActorLogic, type AnyStateMachine, setup, spawnChild } from 'xstate';
import type { WorkerSlot } from './dispatch-order.js';
import {
  type DispatcherContext,
  type DispatcherEvent,
  type DispatcherInput,
  messageOf,
  type OutcomeReport,
  onEnqueue,
  onSweep,
  onWaitForRoom,
  onWorkerCrash,
  onWorkerDone,
  type RestartReport,
  stopGates,
  syncGates,
  type UnhealthyReport,
  type WorkerErrorEvent,
} from './dispatcher-logic.js';
import { Fifo } from './fifo.js';
import type { GateStartOptions } from './gate.js';
import { GatePool } from './gate-pool.js';
import { fromJobRunner } from './job-runner.js';
import { type WorkerInput, workerMachine } from './worker.js';

export type { BotQueue, RoomQueue, WorkerSlot } from './dispatch-order.js';
export * from './dispatcher-logic.js';
export { Fifo } from './fifo.js';
export * from './gate-summary.js';
export * from './mailbox-full.js';

/**
 * The dispatcher (DESIGN.md §2, PROTOCOL §7.6): a bounded mailbox of per-room FIFO queues,
 * served round-robin over the rooms that can run, onto a fixed pool of worker actors, under a
 * bot gate (30 in flight) and a room gate (3 in flight). It also supervises the workers.
 *
 * Which job starts next is decided by dispatch-order.ts (plain synchronous functions); the gates are
 * counted by two GatePools (gate-pool.ts) whose gate actors get one SET per step. The context
 * object is owned by this actor alone; every mutation happens in the single `step` action below.
 */

// ---------------------------------------------------------------------------------------------
// The machine

/**
 * The worker logic of this dispatcher: its `worker` machine with its `runJob`. Both are looked up in
 * the dispatcher's own (provided) implementations, because `dispatcherMachine.provide({ actors:
 * { runJob } })` does not reach into the worker machine, which resolves `runJob` against its own.
 */
function workerLogicOf(self: unknown): AnyActorLogic {
  // Every ActorRef is an Actor instance at runtime; its `logic` is the (provided) machine, whether
  // the dispatcher is a root or a child spawned by name. Its snapshot does not exist yet while the
  // context is being built, hence `logic`.
  const actors = (self as Actor<AnyStateMachine>).logic?.implementations.actors;
  const worker = (actors?.worker as typeof workerMachine | undefined) ?? workerMachine;
  const runJob = actors?.runJob as AnyActorLogic | undefined;
  return runJob === undefined ? worker : worker.provide({ actors: { runJob } });
}

const dispatcherSetup = setup({
  types: {
    context: {} as DispatcherContext,
    events: {} as DispatcherEvent,
    input: {} as DispatcherInput,
    children: {} as { [id: `worker-${number}`]: 'worker' },
  },
  actors: {
    worker: workerMachine,
    // The gateway supplies the real runner: dispatcherMachine.provide({ actors: { runJob } }).
    runJob: fromJobRunner(async () => {
      throw new Error('runJob not provided');
    }),
  },
  actions: {
    reportOutcome: (_, _params: OutcomeReport) => {},
    reportRestart: (_, _params: RestartReport) => {},
    reportUnhealthy: (_, _params: UnhealthyReport) => {},
  },
  guards: {
    drained: ({ context }) => context.waiting === 0 && context.running === 0,
  },
});

type SpawnAction = ReturnType<typeof dispatcherSetup.spawnChild>;

/**
 * Spawns the worker logic that carries this dispatcher's `runJob` as child `id`. xstate's types allow
 * an explicit id only for logic named in setup; this logic is built per dispatcher, hence the cast.
 */
function spawnWorker(context: DispatcherContext, id: string): SpawnAction {
  const input: WorkerInput = { workerId: id, deadlineMs: context.deadlineMs };
  return spawnChild(context.workerLogic, { id, input }) as unknown as SpawnAction;
}

/** The one place the context changes: run the event's logic, then perform its effects. */
const step = dispatcherSetup.enqueueActions(({ context, event, enqueue }) => {
  const fx = context.fx;
  fx.starts.length = 0;
  fx.outcomes.length = 0;
  fx.sends.length = 0;
  fx.respawn = null;
  fx.restart = null;
  fx.unhealthy = null;
  fx.sweepInMs = null;
  switch (event.type) {
    case 'ENQUEUE':
      onEnqueue(context, fx, event.job, event.replyTo);
      break;
    case 'ENQUEUE.BATCH':
      for (const item of event.items) onEnqueue(context, fx, item.job, item.replyTo);
      break;
    case 'WAIT_FOR_ROOM':
      onWaitForRoom(context, fx, event.ref);
      break;
    case 'WORKER.DONE':
      onWorkerDone(context, fx, event);
      break;
    case 'GATES.SWEEP':
      onSweep(context, fx);
      break;
    case 'GATE.ERROR':
      if (context.healthy) {
        context.healthy = false;
        fx.unhealthy = { reason: `gate ${event.key} failed: ${event.error}` };
      }
      break;
    case 'SHUTDOWN':
      context.accepting = false;
      context.waiters.clear();
      break;
    default:
      onWorkerCrash(context, fx, (event as WorkerErrorEvent).actorId ?? '', (event as WorkerErrorEvent).error);
  }
  // DESIGN.md §2: the gate actors learn their counts once per step (or turn), not once per message.
  syncGates(context);
  if (fx.respawn !== null) {
    // DESIGN.md §2: a crashed child stays in snapshot.children until stopped, and spawning with
    // a live id would orphan it — so stop first, then spawn with the same id.
    enqueue.stopChild(fx.respawn);
    enqueue(spawnWorker(context, fx.respawn));
  }
  if (fx.restart !== null) enqueue({ type: 'reportRestart', params: fx.restart });
  if (fx.unhealthy !== null) enqueue({ type: 'reportUnhealthy', params: fx.unhealthy });
  for (const slot of fx.starts) enqueue.sendTo(slot.id, { type: 'START', job: slot.job! });
  for (const report of fx.outcomes) enqueue({ type: 'reportOutcome', params: report });
  for (const { to, event: out } of fx.sends) enqueue.sendTo(to, out);
  if (fx.sweepInMs !== null) enqueue.raise({ type: 'GATES.SWEEP' }, { delay: fx.sweepInMs });
});

const spawnWorkers = dispatcherSetup.enqueueActions(({ context, enqueue }) => {
  for (const id of context.workers.keys()) {
    enqueue(spawnWorker(context, id));
  }
});

export const dispatcherMachine = dispatcherSetup.createMachine({
  id: 'dispatcher',
  context: ({ input, self }) => {
    const workerLogic = workerLogicOf(self);
    const workers = new Map<string, WorkerSlot>();
    const idle: WorkerSlot[] = [];
    for (let i = input.workers - 1; i >= 0; i--) {
      const slot: WorkerSlot = { id: `worker-${i}`, job: null, startedAt: 0 };
      workers.set(slot.id, slot);
      idle.push(slot);
    }
    const now = input.now ?? Date.now;
    const gate: GateStartOptions = {
      ...(input.inspection !== undefined ? { inspection: input.inspection } : {}),
      onError: (key, error) => self.send({ type: 'GATE.ERROR', key, error: messageOf(error) }),
    };
    const gateIdleMs = input.gateIdleMs ?? 0;
    const maxIdle = input.maxIdleGates ?? 1_000;
    const botPool = new GatePool({ limit: input.perBot, idleMs: gateIdleMs, maxIdle, now, gate });
    const roomPool = new GatePool({ limit: input.perRoom, idleMs: gateIdleMs, maxIdle, now, gate });
    return {
      capacity: input.capacity,
      perBot: input.perBot,
      perRoom: input.perRoom,
      deadlineMs: input.deadlineMs,
      restartLimit: input.restartLimit,
      restartWindowMs: input.restartWindowMs,
      gateIdleMs,
      maxIdleGates: maxIdle,
      now,
      waiting: 0,
      running: 0,
      processed: 0,
      failed: 0,
      refused: 0,
      restarts: 0,
      healthy: true,
      accepting: true,
      queues: new Map(),
      bots: new Map(),
      ready: new Fifo(),
      botPool,
      roomPool,
      botGates: botPool.gates,
      roomGates: roomPool.gates,
      idleBotGates: botPool.idle,
      idleRoomGates: roomPool.idle,
      sweepArmed: false,
      deferGateSync: input.deferGateSync ?? null,
      gateSyncArmed: false,
      workers,
      idle,
      waiters: new Set(),
      restartTimes: [],
      workerLogic,
      fx: { starts: [], outcomes: [], sends: [], respawn: null, restart: null, unhealthy: null, sweepInMs: null },
    };
  },
  on: {
    ENQUEUE: { actions: step },
    'ENQUEUE.BATCH': { actions: step },
    WAIT_FOR_ROOM: { actions: step },
    'WORKER.DONE': { actions: step },
    'GATE.ERROR': { actions: step },
    'GATES.SWEEP': { actions: step },
    'xstate.error.actor.*': { actions: step },
  },
  // Workers are children (there are few of them): spawn and stop cost is per child map copy.
  entry: spawnWorkers,
  initial: 'open',
  states: {
    open: {
      on: {
        // Running jobs finish and queued ones still run: nothing accepted is dropped (DESIGN.md §4).
        SHUTDOWN: { target: 'closing', actions: step },
      },
    },
    closing: {
      // The gateway waits for `closed` (or watches `running`) before closing sockets.
      always: { guard: 'drained', target: 'closed' },
    },
    // ENQUEUE is refused with MAILBOX_CLOSED here and in `closing` (context.accepting).
    closed: { entry: ({ context }) => stopGates(context) },
  },
});

export type DispatcherRef = ActorRefFrom<typeof dispatcherMachine>;
