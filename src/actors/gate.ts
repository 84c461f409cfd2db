import { type ActorRefFrom, assign, createActor, setup } from 'xstate';
import type { Inspection } from './inspection.js';

/**
 * A concurrency gate (DESIGN.md §2): one per bot (30 in flight) and one per room (3 in flight),
 * PROTOCOL §7.6. The dispatcher counts (gate-pool.ts) and sends the gate its count with one SET
 * per step; the gate shows the inspector where work is held up (`saturated` = every slot taken).
 *
 * Gates are ROOT actors, not children of the dispatcher: spawning or stopping a child copies
 * the parent's children map, and there can be 100,000s of rooms (DESIGN.md §2, measured facts).
 */

export interface GateInput {
  key: string;
  limit: number;
}

export interface GateContext {
  key: string;
  inFlight: number;
  limit: number;
}

/**
 * SET mirrors the dispatcher's count (one per gate per dispatcher step, gate-pool.ts);
 * ACQUIRE/RELEASE count one slot each.
 */
export type GateEvent = { type: 'ACQUIRE' } | { type: 'RELEASE' } | { type: 'SET'; inFlight: number };

export const gateMachine = setup({
  types: {
    context: {} as GateContext,
    events: {} as GateEvent,
    input: {} as GateInput,
  },
  guards: {
    takesLastSlot: ({ context }) => context.inFlight + 1 >= context.limit,
    holdsAny: ({ context }) => context.inFlight > 0,
    setsFull: ({ context, event }) => event.type === 'SET' && event.inFlight >= context.limit,
  },
  actions: {
    set: assign({ inFlight: ({ context, event }) => (event.type === 'SET' ? event.inFlight : context.inFlight) }),
    take: assign({ inFlight: ({ context }) => context.inFlight + 1 }),
    give: assign({ inFlight: ({ context }) => context.inFlight - 1 }),
  },
}).createMachine({
  id: 'gate',
  context: ({ input }) => ({ key: input.key, inFlight: 0, limit: Math.max(1, input.limit) }),
  initial: 'open',
  states: {
    open: {
      on: {
        ACQUIRE: [{ guard: 'takesLastSlot', target: 'saturated', actions: 'take' }, { actions: 'take' }],
        // Targetless unless the state changes: a transition with a target costs several times more.
        SET: [{ guard: 'setsFull', target: 'saturated', actions: 'set' }, { actions: 'set' }],
        // A RELEASE without a matching ACQUIRE would drive the count negative: ignore it.
        RELEASE: { guard: 'holdsAny', actions: 'give' },
      },
    },
    saturated: {
      on: {
        // The dispatcher checks the snapshot before acquiring; an ACQUIRE here is a caller bug and
        // is ignored rather than letting the limit be exceeded.
        RELEASE: { target: 'open', actions: 'give' },
        SET: [
          { guard: 'setsFull', actions: 'set' },
          { target: 'open', actions: 'set' },
        ],
      },
    },
  },
});

export type GateRef = ActorRefFrom<typeof gateMachine>;

export interface GateStartOptions {
  /** where the gate reports for inspection; root actors have their own system, so it is passed explicitly */
  inspection?: Inspection;
  /** called if the gate actor ever errors (it cannot, short of a bug); keeps the process alive */
  onError: (key: string, error: unknown) => void;
}

/** Creates and starts a gate as a root actor, observed for errors (DESIGN.md §2). */
export function startGate(key: string, limit: number, options: GateStartOptions): GateRef {
  const gate = createActor(gateMachine, { input: { key, limit } });
  options.inspection?.attach(gate);
  // An actor that errors with no observer rethrows from a timer and kills the process.
  gate.subscribe({ error: (error) => options.onError(key, error) });
  return gate.start();
}

/** Slots in use on a gate (0 for a gate that does not exist). */
export function inFlightOf(gate: GateRef | undefined): number {
  return gate === undefined ? 0 : gate.getSnapshot().context.inFlight;
}
