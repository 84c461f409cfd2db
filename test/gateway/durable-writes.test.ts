import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { Inbox, InboxStatus, UnfinishedMessage } from '../../src/actors/inbox.js';
import type { ChatMessage } from '../../src/actors/job.js';
import { DurableMailbox } from '../../src/gateway/durable.js';
import type { Clock } from '../../src/infra/clock.js';
import { createLoggers } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';
import type { HeldWrites } from '../../src/infra/tcp/socket-actor.js';
import { chat } from '../support/chat-message.js';

/**
 * DESIGN.md §2 durable mailbox: a connection's corked writes (its replies) are released only
 * right after the grouped write that holds what was finished with them has committed.
 */

const turn = () => new Promise<void>((r) => setImmediate(r));

/** A connection's held writes that log their release (sealing is the socket's business). */
const released = (log: string[], entry: string): HeldWrites => ({
  seal() {},
  release() {
    log.push(entry);
  },
});

/** An inbox that records its operations in `log`; `async` makes each flush wait for `settle()`. */
class RecordingInbox implements Inbox {
  private ops: string[] = [];
  private settleWrite: (() => void) | undefined;

  constructor(
    private readonly log: string[],
    private readonly async = false,
  ) {}

  get buffered(): number {
    return this.ops.length;
  }

  append(message: ChatMessage): void {
    this.ops.push(`append ${message.text}`);
  }

  replied(traceId: string, count: number): void {
    this.ops.push(`replied ${traceId} ${count}`);
  }

  finish(traceId: string, status: InboxStatus): void {
    this.ops.push(`finish ${traceId} ${status}`);
  }

  flush(): void | Promise<void> {
    const ops = this.ops;
    this.ops = [];
    if (!this.async) {
      this.log.push(`commit [${ops.join(', ')}]`);
      return;
    }
    return new Promise<void>((resolve) => {
      this.settleWrite = () => {
        this.log.push(`commit [${ops.join(', ')}]`);
        resolve();
      };
    });
  }

  settle(): void {
    const s = this.settleWrite;
    this.settleWrite = undefined;
    s?.();
  }

  /** what `unfinished()` reads back (a restart's record) */
  stored: UnfinishedMessage[] = [];

  async unfinished(): Promise<UnfinishedMessage[]> {
    return this.stored;
  }

  async recent(): Promise<never[]> {
    return [];
  }

  async prune(): Promise<number> {
    return 0;
  }

  async migrate(): Promise<void> {}

  async close(): Promise<void> {}
}

function mailbox(inbox: Inbox, log: string[]) {
  const clock = new SimulatedClock();
  return new DurableMailbox<string>({
    inbox,
    clock: clock as unknown as Clock,
    metrics: createMetrics(),
    log: createLoggers({ level: 'silent' }).cat.message,
    replayWindowMs: 60_000,
    dedupWindowMs: 60_000,
    writeWaitMs: 60_000,
    forward: (events) => log.push(`forward ${events.join(' ')}`),
  });
}

describe('durable mailbox: replies wait for their finish (DESIGN.md §2)', () => {
  it('releases held writes right after the commit of the finish buffered in the same turn, before forwarding', async () => {
    const log: string[] = [];
    const durable = mailbox(new RecordingInbox(log), log);
    // the turn a job ends: its reply is written (corked) and its message finished
    durable.afterWrite(released(log, 'uncork A'));
    durable.finish('T1', 'processed');
    durable.append(chat(2, { text: 'next' }));
    durable.push('ENQUEUE next');
    durable.afterWrite(released(log, 'uncork B'));
    expect(log).toEqual([]); // nothing leaves in the turn itself
    await turn();
    expect(log).toEqual(['commit [finish T1 processed, append next]', 'uncork A', 'uncork B', 'forward ENQUEUE next']);
  });

  it('a write held while nothing is buffered still leaves on the next turn', async () => {
    const log: string[] = [];
    const durable = mailbox(new RecordingInbox(log), log);
    durable.afterWrite(released(log, 'uncork'));
    await turn();
    expect(log).toEqual(['uncork']);
  });

  it('with an asynchronous store (MySQL), writes leave when the transaction has committed, not before', async () => {
    const log: string[] = [];
    const inbox = new RecordingInbox(log, true);
    const durable = mailbox(inbox, log);
    durable.finish('T1', 'processed');
    durable.afterWrite(released(log, 'uncork A'));
    await turn();
    expect(log).toEqual([]);
    // a later turn's write waits behind the one in flight
    durable.finish('T2', 'processed');
    durable.afterWrite(released(log, 'uncork B'));
    await turn();
    expect(log).toEqual([]);
    inbox.settle();
    await turn();
    expect(log).toEqual(['commit [finish T1 processed]', 'uncork A']);
    await turn();
    inbox.settle();
    await turn();
    expect(log).toEqual(['commit [finish T1 processed]', 'uncork A', 'commit [finish T2 processed]', 'uncork B']);
  });

  it('a graceful stop releases every held write', async () => {
    const log: string[] = [];
    const durable = mailbox(new RecordingInbox(log), log);
    durable.finish('T1', 'processed');
    durable.afterWrite(released(log, 'uncork'));
    await durable.stop();
    expect(log).toEqual(['commit [finish T1 processed]', 'uncork']);
  });

  it('a reply of a job still running has its count committed before it leaves; its finish makes the count moot', async () => {
    const log: string[] = [];
    const durable = mailbox(new RecordingInbox(log), log);
    // the handler answers once and keeps working
    durable.replyWritten('T1');
    durable.afterWrite(released(log, 'uncork first'));
    await turn();
    expect(log).toEqual(['commit [replied T1 1]', 'uncork first']);
    // its second answer and its finish in one turn: no count is written, the finish covers it
    durable.replyWritten('T1');
    durable.afterWrite(released(log, 'uncork second'));
    durable.finish('T1', 'processed');
    await turn();
    expect(log.slice(2)).toEqual(['commit [finish T1 processed]', 'uncork second']);
  });

  it('a replayed message skips the replies written before the restart, then counts on from them', async () => {
    const log: string[] = [];
    const inbox = new RecordingInbox(log);
    const m = chat(1);
    inbox.stored = [
      { message: m, repliesWritten: 2 },
      { message: chat(2), repliesWritten: 0 },
    ];
    const durable = mailbox(inbox, log);
    const { replay } = await durable.recover(() => undefined);
    expect(replay.map((r) => r.traceId)).toEqual([m.traceId, chat(2).traceId]);
    expect(durable.alreadyWritten(chat(2).traceId)).toBe(false);
    expect(durable.alreadyWritten(m.traceId)).toBe(true);
    expect(durable.alreadyWritten(m.traceId)).toBe(true);
    expect(durable.alreadyWritten(m.traceId)).toBe(false); // the third reply is new
    durable.replyWritten(m.traceId);
    await turn();
    expect(log).toEqual([`commit [replied ${m.traceId} 3]`]);
  });

  it('with an asynchronous store, writes held during a write in flight are sealed only when the next one starts', async () => {
    const log: string[] = [];
    const inbox = new RecordingInbox(log, true);
    const durable = mailbox(inbox, log);
    const socket = (name: string): HeldWrites => ({
      seal: () => log.push(`seal ${name}`),
      release: () => log.push(`release ${name}`),
    });
    durable.finish('T1', 'processed');
    durable.afterWrite(socket('A'));
    await turn();
    expect(log).toEqual(['seal A']); // the write of T1's finish started
    durable.finish('T2', 'processed');
    durable.afterWrite(socket('A')); // the same socket writes T2's reply meanwhile
    await turn();
    inbox.settle();
    await turn();
    await turn();
    expect(log).toEqual(['seal A', 'commit [finish T1 processed]', 'release A', 'seal A']);
    inbox.settle();
    await turn();
    expect(log.slice(4)).toEqual(['commit [finish T2 processed]', 'release A']);
  });

  it('held writes also wait for the other writes they depend on (the send record in flight), and only they do', async () => {
    const log: string[] = [];
    let others: Promise<void> | undefined;
    let settleOthers = () => {};
    const clock = new SimulatedClock();
    const durable = new DurableMailbox<string>({
      inbox: new RecordingInbox(log),
      clock: clock as unknown as Clock,
      metrics: createMetrics(),
      log: createLoggers({ level: 'silent' }).cat.message,
      replayWindowMs: 60_000,
      dedupWindowMs: 60_000,
      writeWaitMs: 60_000,
      forward: (events) => log.push(`forward ${events.join(' ')}`),
      alsoWritten: () => others,
    });
    others = new Promise<void>((r) => {
      settleOthers = () => {
        log.push('send record committed');
        r();
      };
    });
    // nothing held: events go on without waiting for the send record
    durable.append(chat(1, { text: 'one' }));
    durable.push('ENQUEUE one');
    await turn();
    expect(log).toEqual(['commit [append one]', 'forward ENQUEUE one']);
    // a socket holds the API send whose outcome is being written
    durable.afterWrite(released(log, 'release A'));
    await turn();
    expect(log.slice(2)).toEqual([]);
    settleOthers();
    others = undefined;
    await turn();
    expect(log.slice(2)).toEqual(['send record committed', 'release A']);
  });
});
