import { describe, expect, test } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { LiveInspection } from '../../../src/infra/inspect/live.js';
import { FakeRunner, makeJob, settle, startDispatcher } from './harness.js';

/** Gate actors mirror the dispatcher's counts with at most one SET per gate per step (DESIGN.md §2). */
describe('gate pool: one SET per gate per dispatcher step', () => {
  function gateEvents() {
    const events: { gate: string; type: string; inFlight?: number }[] = [];
    const inspect = (e: InspectionEvent) => {
      if (e.type !== '@xstate.event' || e.actorRef.getSnapshot().machine?.id !== 'gate') return;
      if (e.event.type.startsWith('xstate.')) return;
      const key = (e.actorRef.getSnapshot().context as { key: string }).key;
      events.push({ gate: key, type: e.event.type, inFlight: (e.event as { inFlight?: number }).inFlight });
    };
    return { events, inspect };
  }

  test('a job that ends while another of the same bot starts sends the bot gate nothing', async () => {
    const runner = new FakeRunner();
    const g = gateEvents();
    const d = startDispatcher(runner, {
      workers: 1,
      gateIdleMs: 10_000,
      inspection: new LiveInspection(g.inspect, true),
    });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('a', 'bot', 'A') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('b', 'bot', 'B') });
    await settle();
    expect(g.events).toEqual([
      { gate: 'bot', type: 'SET', inFlight: 1 },
      { gate: 'bot\u0000A', type: 'SET', inFlight: 1 },
    ]);
    g.events.length = 0;
    runner.resolve('a'); // one step: release A and bot, start b (bot again, room B)
    await settle();
    expect(g.events).toEqual([
      { gate: 'bot\u0000A', type: 'SET', inFlight: 0 },
      { gate: 'bot\u0000B', type: 'SET', inFlight: 1 },
    ]);
    expect(d.actor.getSnapshot().context.botGates.get('bot')?.getSnapshot().context.inFlight).toBe(1);
  });

  test('the gate actor shows saturated exactly while its count is at the limit', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { perRoom: 2 });
    for (const id of ['x1', 'x2', 'x3']) d.actor.send({ type: 'ENQUEUE', job: makeJob(id, 'bot', 'A') });
    await settle();
    const gate = d.actor.getSnapshot().context.roomGates.get('bot\u0000A')!;
    expect(gate.getSnapshot()).toMatchObject({ value: 'saturated', context: { inFlight: 2 } });
    runner.resolve('x1'); // x3 takes the freed slot in the same step: still saturated, no event needed
    await settle();
    expect(gate.getSnapshot()).toMatchObject({ value: 'saturated', context: { inFlight: 2 } });
    runner.resolve('x2');
    await settle();
    expect(gate.getSnapshot()).toMatchObject({ value: 'open', context: { inFlight: 1 } });
    expect(d.actor.getSnapshot().context.roomPool.inFlight('bot\u0000A')).toBe(1);
  });
});
