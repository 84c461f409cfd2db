import { describe, expect, test } from 'vitest';
import { type DispatcherEvent, type EnqueueEvent, sendInBatches } from '../../../src/actors/dispatcher.js';
import { FakeRunner, makeJob, recorder, settle, startDispatcher } from './harness.js';

/** ENQUEUE.BATCH: several ENQUEUEs in one dispatcher step, each handled exactly as alone (DESIGN.md §2). */
describe('ENQUEUE.BATCH', () => {
  test('same starts, refusals and replies as the same ENQUEUEs one by one', async () => {
    const outcome = async (batched: boolean) => {
      const runner = new FakeRunner();
      const d = startDispatcher(runner, { workers: 2, capacity: 3, perRoom: 1 });
      const conn = recorder();
      const items: EnqueueEvent[] = ['a1', 'a2', 'b1', 'a3', 'c1', 'c2', 'c3'].map((id) => ({
        type: 'ENQUEUE',
        job: makeJob(id, 'bot', id[0]!),
        replyTo: conn.ref,
      }));
      if (batched) d.actor.send({ type: 'ENQUEUE.BATCH', items });
      else for (const item of items) d.actor.send(item);
      await settle();
      const ctx = d.actor.getSnapshot().context;
      return {
        started: [...runner.started],
        replies: conn.events.map((e) => `${e.type}:${(e as { jobId?: string }).jobId}`),
        counts: { waiting: ctx.waiting, running: ctx.running, refused: ctx.refused },
      };
    };
    const single = await outcome(false);
    expect(single.counts).toEqual({ waiting: 3, running: 2, refused: 2 });
    expect(await outcome(true)).toEqual(single);
  });

  test('sendInBatches: consecutive ENQUEUEs become one batch, other events keep their place, growth is sent', () => {
    const sent: DispatcherEvent[] = [];
    const e = (id: string): EnqueueEvent => ({ type: 'ENQUEUE', job: makeJob(id) });
    const events: DispatcherEvent[] = [e('1'), e('2'), { type: 'SHUTDOWN' }, e('3')];
    sendInBatches(events, (event) => {
      sent.push(event);
      if (sent.length === 1) events.push(e('4')); // submitted while the first batch was handled
    });
    expect(sent.map((x) => (x.type === 'ENQUEUE.BATCH' ? x.items.map((i) => i.job.id) : x.type))).toEqual([
      ['1', '2'],
      'SHUTDOWN',
      ['3', '4'],
    ]);
  });
});
