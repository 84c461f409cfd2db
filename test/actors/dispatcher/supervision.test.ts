import { describe, expect, test } from 'vitest';
import { createActor } from 'xstate';
import { dispatcherMachine } from '../../../src/actors/dispatcher.js';
import { WorkerCrash } from '../../../src/actors/worker.js';
import { DEFAULTS, FakeRunner, makeJob, settle, startDispatcher } from './harness.js';

describe('workers: deadline, errors, crashes (DESIGN.md §2)', () => {
  test('a handler that never settles fails with timeout at the deadline, is aborted, and frees its worker', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { workers: 1, deadlineMs: 300_000 });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('stuck', 'bot', 'A') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('next', 'bot', 'B') });
    await settle();
    const stuck = runner.runs.get('stuck')!;

    d.clock.increment(299_999);
    await settle();
    expect(d.outcomes).toEqual([]);
    expect(stuck.signal.aborted).toBe(false);

    d.clock.increment(1);
    await settle();
    expect(d.outcomeOf('stuck')).toEqual([{ status: 'failed', reason: 'timeout' }]);
    expect(d.outcomes[0]).toMatchObject({ waitedMs: 0, ranMs: 300_000 });
    expect(stuck.signal.aborted).toBe(true);
    // the only worker took the next message
    expect(runner.started).toEqual(['stuck', 'next']);
    expect(d.actor.getSnapshot().children['worker-0']?.getSnapshot().value).toBe('running');

    // a late settlement of the abandoned handler changes nothing
    stuck.resolve();
    runner.resolve('next');
    await settle();
    expect(d.outcomes.map((o) => [o.job.id, o.outcome.status])).toEqual([
      ['stuck', 'failed'],
      ['next', 'processed'],
    ]);
    expect(d.actor.getSnapshot().context).toMatchObject({ processed: 1, failed: 1, running: 0 });
    expect(d.actor.getSnapshot().children['worker-0']?.getSnapshot().value).toBe('idle');
  });

  test('a handler that rejects fails with error and the worker is idle again', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { workers: 1 });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('bad') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('good') });
    await settle();
    runner.reject('bad', new Error('boom'));
    await settle();
    expect(d.outcomeOf('bad')).toEqual([{ status: 'failed', reason: 'error', error: 'boom' }]);
    runner.resolve('good');
    await settle();
    expect(d.outcomeOf('good')).toEqual([{ status: 'processed' }]);
    expect(d.restarts).toEqual([]);
  });

  test('without a provided runJob every message fails with error (nothing hangs)', async () => {
    const outcomes: string[] = [];
    const actor = createActor(
      dispatcherMachine.provide({ actions: { reportOutcome: (_, p) => outcomes.push(p.outcome.status) } }),
      { input: DEFAULTS },
    ).start();
    actor.send({ type: 'ENQUEUE', job: makeJob('m') });
    await settle();
    expect(outcomes).toEqual(['failed']);
  });

  test('a crashed worker is restarted under the same id and its message re-queued once at the head of its room', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { workers: 1, perRoom: 1 });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('m1', 'bot', 'A') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('m2', 'bot', 'A') });
    await settle();
    const before = d.actor.getSnapshot().children['worker-0'];
    runner.reject('m1', new WorkerCrash('worker state corrupt'));
    await settle();

    expect(d.restarts).toEqual([{ workerId: 'worker-0', error: 'worker state corrupt' }]);
    const after = d.actor.getSnapshot().children['worker-0'];
    expect(after).not.toBe(before);
    expect(before?.getSnapshot().status).toBe('error'); // the crashed one, no longer a child
    expect(after?.getSnapshot().status).toBe('active');
    expect(Object.keys(d.actor.getSnapshot().children)).toEqual(['worker-0']);
    // m1 runs again before m2 (head of its room), as its second attempt
    expect(runner.started).toEqual(['m1', 'm1']);
    expect(runner.runs.get('m1')?.job.attempts).toBe(2);
    runner.resolve('m1');
    await settle();
    runner.resolve('m2');
    await settle();
    expect(d.outcomes.map((o) => [o.job.id, o.outcome.status])).toEqual([
      ['m1', 'processed'],
      ['m2', 'processed'],
    ]);
    expect(d.actor.getSnapshot().context).toMatchObject({ healthy: true, restarts: 1, running: 0, waiting: 0 });
    expect(d.errors).toEqual([]);
  });

  test('a message that crashes a worker twice ends failed with crash', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { workers: 2 });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('poison') });
    await settle();
    runner.reject('poison', new WorkerCrash('first'));
    await settle();
    runner.reject('poison', new WorkerCrash('second'));
    await settle();
    expect(d.outcomeOf('poison')).toEqual([{ status: 'failed', reason: 'crash', error: 'second' }]);
    expect(runner.started).toEqual(['poison', 'poison']);
    expect(d.restarts).toHaveLength(2);
    expect(d.actor.getSnapshot().context).toMatchObject({ failed: 1, running: 0, waiting: 0 });
    expect(d.actor.getSnapshot().context.roomGates.size + d.actor.getSnapshot().context.botGates.size).toBe(0);
    // both workers still serve
    d.actor.send({ type: 'ENQUEUE', job: makeJob('after', 'bot', 'X') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('after2', 'bot', 'Y') });
    await settle();
    expect(runner.live.size).toBe(2);
  });

  test('more restarts than the limit within the window make the dispatcher unhealthy (once)', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { workers: 4, restartLimit: 2, restartWindowMs: 10_000 });
    const crash = async (id: string) => {
      d.actor.send({ type: 'ENQUEUE', job: makeJob(id, 'bot', id) });
      await settle();
      runner.reject(id, new WorkerCrash(id));
      await settle();
      runner.resolve(id); // second attempt succeeds
      await settle();
    };
    await crash('c1');
    d.clock.increment(6_000);
    await crash('c2');
    d.clock.increment(6_000);
    await crash('c3'); // c1 is outside the window now: 2 in window
    expect(d.actor.getSnapshot().context.healthy).toBe(true);
    await crash('c4'); // c2, c3, c4 within 10 s: over the limit of 2
    expect(d.actor.getSnapshot().context.healthy).toBe(false);
    expect(d.unhealthy).toHaveLength(1);
    await crash('c5');
    expect(d.unhealthy).toHaveLength(1);
    // it keeps serving
    expect(d.outcomes.map((o) => o.outcome.status)).toEqual(Array(5).fill('processed'));
  });
});
