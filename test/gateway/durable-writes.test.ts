import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { Inbox, InboxStatus } from '../../src/actors/inbox.js';
import type { ChatMessage } from '../../src/actors/job.js';
import { DurableMailbox } from '../../src/gateway/durable.js';
import type { Clock } from '../../src/infra/clock.js';
import { createLoggers } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';
import { chat } from '../support/chat-message.js';

/**
 * DESIGN.md §2 durable mailbox: a connection's corked writes (its replies) are released only
 * right after the grouped write that holds what was finished with them has committed.
 */

const turn = () => new Promise<void>((r) => setImmediate(r));

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

  async unfinished(): Promise<ChatMessage[]> {
    return [];
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
    durable.afterWrite(() => log.push('uncork A'));
    durable.finish('T1', 'processed');
    durable.append(chat(2, { text: 'next' }));
    durable.push('ENQUEUE next');
    durable.afterWrite(() => log.push('uncork B'));
    expect(log).toEqual([]); // nothing leaves in the turn itself
    await turn();
    expect(log).toEqual(['commit [finish T1 processed, append next]', 'uncork A', 'uncork B', 'forward ENQUEUE next']);
  });

  it('a write held while nothing is buffered still leaves on the next turn', async () => {
    const log: string[] = [];
    const durable = mailbox(new RecordingInbox(log), log);
    durable.afterWrite(() => log.push('uncork'));
    await turn();
    expect(log).toEqual(['uncork']);
  });

  it('with an asynchronous store (MySQL), writes leave when the transaction has committed, not before', async () => {
    const log: string[] = [];
    const inbox = new RecordingInbox(log, true);
    const durable = mailbox(inbox, log);
    durable.finish('T1', 'processed');
    durable.afterWrite(() => log.push('uncork A'));
    await turn();
    expect(log).toEqual([]);
    // a later turn's write waits behind the one in flight
    durable.finish('T2', 'processed');
    durable.afterWrite(() => log.push('uncork B'));
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
    durable.afterWrite(() => log.push('uncork'));
    await durable.stop();
    expect(log).toEqual(['commit [finish T1 processed]', 'uncork']);
  });
});
