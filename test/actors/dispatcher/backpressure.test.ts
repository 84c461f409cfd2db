import { describe, expect, test } from 'vitest';
import { FakeRunner, makeJob, recorder, settle, startDispatcher } from './harness.js';

describe('dispatcher backpressure and shutdown (DESIGN.md §2)', () => {
  test('a full mailbox refuses with MAILBOX_FULL, then says MAILBOX_READY once when there is room', async () => {
    const runner = new FakeRunner();
    const conn = recorder();
    const d = startDispatcher(runner, { capacity: 2, workers: 1 });
    for (const id of ['m1', 'm2', 'm3']) d.actor.send({ type: 'ENQUEUE', job: makeJob(id), replyTo: conn.ref });
    await settle();
    expect(runner.started).toEqual(['m1']);
    expect(d.actor.getSnapshot().context.waiting).toBe(2);
    expect(conn.events).toEqual([]);

    d.actor.send({ type: 'ENQUEUE', job: makeJob('m4'), replyTo: conn.ref });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('m5'), replyTo: conn.ref });
    expect(conn.events).toEqual([
      { type: 'MAILBOX_FULL', jobId: 'm4' },
      { type: 'MAILBOX_FULL', jobId: 'm5' },
    ]);
    expect(d.actor.getSnapshot().context.refused).toBe(2);

    runner.resolve('m1');
    await settle();
    expect(conn.events.slice(2)).toEqual([{ type: 'MAILBOX_READY' }]);

    // the refused messages were never accepted; the accepted ones all end, and READY is not repeated
    runner.resolve('m2');
    await settle();
    runner.resolve('m3');
    await settle();
    expect(runner.started).toEqual(['m1', 'm2', 'm3']);
    expect(d.outcomes.map((o) => o.job.id)).toEqual(['m1', 'm2', 'm3']);
    expect(conn.events.filter((e) => e.type === 'MAILBOX_READY')).toHaveLength(1);
  });

  test('WAIT_FOR_ROOM registers a connection for MAILBOX_READY without a message', async () => {
    const runner = new FakeRunner();
    const paused = recorder();
    const d = startDispatcher(runner, { capacity: 1, workers: 1 });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('m1') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('m2') });
    await settle();
    expect(d.actor.getSnapshot().context.waiting).toBe(1);

    d.actor.send({ type: 'WAIT_FOR_ROOM', ref: paused.ref });
    expect(paused.events).toEqual([]);
    runner.resolve('m1');
    await settle();
    expect(paused.events).toEqual([{ type: 'MAILBOX_READY' }]);

    // room already there: told at once
    const late = recorder();
    d.actor.send({ type: 'WAIT_FOR_ROOM', ref: late.ref });
    expect(late.events).toEqual([{ type: 'MAILBOX_READY' }]);
  });

  test('SHUTDOWN refuses new messages; running and queued ones still finish; then closed', async () => {
    const runner = new FakeRunner();
    const conn = recorder();
    const d = startDispatcher(runner, { workers: 1 });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('m1') });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('m2') });
    await settle();
    d.actor.send({ type: 'SHUTDOWN' });
    d.actor.send({ type: 'ENQUEUE', job: makeJob('late'), replyTo: conn.ref });
    expect(conn.events).toEqual([{ type: 'MAILBOX_CLOSED', jobId: 'late' }]);
    expect(d.actor.getSnapshot().value).toBe('closing');
    expect(d.actor.getSnapshot().context).toMatchObject({ running: 1, waiting: 1, refused: 1 });

    runner.resolve('m1');
    await settle();
    runner.resolve('m2');
    await settle();
    expect(d.outcomes.map((o) => [o.job.id, o.outcome.status])).toEqual([
      ['m1', 'processed'],
      ['m2', 'processed'],
    ]);
    expect(d.actor.getSnapshot().value).toBe('closed');
    expect(runner.started).not.toContain('late');
  });
});
