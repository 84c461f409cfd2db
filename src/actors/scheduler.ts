import { assign, fromCallback, fromPromise, setup } from 'xstate';
import { msToNextMinute } from './schedule-rules.js';
import { type PassMode, type PassSummary, type RunState, runPass } from './schedule-run.js';
import type { SchedulerPorts, SchedulerSettings } from './scheduler-ports.js';

/**
 * The scheduler (DESIGN.md §2, PROTOCOL §7.12): a catch-up pass `startDelayMs` after start, then
 * a poll at every full minute of the injected clock. A pass starts the runs of its bots and ends;
 * the runs go on (a bot with one going is skipped by later polls). Every pass first finishes
 * runs a crash left claimed (schedule-recovery.ts). Stopping the actor aborts
 * every run's waits (the `lifetime` child's cleanup: exit actions do not run on stop()).
 */

export interface SchedulerInput {
  ports: SchedulerPorts;
  settings: SchedulerSettings;
}

interface SchedulerContext extends SchedulerInput {
  passes: number;
  lastPass: PassSummary | undefined;
  runs: RunState & { abort: AbortController };
}

interface PassInput extends SchedulerInput {
  mode: PassMode;
  runs: RunState;
}

export const schedulerMachine = setup({
  types: {
    context: {} as SchedulerContext,
    input: {} as SchedulerInput,
    events: {} as { type: 'POLL_NOW' },
  },
  actors: {
    pass: fromPromise<PassSummary, PassInput>(({ input }) =>
      runPass(input.ports, input.settings, input.mode, input.runs),
    ),
    lifetime: fromCallback<{ type: 'never' }, { abort: AbortController }>(
      ({ input }) =>
        () =>
          input.abort.abort(),
    ),
  },
  actions: {
    recordPass: assign({
      passes: ({ context }) => context.passes + 1,
      lastPass: (_, summary: PassSummary) => summary,
    }),
  },
  delays: {
    startDelay: ({ context }) => context.settings.startDelayMs,
    untilNextMinute: ({ context }) => msToNextMinute(context.ports.clock.now()),
  },
}).createMachine({
  id: 'scheduler',
  initial: 'starting',
  context: ({ input }) => {
    const abort = new AbortController();
    return {
      ...input,
      passes: 0,
      lastPass: undefined,
      runs: { abort, signal: abort.signal, busy: new Set<string>(), running: new Set<Promise<void>>() },
    };
  },
  invoke: { src: 'lifetime', input: ({ context }) => ({ abort: context.runs.abort }) },
  states: {
    starting: {
      after: { startDelay: 'catchingUp' },
    },
    catchingUp: {
      invoke: {
        src: 'pass',
        input: ({ context }) => ({
          ports: context.ports,
          settings: context.settings,
          mode: 'catchup' as const,
          runs: context.runs,
        }),
        onDone: { target: 'idle', actions: { type: 'recordPass', params: ({ event }) => event.output } },
        onError: { target: 'idle', actions: ({ context, event }) => context.ports.onError(event.error) },
      },
    },
    idle: {
      after: { untilNextMinute: 'polling' },
      on: { POLL_NOW: 'polling' },
    },
    polling: {
      invoke: {
        src: 'pass',
        input: ({ context }) => ({
          ports: context.ports,
          settings: context.settings,
          mode: 'poll' as const,
          runs: context.runs,
        }),
        onDone: { target: 'idle', actions: { type: 'recordPass', params: ({ event }) => event.output } },
        onError: { target: 'idle', actions: ({ context, event }) => context.ports.onError(event.error) },
      },
    },
  },
});
