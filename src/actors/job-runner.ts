import { type CallbackActorLogic, fromCallback } from 'xstate';
import type { Job } from './job.js';

/**
 * The long-lived job runner of a worker (DESIGN.md §2): ONE child actor per worker, started with
 * the worker and stopped with it, that receives each job as an event and sends its result back.
 * A promise actor per job (spawn, children-map copy, done event, stop) cost about three times as
 * much CPU per message as this event round trip.
 *
 * Each run gets its own AbortController: the worker sends ABORT at the deadline, and stopping the
 * runner (the worker stopped or crashed, the actor system stopping) aborts every run still pending.
 */

export interface RunJobInput {
  job: Job;
}

/** What the gateway (or a test) supplies: run one job; reject to fail it; honour `signal`. */
export type RunJob = (args: { input: RunJobInput; signal: AbortSignal }) => Promise<void>;

/** To the runner, from its worker. `seq` numbers the worker's runs. */
export type RunnerEvent = { type: 'RUN'; seq: number; job: Job } | { type: 'ABORT'; seq: number };

/** From the runner to its worker: exactly one per RUN, unless the runner was stopped first. */
export type RunnerReply = { type: 'RUN.DONE'; seq: number } | { type: 'RUN.FAILED'; seq: number; error: unknown };

export type JobRunnerLogic = CallbackActorLogic<RunnerEvent>;

/** Reason given to a handler's signal when the deadline passes (PROTOCOL §7.6). */
export const DEADLINE_REASON = 'processing deadline';

/** The long-lived runner logic around `run`; provide it as the dispatcher's `runJob` actor. */
export function fromJobRunner(run: RunJob): JobRunnerLogic {
  return fromCallback<RunnerEvent>(({ sendBack, receive }) => {
    // The run in progress plus any abandoned at their deadline that have not settled yet.
    const live = new Map<number, AbortController>();
    receive((event) => {
      if (event.type === 'ABORT') {
        const controller = live.get(event.seq);
        live.delete(event.seq);
        controller?.abort(new Error(DEADLINE_REASON));
        return;
      }
      const { seq } = event;
      const controller = new AbortController();
      live.set(seq, controller);
      let pending: Promise<void>;
      try {
        pending = run({ input: { job: event.job }, signal: controller.signal });
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        () => {
          live.delete(seq);
          sendBack({ type: 'RUN.DONE', seq } satisfies RunnerReply);
        },
        (error: unknown) => {
          live.delete(seq);
          sendBack({ type: 'RUN.FAILED', seq, error } satisfies RunnerReply);
        },
      );
    });
    return () => {
      for (const controller of live.values()) controller.abort();
      live.clear();
    };
  });
}
