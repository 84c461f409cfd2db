import { describe, expect, test } from 'vitest';
import { gateSummary } from '../../../src/actors/dispatcher.js';
import { FakeRunner, makeJob, settle, startDispatcher } from './harness.js';

/** Counts live runs per bot and per room as the handlers see them, keeping the maxima. */
function concurrencyProbe(runner: FakeRunner) {
  const maxBot = new Map<string, number>();
  const maxRoom = new Map<string, number>();
  runner.onStart = () => {
    const bots = new Map<string, number>();
    const rooms = new Map<string, number>();
    for (const run of runner.live.values()) {
      bots.set(run.job.botKey, (bots.get(run.job.botKey) ?? 0) + 1);
      rooms.set(run.job.roomKey, (rooms.get(run.job.roomKey) ?? 0) + 1);
    }
    for (const [k, n] of bots) maxBot.set(k, Math.max(maxBot.get(k) ?? 0, n));
    for (const [k, n] of rooms) maxRoom.set(k, Math.max(maxRoom.get(k) ?? 0, n));
  };
  return { maxBot, maxRoom };
}

describe('dispatcher gates (PROTOCOL §7.6)', () => {
  test('never more than 30 in flight per bot and 3 per room, and both limits are used', async () => {
    const runner = new FakeRunner();
    const probe = concurrencyProbe(runner);
    const d = startDispatcher(runner, { workers: 40 });
    for (let i = 0; i < 100; i++) d.actor.send({ type: 'ENQUEUE', job: makeJob(`j${i}`, 'bot', `room${i % 20}`) });
    await settle();

    expect(runner.live.size).toBe(30);
    const ctx = d.actor.getSnapshot().context;
    expect(ctx.running).toBe(30);
    expect(ctx.waiting).toBe(70);
    expect(ctx.botGates.get('bot')?.getSnapshot().value).toBe('saturated');

    // finish everything in an arbitrary order, a few at a time
    while (runner.live.size > 0) {
      const ids = [...runner.live.keys()];
      for (const id of ids.filter((_, i) => i % 3 === 0)) runner.resolve(id);
      await settle();
    }
    expect(probe.maxBot.get('bot')).toBe(30);
    expect(Math.max(...probe.maxRoom.values())).toBe(3);
    expect(d.outcomes).toHaveLength(100);
    expect(d.actor.getSnapshot().context.processed).toBe(100);
  });

  test('a room whose 3 slots are held by slow handlers does not delay other rooms or other bots', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner);
    for (let i = 0; i < 5; i++) d.actor.send({ type: 'ENQUEUE', job: makeJob(`slow${i}`, 'bot', 'A') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('b1', 'bot', 'B') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('c1', 'other', 'C') });
    await settle();

    expect(runner.started).toEqual(['slow0', 'slow1', 'slow2', 'b1', 'c1']);
    runner.resolve('b1');
    runner.resolve('c1');
    await settle();
    expect(d.outcomeOf('b1')).toEqual([{ status: 'processed' }]);
    expect(d.outcomeOf('c1')).toEqual([{ status: 'processed' }]);
    // room A's 4th message waits for one of its own slots, not for anything else
    expect(runner.live.has('slow3')).toBe(false);
    runner.resolve('slow1');
    await settle();
    expect(runner.started.at(-1)).toBe('slow3');
    expect(d.actor.getSnapshot().context.roomGates.get('bot\u0000A')?.getSnapshot().value).toBe('saturated');
  });

  test('messages of one room start in arrival order', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { perRoom: 3 });
    const ids = Array.from({ length: 12 }, (_, i) => `m${i}`);
    for (const id of ids) d.actor.send({ type: 'ENQUEUE', job: makeJob(id, 'bot', 'A') });
    await settle();
    // finish in reverse order each round; starts must still follow arrival
    while (runner.live.size > 0) {
      for (const id of [...runner.live.keys()].reverse()) runner.resolve(id);
      await settle();
    }
    expect(runner.started).toEqual(ids);
  });

  test('rooms are served round-robin: one message in room B does not wait behind 100 in room A', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { workers: 1, perRoom: 100, perBot: 100 });
    for (let i = 0; i < 100; i++) d.actor.send({ type: 'ENQUEUE', job: makeJob(`a${i}`, 'bot', 'A') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('b0', 'bot', 'B') });
    for (let i = 0; i < 3; i++) {
      await settle();
      runner.resolve(runner.started.at(-1)!);
    }
    await settle();
    expect(runner.started.indexOf('b0')).toBeGreaterThan(-1);
    expect(runner.started.indexOf('b0')).toBeLessThanOrEqual(2);
  });

  test('gates exist while work is in flight or waiting, are listed, and are stopped when idle and empty', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { perRoom: 1 });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('x1', 'bot', 'A') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('x2', 'bot', 'A') });
    await settle();
    const ctx = d.actor.getSnapshot().context;
    expect(gateSummary(ctx)).toEqual([
      { kind: 'bot', key: 'bot', state: 'open', inFlight: 1, limit: 30, waiting: 1 },
      { kind: 'room', key: 'bot\u0000A', state: 'saturated', inFlight: 1, limit: 1, waiting: 1 },
    ]);
    const roomGate = ctx.roomGates.get('bot\u0000A')!;
    runner.resolve('x1');
    await settle();
    expect(ctx.roomGates.get('bot\u0000A')).toBe(roomGate); // still needed by x2
    runner.resolve('x2');
    await settle();
    expect(roomGate.getSnapshot().status).toBe('stopped');
    expect(gateSummary(d.actor.getSnapshot().context)).toEqual([]);
    expect(ctx.queues.size + ctx.bots.size + ctx.ready.size).toBe(0);
  });

  test('with gateIdleMs an idle gate stays open for reuse and is stopped once idle that long', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { gateIdleMs: 10_000 });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('a1', 'bot', 'A') });
    await settle();
    const ctx = d.actor.getSnapshot().context;
    const roomGate = ctx.roomGates.get('bot\u0000A')!;
    runner.resolve('a1');
    await settle();
    // idle and empty: kept, visible as open with nothing in flight
    expect(gateSummary(ctx)).toEqual([
      { kind: 'bot', key: 'bot', state: 'open', inFlight: 0, limit: 30, waiting: 0 },
      { kind: 'room', key: 'bot\u0000A', state: 'open', inFlight: 0, limit: 3, waiting: 0 },
    ]);

    // the room speaks again within the window: the same gate actor serves it
    d.clock.increment(6_000);
    d.actor.send({ type: 'ENQUEUE', job: makeJob('a2', 'bot', 'A') });
    await settle();
    expect(ctx.roomGates.get('bot\u0000A')).toBe(roomGate);
    expect(roomGate.getSnapshot().context.inFlight).toBe(1);
    runner.resolve('a2');
    await settle();

    // the first sweep (10 s after a1) finds the gates idle for only 4 s: they stay
    d.clock.increment(4_000);
    await settle();
    expect(roomGate.getSnapshot().status).toBe('active');
    // 10 s after a2 they go
    d.clock.increment(6_000);
    await settle();
    expect(roomGate.getSnapshot().status).toBe('stopped');
    expect(gateSummary(ctx)).toEqual([]);
    expect(ctx.idleRoomGates.size + ctx.idleBotGates.size).toBe(0);
    expect(d.actor.getSnapshot().context.sweepArmed).toBe(false);
  });

  test('idle gates beyond maxIdleGates are stopped at once, longest idle first', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { gateIdleMs: 10_000, maxIdleGates: 2 });
    for (const room of ['A', 'B', 'C']) {
      d.actor.send({ type: 'ENQUEUE', job: makeJob(`m${room}`, 'bot', room) });
      await settle();
      runner.resolve(`m${room}`);
      await settle();
      d.clock.increment(1);
    }
    const ctx = d.actor.getSnapshot().context;
    expect([...ctx.roomGates.keys()]).toEqual(['bot\u0000B', 'bot\u0000C']);
    expect([...ctx.idleRoomGates.keys()]).toEqual(['bot\u0000B', 'bot\u0000C']);
  });

  test('a dispatcher that closes stops its idle gates', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { gateIdleMs: 10_000 });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('a1', 'bot', 'A') });
    await settle();
    runner.resolve('a1');
    await settle();
    const ctx = d.actor.getSnapshot().context;
    const gates = [...ctx.roomGates.values(), ...ctx.botGates.values()];
    expect(gates).toHaveLength(2);
    d.actor.send({ type: 'SHUTDOWN' });
    expect(d.actor.getSnapshot().value).toBe('closed');
    expect(gates.map((g) => g.getSnapshot().status)).toEqual(['stopped', 'stopped']);
    expect(ctx.roomGates.size + ctx.botGates.size).toBe(0);
  });
});

describe('gate sync deferred to once per turn (DESIGN.md §2, deferGateSync)', () => {
  /** Five jobs in room A, each started and finished before the next; returns the SETs room A's gate got. */
  async function fiveJobs(deferred: boolean) {
    const runner = new FakeRunner();
    const pending: (() => void)[] = [];
    const d = startDispatcher(runner, {
      gateIdleMs: 60_000,
      ...(deferred ? { deferGateSync: (flush: () => void) => pending.push(flush) } : {}),
    });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('first', 'bot', 'A') });
    await settle();
    const gate = d.actor.getSnapshot().context.roomGates.get('bot\u0000A')!;
    const seen: number[] = [];
    gate.subscribe((s) => seen.push(s.context.inFlight));
    const syncs = () => {
      for (const flush of pending.splice(0)) flush();
    };
    syncs();
    const mirrored = gate.getSnapshot().context.inFlight;
    runner.resolve('first');
    await settle();
    for (let i = 0; i < 5; i++) {
      d.actor.send({ type: 'ENQUEUE', job: makeJob(`j${i}`, 'bot', 'A') });
      await settle();
      runner.resolve(`j${i}`);
      await settle();
    }
    const before = gate.getSnapshot().context.inFlight;
    syncs();
    return { mirrored, seen, before, after: gate.getSnapshot().context.inFlight, processed: d.outcomes.length };
  }

  test('per step: every start and every end is a SET on the gate', async () => {
    const r = await fiveJobs(false);
    expect(r.mirrored).toBe(1);
    expect(r.seen).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
    expect(r.processed).toBe(6);
  });

  test('deferred: the gate learns its count at the sync, with one SET for all the steps between', async () => {
    const r = await fiveJobs(true);
    expect(r.mirrored).toBe(1); // the first sync brought the new gate up to date
    expect(r.before).toBe(1); // five jobs came and went without an event to the gate
    expect(r.seen).toEqual([1, 0]); // the first sync, then one SET for ten steps
    expect(r.after).toBe(0);
    expect(r.processed).toBe(6);
  });
});
