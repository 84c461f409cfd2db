import { type ActorRefFrom, assign, sendParent, sendTo, setup, stopChild } from 'xstate';
import type { Job, JobOutcome } from './job.js';
import { fromJobRunner, type RunnerEvent, type RunnerReply } from './job-runner.js';

export { fromJobRunner, type RunJob, type RunJobInput } from './job-runner.js';

/**
 * A worker (DESIGN.md §2): runs one job at a time on its ONE long-lived `runner` child (the
 * provided `runJob`, see job-runner.ts), under the processing deadline (PROTOCOL §7.6, 5 min by
 * default). Timeout or a rejected handler ends the job as failed and the worker is idle again; the
 * dispatcher hears about every job exactly once through `WORKER.DONE`.
 *
 * A handler that throws `WorkerCrash` crashes the worker itself (the actor errors), which the
 * dispatcher supervises: restart with an intensity limit, re-queue the job once. Stopping the
 * crashed worker stops its runner, which aborts whatever it still runs.
 */

/** Thrown by a job runner to crash its worker (tests, or a runner that found its worker unusable). */
export class WorkerCrash extends Error {
  override readonly name = 'WorkerCrash';
}

export interface WorkerInput {
  workerId: string;
  deadlineMs: number;
}

export interface WorkerContext {
  workerId: string;
  deadlineMs: number;
  job: Job | null;
  /** number of the current (or last) run; a reply for another run is a late one and ignored */
  seq: number;
  /** the WorkerCrash being raised (state `crashed`) */
  crash: unknown;
}

/** CRASH: sent by the worker to itself once its runner is stopped (state `crashed`). */
export type WorkerEvent = { type: 'START'; job: Job } | { type: 'CRASH' } | RunnerReply;

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
    runJob: fromJobRunner(async () => {
      throw new Error('runJob not provided');
    }),
  },
  delays: {
    deadline: ({ context }) => context.deadlineMs,
  },
  guards: {
    current: ({ context, event }) => 'seq' in event && event.seq === context.seq,
    currentCrash: ({ context, event }) =>
      event.type === 'RUN.FAILED' && event.seq === context.seq && event.error instanceof WorkerCrash,
  },
  actions: {
    // Throwing from an action makes this actor error; the parent receives xstate.error.actor.<id>.
    crash: ({ context }) => {
      throw context.crash ?? new WorkerCrash('worker crashed');
    },
    run: sendTo('runner', ({ context }): RunnerEvent => ({ type: 'RUN', seq: context.seq, job: context.job! })),
    abort: sendTo('runner', ({ context }): RunnerEvent => ({ type: 'ABORT', seq: context.seq })),
    reportProcessed: sendParent(({ context }) => done(context, PROCESSED)),
    reportTimeout: sendParent(({ context }) => done(context, TIMED_OUT)),
    reportError: sendParent(({ context, event }) =>
      done(context, {
        status: 'failed',
        reason: 'error',
        error: messageOf(event.type === 'RUN.FAILED' ? event.error : undefined),
      }),
    ),
    // The context is this worker's alone and is changed in place, as the dispatcher's is
    // (dispatcher.ts): an `assign` copies the context on every job, twice (DESIGN.md §6).
    begin: ({ context, event }) => {
      if (event.type !== 'START') return;
      context.job = event.job;
      context.seq++;
    },
    clear: ({ context }) => {
      context.job = null;
    },
  },
}).createMachine({
  id: 'worker',
  context: ({ input }) => ({ workerId: input.workerId, deadlineMs: input.deadlineMs, job: null, seq: 0, crash: null }),
  // One runner for the worker's whole life (not one actor per job).
  invoke: { id: 'runner', src: 'runJob' },
  initial: 'idle',
  states: {
    idle: {
      on: {
        START: {
          target: 'running',
          actions: ['begin', 'run'],
        },
      },
    },
    running: {
      on: {
        'RUN.DONE': { guard: 'current', target: 'idle', actions: ['reportProcessed', 'clear'] },
        'RUN.FAILED': [
          {
            // An errored machine does not stop its children (xstate 5), so the runner is stopped
            // first (aborting anything it still holds) and the worker errors on the next event.
            guard: 'currentCrash',
            target: 'crashed',
            actions: [
              assign({ crash: ({ event }) => (event.type === 'RUN.FAILED' ? event.error : null) }),
              stopChild('runner'),
              sendTo(({ self }) => self, { type: 'CRASH' } as const),
            ],
          },
          { guard: 'current', target: 'idle', actions: ['reportError', 'clear'] },
        ],
      },
      after: {
        // The handler's signal aborts; its late reply (other seq) is ignored.
        deadline: { target: 'idle', actions: ['abort', 'reportTimeout', 'clear'] },
      },
    },
    crashed: {
      on: { CRASH: { actions: 'crash' } },
    },
  },
});

export type WorkerRef = ActorRefFrom<typeof workerMachine>;
