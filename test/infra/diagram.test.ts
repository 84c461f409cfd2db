import { describe, expect, it } from 'vitest';
import { createMachine, fromPromise, not, setup } from 'xstate';
import { toMermaid } from '../../src/infra/diagram.js';

const machine = setup({
  types: { events: {} as { type: 'HELLO' } | { type: 'BYE' } | { type: 'PONG' } | { type: 'LIMIT' } },
  guards: { validHello: () => true, full: () => false },
  delays: { pingInterval: 30_000 },
  actors: { lookup: fromPromise(async () => 'full') },
}).createMachine({
  id: 'connection',
  initial: 'handshaking',
  states: {
    handshaking: {
      on: { HELLO: [{ target: 'approving', guard: 'validHello' }, { target: 'closed' }] },
      after: { 10000: 'closed' },
    },
    approving: {
      invoke: { id: 'lookup', src: 'lookup', onDone: 'active', onError: 'closed' },
    },
    active: {
      type: 'parallel',
      on: { BYE: 'closed' },
      states: {
        heartbeat: {
          initial: 'idle',
          states: {
            idle: { after: { pingInterval: 'awaitingPong' } },
            awaitingPong: { on: { PONG: 'idle' } },
          },
        },
        standing: {
          initial: 'idle',
          states: {
            idle: { on: { LIMIT: { target: 'limited', guard: not('full') } } },
            limited: {},
          },
        },
      },
    },
    closed: { type: 'final' },
  },
});

describe('toMermaid', () => {
  it('draws states, nesting, parallel regions, timers, guards, initial and final states', () => {
    expect(toMermaid(machine)).toBe(
      [
        'stateDiagram-v2',
        '  [*] --> handshaking',
        '  handshaking',
        '  approving',
        '  state active {',
        '    state heartbeat {',
        '      [*] --> active_heartbeat_idle',
        '      state "idle" as active_heartbeat_idle',
        '      awaitingPong',
        '      active_heartbeat_idle --> awaitingPong : after pingInterval (30000ms)',
        '      awaitingPong --> active_heartbeat_idle : PONG',
        '    }',
        '    --',
        '    state standing {',
        '      [*] --> active_standing_idle',
        '      state "idle" as active_standing_idle',
        '      limited',
        '      active_standing_idle --> limited : LIMIT [not(full)]',
        '    }',
        '  }',
        '  closed',
        '  handshaking --> approving : HELLO [validHello]',
        '  handshaking --> closed : HELLO',
        '  handshaking --> closed : after 10000ms',
        '  approving --> active : done: lookup',
        '  approving --> closed : error: lookup',
        '  active --> closed : BYE',
        '  closed --> [*]',
        '',
      ].join('\n'),
    );
  });

  it('draws eventless and cross-level transitions at the level that holds both ends', () => {
    const nested = setup({ guards: { ready: () => true }, actors: { load: fromPromise(async () => 1) } }).createMachine(
      {
        id: 'm',
        initial: 'a',
        states: {
          a: { always: { target: 'b.inner', guard: 'ready' } },
          b: {
            initial: 'x',
            states: {
              x: { on: { NEXT: 'inner' }, invoke: { src: 'load', onDone: 'inner' } },
              inner: { on: { OUT: '#m.done' } },
            },
          },
          done: { type: 'final' },
        },
      },
    );
    const lines = toMermaid(nested).split('\n');
    expect(lines).toContain('    x --> inner : NEXT'); // inside b
    expect(lines).toContain('    x --> inner : done: load'); // an invoke without id is named by its src
    expect(lines).toContain('  a --> inner : always [ready]'); // top level
    expect(lines).toContain('  inner --> done : OUT');
    expect(lines).toContain('  done --> [*]');
    expect(lines.filter((l) => l.includes('{')).length).toBe(lines.filter((l) => l.includes('}')).length);
  });
});

describe('toMermaid: root transitions', () => {
  it('shows a transition of the machine root as a note on its target', () => {
    const m = createMachine({
      id: 'r',
      initial: 'a',
      on: { RESET: '.a', STOP: '.done' },
      states: { a: { on: { GO: 'b' } }, b: {}, done: { type: 'final' } },
    });
    const out = toMermaid(m);
    expect(out).toContain('note left of a : from any state on RESET');
    expect(out).toContain('note left of done : from any state on STOP');
  });
});
