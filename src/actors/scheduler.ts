import { assign, fromPromise, setup } from 'xstate';
import { msToNextMinute } from './schedule-rules.js';
import { type PassMode, type PassSummary, runPass } from './schedule-run.js';
import type { SchedulerPorts, SchedulerSettings } from './scheduler-ports.js';

/**
 * The scheduler (DESIGN.md §2, PROTOCOL §7.12): a catch-up pass `startDelayMs` after start, then
 * a poll at every full minute of the injected clock. Passes never overlap: the next minute is
 * waited for after a pass ends. Stopping the actor aborts a running pass's waits.
 */

export interface SchedulerInput {
  ports: SchedulerPorts;
  settings: SchedulerSettings;
}

interface SchedulerContext extends SchedulerInput {
  passes: number;
  lastPass: PassSummary | undefined;
}

interface PassInput extends SchedulerInput {
  mode: PassMode;
}

export const schedulerMachine = setup({
  types: {
    context: {} as SchedulerContext,
    input: {} as SchedulerInput,
    events: {} as { type: 'POLL_NOW' },
  },
  actors: {
    pass: fromPromise<PassSummary, PassInput>(({ input, signal }) =>
      runPass(input.ports, input.settings, input.mode, signal),
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
  context: ({ input }) => ({ ...input, passes: 0, lastPass: undefined }),
  states: {
    starting: {
      after: { startDelay: 'catchingUp' },
    },
    catchingUp: {
      invoke: {
        src: 'pass',
        input: ({ context }) => ({ ports: context.ports, settings: context.settings, mode: 'catchup' as const }),
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
        input: ({ context }) => ({ ports: context.ports, settings: context.settings, mode: 'poll' as const }),
        onDone: { target: 'idle', actions: { type: 'recordPass', params: ({ event }) => event.output } },
        onError: { target: 'idle', actions: ({ context, event }) => context.ports.onError(event.error) },
      },
    },
  },
});
