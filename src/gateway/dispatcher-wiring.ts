import { type Actor, createActor } from 'xstate';
import type { Clock } from '../actors/clock.js';
import { type DispatcherInput, dispatcherMachine } from '../actors/dispatcher.js';
import type { Inspection } from '../actors/inspection.js';
import type { Job, JobOutcome } from '../actors/job.js';
import { fromJobRunner } from '../actors/job-runner.js';
import type { Config } from '../infra/config/schema.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';

/** The dispatcher's settings from the `processing` config section. */
export function dispatcherInputOf(p: Config['processing']): DispatcherInput {
  return {
    capacity: p.mailboxSize,
    perBot: p.perBot,
    perRoom: p.perRoom,
    workers: p.workers,
    deadlineMs: p.deadlineMs,
    restartLimit: p.restartLimit,
    restartWindowMs: p.restartWindowMs,
    gateIdleMs: p.gateIdleMs,
    maxIdleGates: p.maxIdleGates,
    // DESIGN.md §2: gate actors mirror the counts once per event-loop turn.
    deferGateSync: setImmediate,
  };
}

export interface DispatcherDeps {
  processing: Config['processing'];
  clock: Clock;
  metrics: Metrics;
  /** the `dispatch` log category */
  log: Logger;
  inspection?: Inspection;
  /** the workers' job runner: the signal aborts when the worker gives up (deadline, crash, stop) */
  runJob(job: Job, signal: AbortSignal): Promise<void>;
  onOutcome(job: Job, outcome: JobOutcome, waitedMs: number, ranMs: number): void;
}

/** The dispatcher actor (DESIGN.md §2) with the gateway's job runner and reports, not started. */
export function createDispatcher(d: DispatcherDeps): Actor<typeof dispatcherMachine> {
  const dispatcher = createActor(
    dispatcherMachine.provide({
      actors: {
        runJob: fromJobRunner(({ input, signal }) => d.runJob(input.job, signal)),
      },
      actions: {
        reportOutcome: (_, params) => d.onOutcome(params.job, params.outcome, params.waitedMs, params.ranMs),
        reportRestart: (_, params) => {
          d.metrics.workerRestarts.inc();
          d.log.error({ workerId: params.workerId, err: params.error }, 'worker crashed; restarted');
        },
        reportUnhealthy: () => d.log.fatal('worker restart limit exceeded; gateway unhealthy'),
      },
    }),
    {
      input: { ...dispatcherInputOf(d.processing), now: () => d.clock.now(), inspection: d.inspection },
      clock: d.clock,
    },
  );
  // the workers are its children, so the dispatcher's system covers them
  d.inspection?.attach(dispatcher);
  dispatcher.subscribe({
    error: (err) => d.log.fatal({ err }, 'dispatcher failed'),
  });
  return dispatcher;
}
