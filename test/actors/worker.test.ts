import { describe, expect, test } from 'vitest';
import { type AnyActorRef, createActor, createMachine, SimulatedClock } from 'xstate';
import { fromJobRunner } from '../../src/actors/job-runner.js';
import { WorkerCrash, workerMachine } from '../../src/actors/worker.js';
import { FakeRunner, makeJob, settle, startDispatcher } from './dispatcher/harness.js';

/** The worker and its ONE long-lived runner child (DESIGN.md §2), on the simulated clock. */

function startWorker(runner: FakeRunner, deadlineMs = 1_000) {
  const clock = new SimulatedClock();
  const events: { type: string; [key: string]: unknown }[] = [];
  const logic = workerMachine.provide({ actors: { runJob: runner.logic } });
  // A parent that records WORKER.DONE and the worker's error event (stands in for the dispatcher).
  const parent = createActor(
    createMachine({
      invoke: { id: 'w', src: logic, input: { workerId: 'w', deadlineMs } },
      on: { '*': { actions: ({ event }) => events.push(event) } },
    }),
    { clock },
  ).start();
  const worker = () => parent.getSnapshot().children.w as AnyActorRef;
  const runnerRef = () => worker().getSnapshot().children.runner as AnyActorRef | undefined;
  return { clock, events, parent, worker, runnerRef };
}

describe('worker: one long-lived runner child', () => {
  test('successive jobs run on the same runner child, each reported exactly once', async () => {
    const runner = new FakeRunner();
    const w = startWorker(runner);
    const first = w.runnerRef();
    expect(first).toBeDefined();
    for (const id of ['a', 'b', 'c']) {
      w.worker().send({ type: 'START', job: makeJob(id) });
      expect(w.worker().getSnapshot().value).toBe('running');
      await settle();
      runner.resolve(id);
      await settle();
      expect(w.worker().getSnapshot().value).toBe('idle');
    }
    expect(w.runnerRef()).toBe(first);
    expect(Object.keys(w.worker().getSnapshot().children)).toEqual(['runner']);
    expect(w.events.map((e) => [e.type, e.jobId, (e.outcome as { status: string }).status])).toEqual([
      ['WORKER.DONE', 'a', 'processed'],
      ['WORKER.DONE', 'b', 'processed'],
      ['WORKER.DONE', 'c', 'processed'],
    ]);
  });

  test('a rejected run reports failed/error with the message', async () => {
    const runner = new FakeRunner();
    const w = startWorker(runner);
    w.worker().send({ type: 'START', job: makeJob('bad') });
    await settle();
    runner.reject('bad', new Error('boom'));
    await settle();
    expect(w.events).toEqual([
      {
        type: 'WORKER.DONE',
        workerId: 'w',
        jobId: 'bad',
        outcome: { status: 'failed', reason: 'error', error: 'boom' },
      },
    ]);
    expect(w.worker().getSnapshot().value).toBe('idle');
  });

  test('deadline: the run is aborted at exactly deadlineMs, timeout is reported, a late reply is ignored', async () => {
    const runner = new FakeRunner();
    const w = startWorker(runner, 5_000);
    w.worker().send({ type: 'START', job: makeJob('slow') });
    await settle();
    const slow = runner.runs.get('slow')!;
    w.clock.increment(4_999);
    await settle();
    expect(slow.signal.aborted).toBe(false);
    expect(w.events).toEqual([]);
    w.clock.increment(1);
    expect(slow.signal.aborted).toBe(true);
    expect((slow.signal.reason as Error).message).toBe('processing deadline');
    expect(w.events.map((e) => e.outcome)).toEqual([{ status: 'failed', reason: 'timeout' }]);
    // the next job starts on the same runner; the abandoned run's late success is not taken for it
    w.worker().send({ type: 'START', job: makeJob('next') });
    await settle();
    slow.resolve();
    await settle();
    expect(w.worker().getSnapshot().value).toBe('running');
    expect(w.events).toHaveLength(1);
    runner.resolve('next');
    await settle();
    expect(w.events.map((e) => [e.jobId, (e.outcome as { status: string }).status])).toEqual([
      ['slow', 'failed'],
      ['next', 'processed'],
    ]);
  });

  test('stopping the worker aborts its running job (the runner stops with it)', async () => {
    const runner = new FakeRunner();
    const w = startWorker(runner);
    w.worker().send({ type: 'START', job: makeJob('m') });
    await settle();
    const runnerRef = w.runnerRef()!;
    w.parent.stop();
    expect(runner.runs.get('m')!.signal.aborted).toBe(true);
    expect(runnerRef.getSnapshot().status).toBe('stopped');
  });

  test('WorkerCrash errors the worker: the parent gets its error event, the runner is stopped and nothing is reported done', async () => {
    const runner = new FakeRunner();
    const w = startWorker(runner);
    const worker = w.worker();
    const runnerRef = w.runnerRef()!;
    worker.send({ type: 'START', job: makeJob('poison') });
    await settle();
    runner.reject('poison', new WorkerCrash('corrupt'));
    await settle();
    expect(worker.getSnapshot().status).toBe('error');
    expect(runnerRef.getSnapshot().status).toBe('stopped');
    expect(w.events.map((e) => e.type)).toEqual(['xstate.error.actor.w']);
    expect((w.events[0]!.error as Error).message).toBe('corrupt');
  });

  test('a runner that throws synchronously fails the job instead of hanging', async () => {
    const clock = new SimulatedClock();
    const events: { type: string; outcome?: unknown }[] = [];
    const logic = workerMachine.provide({
      actors: {
        runJob: fromJobRunner(() => {
          throw new Error('sync');
        }),
      },
    });
    const parent = createActor(
      createMachine({
        invoke: { id: 'w', src: logic, input: { workerId: 'w', deadlineMs: 1_000 } },
        on: { '*': { actions: ({ event }) => events.push(event) } },
      }),
      { clock },
    ).start();
    (parent.getSnapshot().children.w as AnyActorRef).send({ type: 'START', job: makeJob('x') });
    await settle();
    expect(events.map((e) => e.outcome)).toEqual([{ status: 'failed', reason: 'error', error: 'sync' }]);
  });

  test('restart under the dispatcher: the new worker has a new runner that serves the re-queued job', async () => {
    const runner = new FakeRunner();
    const d = startDispatcher(runner, { workers: 1 });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('m1') });
    await settle();
    const oldRunner = d.actor.getSnapshot().children['worker-0']?.getSnapshot().children.runner as AnyActorRef;
    runner.reject('m1', new WorkerCrash('die'));
    await settle();
    const newRunner = d.actor.getSnapshot().children['worker-0']?.getSnapshot().children.runner as AnyActorRef;
    expect(newRunner).not.toBe(oldRunner);
    expect(oldRunner.getSnapshot().status).toBe('stopped');
    expect(newRunner.getSnapshot().status).toBe('active');
    expect(runner.started).toEqual(['m1', 'm1']);
    runner.resolve('m1');
    await settle();
    expect(d.outcomeOf('m1')).toEqual([{ status: 'processed' }]);
    expect(d.restarts).toHaveLength(1);
  });
});
