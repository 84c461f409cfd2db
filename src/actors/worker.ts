import { type ActorRefFrom, assign, fromPromise, sendParent, setup } from 'xstate';
import type { Job, JobOutcome } from './job.js';

/**
 * A worker (DESIGN.md §2): runs one job at a time through the provided `runJob` promise actor,
 * under the processing deadline (PROTOCOL §7.6, 5 min by default). Timeout or a rejected handler
 * ends the job as failed and the worker is idle again; the dispatcher hears about every job
 * exactly once through `WORKER.DONE`.
 *
 * A handler that throws `WorkerCrash` crashes the worker itself (the actor errors), which the
 * dispatcher supervises: restart with an intensity limit, re-queue the job once.
 */

/** Thrown by a job runner to crash its worker (tests, or a runner that found its worker unusable). */
export class WorkerCrash extends Error {
  override readonly name = 'WorkerCrash';
}

/**
 * What `runJob` receives. The promise creator's own `signal` argument (from xstate) is the job's
 * abort signal: leaving `running` — the deadline, or the actor system stopping — stops the
 * invoked runner, which aborts it.
 */
export interface RunJobInput {
  job: Job;
}

export interface WorkerInput {
  workerId: string;
  deadlineMs: number;
}

export interface WorkerContext {
  workerId: string;
  deadlineMs: number;
  job: Job | null;
}

export type WorkerEvent = { type: 'START'; job: Job };

/** Sent to the parent (dispatcher) once per started job. */
export interface WorkerDoneEvent {
  type: 'WORKER.DONE';
  workerId: string;
  jobId: string;
  outcome: JobOutcome;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const done = (context: WorkerContext, outcome: JobOutcome): WorkerDoneEvent => ({
  type: 'WORKER.DONE',
  workerId: context.workerId,
  jobId: context.job?.id ?? '',
  outcome,
});

const PROCESSED: JobOutcome = { status: 'processed' };
const TIMED_OUT: JobOutcome = { status: 'failed', reason: 'timeout' };

export const workerMachine = setup({
  types: {
    context: {} as WorkerContext,
    events: {} as WorkerEvent,
    input: {} as WorkerInput,
  },
  actors: {
    // The gateway supplies the real runner with `dispatcherMachine.provide({ actors: { runJob } })`.
    runJob: fromPromise<void, RunJobInput>(async () => {
      throw new Error('runJob not provided');
    }),
  },
  delays: {
    deadline: ({ context }) => context.deadlineMs,
  },
  guards: {
    isCrash: ({ event }) => 'error' in event && event.error instanceof WorkerCrash,
  },
  actions: {
    // Throwing from an action makes this actor error; the parent receives xstate.error.actor.<id>.
    crash: ({ event }) => {
      throw 'error' in event ? event.error : new WorkerCrash('worker crashed');
    },
    reportProcessed: sendParent(({ context }) => done(context, PROCESSED)),
    reportTimeout: sendParent(({ context }) => done(context, TIMED_OUT)),
    reportError: sendParent(({ context, event }) =>
      done(context, {
        status: 'failed',
        reason: 'error',
        error: messageOf('error' in event ? event.error : undefined),
      }),
    ),
    clear: assign({ job: null }),
  },
}).createMachine({
  id: 'worker',
  context: ({ input }) => ({ workerId: input.workerId, deadlineMs: input.deadlineMs, job: null }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        START: {
          target: 'running',
          actions: assign({ job: ({ event }) => event.job }),
        },
      },
    },
    running: {
      // Leaving the state stops the invoked runner, which aborts its signal (if still pending):
      // one AbortController per job, xstate's own.
      invoke: {
        src: 'runJob',
        input: ({ context }) => ({ job: context.job! }),
        onDone: { target: 'idle', actions: ['reportProcessed', 'clear'] },
        onError: [
          { guard: 'isCrash', actions: 'crash' },
          { target: 'idle', actions: ['reportError', 'clear'] },
        ],
      },
      after: {
        deadline: { target: 'idle', actions: ['reportTimeout', 'clear'] },
      },
    },
  },
});

export type WorkerRef = ActorRefFrom<typeof workerMachine>;
