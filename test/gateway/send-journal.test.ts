import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { Outbox, OutboxEntry, OutboxRecord } from '../../src/actors/outbox.js';
import { SendJournal } from '../../src/gateway/send-journal.js';
import type { Clock } from '../../src/infra/clock.js';
import { createLoggers } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';

/**
 * DESIGN.md §2: the send record's writes in flight are what the durable mailbox waits for before
 * held socket writes leave (so a delivered send's outcome is stored before its bytes, on MySQL).
 */

/** An outbox whose writes are asynchronous (as MySQL's) and settle when told to. */
class SlowOutbox implements Outbox {
  readonly settlers: (() => void)[] = [];
  private write(): Promise<void> {
    return new Promise<void>((resolve) => this.settlers.push(resolve));
  }
  add(): Promise<void> {
    return this.write();
  }
  settle(): Promise<void> {
    return this.write();
  }
  async queued(): Promise<OutboxRecord[]> {
    return [];
  }
  async get(): Promise<OutboxRecord | undefined> {
    return undefined;
  }
  async ofRun(): Promise<OutboxRecord[]> {
    return [];
  }
  async deliveredOf(): Promise<OutboxRecord[]> {
    return [];
  }
  async prune(): Promise<number> {
    return 0;
  }
  async migrate(): Promise<void> {}
  async close(): Promise<void> {}
}

const entry: Omit<OutboxEntry, 'owner'> = {
  id: '01SEND',
  kind: 'api',
  botName: 'demo-bot',
  deviceId: 'a1b2c3',
  channelId: '18234567890123456',
  traceId: '01SEND',
  acceptedAt: 1_721_800_000_000,
  text: 'hi',
};

function journal(outbox: Outbox) {
  return new SendJournal({
    outbox,
    owner: 'test',
    clock: new SimulatedClock() as unknown as Clock,
    metrics: createMetrics(),
    log: createLoggers({ level: 'silent' }).cat.message,
    holdMs: 600_000,
    keepMs: 86_400_000,
  });
}

describe('send record writes in flight (DESIGN.md §2)', () => {
  it('inFlight() is the last write until every write started so far has settled', async () => {
    const outbox = new SlowOutbox();
    const j = journal(outbox);
    expect(j.inFlight()).toBeUndefined();
    void j.add(entry);
    void j.settle(entry.id, { status: 'delivered', deviceId: 'a1b2c3', at: 1 });
    const both = j.inFlight();
    expect(both).toBeDefined();
    let settled = false;
    void both!.then(() => {
      settled = true;
    });
    outbox.settlers[0]!(); // the add
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false); // the outcome is still being written
    expect(j.inFlight()).toBe(both);
    outbox.settlers[1]!();
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(true);
    expect(j.inFlight()).toBeUndefined();
  });

  it('a failed graceful-stop outcome writes nothing, so nothing is in flight', () => {
    const j = journal(new SlowOutbox());
    void j.settle(entry.id, { status: 'failed', reason: 'shutdown', at: 1 });
    expect(j.inFlight()).toBeUndefined();
  });
});
