import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { WorkerCrash } from '../../../src/actors/worker.js';
import { FakeRunner, makeJob, recorder, settle, startDispatcher } from './harness.js';

const arrive = fc.record({ kind: fc.constant('arrive' as const), bot: fc.nat(2), room: fc.nat(3) });
const finish = fc.record({
  kind: fc.constant('finish' as const),
  pick: fc.nat(),
  end: fc.constantFrom('resolve', 'resolve', 'resolve', 'reject', 'crash'),
  settle: fc.boolean(),
});
const tick = fc.record({ kind: fc.constant('tick' as const) });
const ops = fc.array(
  fc.oneof({ arbitrary: arrive, weight: 5 }, { arbitrary: finish, weight: 5 }, { arbitrary: tick, weight: 1 }),
  {
    maxLength: 80,
  },
);
const limits = fc.record({
  perBot: fc.integer({ min: 1, max: 4 }),
  perRoom: fc.integer({ min: 1, max: 3 }),
  workers: fc.integer({ min: 1, max: 6 }),
  capacity: fc.integer({ min: 2, max: 15 }),
});

describe('dispatcher properties (PROTOCOL §7.6)', () => {
  test.prop([limits, ops], { numRuns: 150 })(
    'limits hold, every accepted message ends exactly once, each room starts in arrival order',
    async (limit, script) => {
      const runner = new FakeRunner();
      const violations: string[] = [];
      const d = startDispatcher(runner, { ...limit, deadlineMs: 1_000 });
      // live = started and not abandoned (a timed-out run's signal is aborted when its worker leaves it)
      const live = () => [...runner.live.values()].filter((r) => !r.signal.aborted);
      runner.onStart = () => {
        const bots = new Map<string, number>();
        const rooms = new Map<string, number>();
        for (const r of live()) {
          bots.set(r.job.botKey, (bots.get(r.job.botKey) ?? 0) + 1);
          rooms.set(r.job.roomKey, (rooms.get(r.job.roomKey) ?? 0) + 1);
        }
        for (const [k, n] of bots) if (n > limit.perBot) violations.push(`bot ${k}: ${n}`);
        for (const [k, n] of rooms) if (n > limit.perRoom) violations.push(`room ${k}: ${n}`);
        const ctx = d.actor.getSnapshot().context;
        for (const g of [...ctx.botGates.values(), ...ctx.roomGates.values()]) {
          const { inFlight, limit: max } = g.getSnapshot().context;
          if (inFlight > max) violations.push(`gate ${g.getSnapshot().context.key}: ${inFlight}`);
        }
      };
      const conn = recorder();
      const accepted: string[] = [];
      const arrivals = new Map<string, string[]>();
      let n = 0;
      for (const op of script) {
        if (op.kind === 'arrive') {
          const job = makeJob(`j${n++}`, `b${op.bot}`, `r${op.room}`);
          const before = conn.events.length;
          d.actor.send({ type: 'ENQUEUE', job, replyTo: conn.ref });
          if (conn.events.length === before) {
            accepted.push(job.id);
            arrivals.set(job.roomKey, [...(arrivals.get(job.roomKey) ?? []), job.id]);
          }
        } else if (op.kind === 'tick') {
          d.clock.increment(1_000);
          await settle();
        } else {
          const runs = live();
          const run = runs[op.pick % Math.max(1, runs.length)];
          if (run !== undefined) {
            if (op.end === 'resolve') run.resolve();
            else if (op.end === 'reject') run.reject(new Error('handler failed'));
            else run.reject(new WorkerCrash('crash'));
          }
          if (op.settle) await settle();
        }
      }
      // drain: let everything still accepted run to its end
      for (let round = 0; round < 500; round++) {
        await settle();
        const ctx = d.actor.getSnapshot().context;
        if (ctx.waiting === 0 && ctx.running === 0) break;
        for (const r of live()) r.resolve();
      }

      expect(violations).toEqual([]);
      const ends = new Map<string, number>();
      for (const o of d.outcomes) ends.set(o.job.id, (ends.get(o.job.id) ?? 0) + 1);
      expect([...ends.keys()].sort()).toEqual([...accepted].sort());
      expect([...ends.values()].every((c) => c === 1)).toBe(true);
      for (const [room, ids] of arrivals) {
        const firstStarts = [...new Set(runner.started.filter((id) => ids.includes(id)))];
        expect(firstStarts, room).toEqual(ids);
      }
      const ctx = d.actor.getSnapshot().context;
      expect(ctx.processed + ctx.failed).toBe(accepted.length);
      expect(ctx.refused).toBe(n - accepted.length);
      expect(ctx.queues.size + ctx.bots.size + ctx.ready.size + ctx.roomGates.size + ctx.botGates.size).toBe(0);
      expect(d.errors).toEqual([]);
    },
  );
});
