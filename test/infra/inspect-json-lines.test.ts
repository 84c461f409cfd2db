import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock, setup } from 'xstate';
import { summarizeActor } from '../../src/infra/inspect/actor-summary.js';
import { createInspectObserver } from '../../src/infra/inspect/json-lines.js';
import { createLoggers } from '../../src/infra/logger.js';

/** A small connection-like machine: a child actor, a nested state, an `after` timer and a final state. */
const connection = setup({
  types: {
    context: {} as { socket: { secret: string }; pings: number },
    events: {} as { type: 'HELLO' } | { type: 'BYE'; text: string },
  },
  actors: { reader: fromCallback(() => () => {}) },
  delays: { ping: 1_000 },
}).createMachine({
  id: 'conn',
  context: { socket: { secret: 'socket-internals' }, pings: 0 },
  initial: 'handshaking',
  states: {
    handshaking: { on: { HELLO: 'active' } },
    active: {
      invoke: { id: 'reader', src: 'reader' },
      initial: 'idle',
      states: { idle: { after: { ping: 'pinging' } }, pinging: {} },
      on: { BYE: 'closed' },
    },
    closed: { type: 'final' },
  },
});

interface Line {
  msg: string;
  cat?: string;
  level?: number;
  actor?: string;
  session?: string;
  parent?: string;
  machine?: string;
  event?: string;
  value?: unknown;
  status?: string;
}

function capture(categoryLevel: 'info' | 'warn' = 'info') {
  const raw: string[] = [];
  const loggers = createLoggers({
    level: 'info',
    categories: { inspect: categoryLevel },
    destination: { write: (s: string) => raw.push(s) },
  });
  return { loggers, raw, lines: () => raw.map((s) => JSON.parse(s) as Line) };
}

/** Runs one full lifecycle: start, handshake, one ping timer, goodbye, done. */
function runLifecycle(inspect: (ev: never) => void, between?: () => void) {
  const clock = new SimulatedClock();
  const actor = createActor(connection, { clock, inspect: inspect as never });
  actor.start();
  actor.send({ type: 'HELLO' });
  between?.();
  clock.increment(1_000);
  actor.send({ type: 'BYE', text: 'private chat text' });
  return actor;
}

describe('JSON-lines inspect observer', () => {
  it('records a full actor lifecycle through the inspect category, one JSON line each', () => {
    const { loggers, raw, lines } = capture();
    const inspector = createInspectObserver(loggers.cat.inspect);
    expect(inspector.enabled).toBe(true);
    const actor = runLifecycle(inspector.observer);
    expect(actor.getSnapshot().status).toBe('done');

    const all = lines();
    expect(all.every((l) => l.cat === 'inspect' && l.level === 30)).toBe(true);
    expect(raw.every((s) => s.endsWith('\n') && !s.slice(0, -1).includes('\n'))).toBe(true);

    const root = all.find((l) => l.msg === '@xstate.actor' && l.machine === 'conn');
    expect(root?.session).toBe(actor.sessionId);
    expect(root?.parent).toBeUndefined();
    const reader = all.find((l) => l.msg === '@xstate.actor' && l.actor === 'reader');
    expect(reader).toMatchObject({ parent: actor.sessionId });

    const events = all.filter((l) => l.msg === '@xstate.event' && l.session === actor.sessionId).map((l) => l.event);
    expect(events).toEqual(['xstate.init', 'HELLO', 'xstate.after.ping.conn.active.idle', 'BYE']);

    const states = all
      .filter((l) => l.msg === '@xstate.snapshot' && l.session === actor.sessionId)
      .map((l) => [l.event, l.value, l.status]);
    expect(states).toEqual([
      ['xstate.init', 'handshaking', 'active'],
      ['HELLO', { active: 'idle' }, 'active'],
      ['xstate.after.ping.conn.active.idle', { active: 'pinging' }, 'active'],
      ['BYE', 'closed', 'done'],
    ]);

    // contexts (sockets) and event payloads (chat text) never reach the log
    const text = raw.join('');
    expect(text).not.toContain('socket-internals');
    expect(text).not.toContain('private chat text');
  });

  it('writes nothing while switched off and picks up when switched on at run time', () => {
    const { loggers, lines } = capture();
    const inspector = createInspectObserver(loggers.cat.inspect, { enabled: false });
    const actor = runLifecycle(inspector.observer, () => inspector.setEnabled(true));
    const snapshots = lines().filter((l) => l.msg === '@xstate.snapshot' && l.session === actor.sessionId);
    // only what happened after the switch: the timer and the goodbye
    expect(snapshots.map((l) => l.value)).toEqual([{ active: 'pinging' }, 'closed']);
    expect(lines().some((l) => l.event === 'HELLO')).toBe(false);

    inspector.setEnabled(false);
    const before = lines().length;
    runLifecycle(inspector.observer);
    expect(lines().length).toBe(before);
  });

  it('stays quiet when the inspect category is above info', () => {
    const { loggers, raw } = capture('warn');
    runLifecycle(createInspectObserver(loggers.cat.inspect).observer);
    expect(raw).toEqual([]);
  });

  it('can write the lines to a file instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-inspect-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'sub', 'inspect.jsonl');
    const { loggers, raw } = capture();
    const inspector = createInspectObserver(loggers.cat.inspect, { file });
    runLifecycle(inspector.observer);
    await inspector.close();
    expect(raw).toEqual([]);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((s) => JSON.parse(s) as Line);
    expect(lines.filter((l) => l.msg === '@xstate.snapshot' && l.status === 'done').map((l) => l.value)).toContain(
      'closed',
    );
    expect(lines[0]).toMatchObject({ cat: 'inspect', msg: '@xstate.actor', machine: 'conn' });
  });
});

describe('summarizeActor', () => {
  it('shows id, machine, state value and children, never the context', () => {
    const actor = createActor(connection, { id: 'conn:bot/dev', clock: new SimulatedClock() });
    actor.start();
    actor.send({ type: 'HELLO' });
    const summary = summarizeActor(actor);
    expect(summary).toMatchObject({
      id: 'conn:bot/dev',
      session: actor.sessionId,
      machine: 'conn',
      status: 'active',
      value: { active: 'idle' },
      children: [{ id: 'reader', status: 'active' }],
    });
    expect(JSON.stringify(summary)).not.toContain('socket-internals');
    actor.stop();
  });
});
