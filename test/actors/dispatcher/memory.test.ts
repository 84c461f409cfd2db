import { describe, expect, test } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { dispatcherMachine } from '../../../src/actors/dispatcher.js';
import { fromJobRunner } from '../../../src/actors/job-runner.js';
import { DEFAULTS, makeJob, settle } from './harness.js';

describe('dispatcher memory (issue 3: flat after 100,000 rooms)', () => {
  test('after 100,000 different rooms each sent one message, no gate, queue or bot entry remains', async () => {
    const clock = new SimulatedClock();
    let processed = 0;
    const d = createActor(
      dispatcherMachine.provide({
        actors: { runJob: fromJobRunner(async () => {}) },
        actions: { reportOutcome: (_, p) => void (p.outcome.status === 'processed' && processed++) },
      }),
      // the gateway's defaults: idle gates are kept 10 s, at most 1,000 of each kind
      { clock, input: { ...DEFAULTS, gateIdleMs: 10_000, maxIdleGates: 1_000, now: () => clock.now() } },
    );
    const errors: unknown[] = [];
    d.subscribe({ error: (e) => errors.push(e) });
    d.start();

    const rooms = 100_000;
    const batch = 5_000; // below the mailbox size, so nothing is refused
    let peakRoomGates = 0;
    for (let i = 0; i < rooms; i += batch) {
      for (let j = i; j < i + batch; j++) {
        d.send({ type: 'ENQUEUE', job: makeJob(`m${j}`, `bot${j % 5}`, `room${j}`) });
      }
      peakRoomGates = Math.max(peakRoomGates, d.getSnapshot().context.roomGates.size);
      while (d.getSnapshot().context.waiting + d.getSnapshot().context.running > 0) await settle();
    }

    const ctx = d.getSnapshot().context;
    // bounded while rooms keep arriving: the idle ones kept plus at most one per busy worker
    expect(peakRoomGates).toBeLessThanOrEqual(1_000 + DEFAULTS.workers);
    expect(ctx.roomGates.size).toBeGreaterThan(0);
    clock.increment(10_000); // the idle gates' time is up
    await settle();
    expect(errors).toEqual([]);
    expect(processed).toBe(rooms);
    expect(ctx.refused).toBe(0);
    expect(peakRoomGates).toBeGreaterThan(0); // gates did exist while work was in flight
    expect(ctx.idleRoomGates.size + ctx.idleBotGates.size).toBe(0);
    expect(ctx.roomGates.size).toBe(0);
    expect(ctx.botGates.size).toBe(0);
    expect(ctx.queues.size).toBe(0);
    expect(ctx.bots.size).toBe(0);
    expect(ctx.ready.size).toBe(0);
    expect(ctx.waiters.size).toBe(0);
    expect(Object.keys(d.getSnapshot().children)).toHaveLength(DEFAULTS.workers);
  });
});
