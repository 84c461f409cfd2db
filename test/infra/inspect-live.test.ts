import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, createMachine, type InspectionEvent } from 'xstate';
import { LiveInspection } from '../../src/infra/inspect/live.js';

const toggle = createMachine({
  id: 'toggle',
  initial: 'off',
  states: { off: { on: { FLIP: 'on' } }, on: { on: { FLIP: 'off', END: 'done' } }, done: { type: 'final' } },
});

function eventsOf(seen: InspectionEvent[], actor: AnyActorRef): string[] {
  return seen
    .filter((e) => e.type === '@xstate.event' && e.actorRef === actor)
    .map((e) => (e as { event: { type: string } }).event.type);
}

describe('LiveInspection: observers only while on (DESIGN.md §2)', () => {
  it('sees an attached actor from its start while on, nothing while off, and again when switched back on', () => {
    const seen: InspectionEvent[] = [];
    const inspection = new LiveInspection((e) => seen.push(e), true);
    const a = createActor(toggle);
    inspection.attach(a);
    a.start();
    a.send({ type: 'FLIP' });
    expect(eventsOf(seen, a)).toEqual(['xstate.init', 'FLIP']);

    inspection.setEnabled(false);
    a.send({ type: 'FLIP' });
    const b = createActor(toggle);
    inspection.attach(b);
    b.start();
    b.send({ type: 'FLIP' });
    expect(eventsOf(seen, a)).toEqual(['xstate.init', 'FLIP']);
    expect(eventsOf(seen, b)).toEqual([]);

    inspection.setEnabled(true);
    a.send({ type: 'FLIP' });
    b.send({ type: 'FLIP' });
    expect(eventsOf(seen, a)).toEqual(['xstate.init', 'FLIP', 'FLIP']);
    expect(eventsOf(seen, b)).toEqual(['FLIP']);
    expect(inspection.size).toBe(2);
  });

  it('forgets actors that stop or finish', () => {
    const inspection = new LiveInspection(() => {}, false);
    const stopped = createActor(toggle);
    const finished = createActor(toggle);
    inspection.attach(stopped);
    inspection.attach(finished);
    stopped.start();
    finished.start();
    expect(inspection.size).toBe(2);
    stopped.stop();
    finished.send({ type: 'FLIP' });
    finished.send({ type: 'END' });
    expect(inspection.size).toBe(0);
    inspection.setEnabled(true);
    expect(inspection.size).toBe(0);
  });
});
