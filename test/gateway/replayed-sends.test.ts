import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { OutboxRecord } from '../../src/actors/outbox.js';
import { ReplayedSends } from '../../src/gateway/replayed-sends.js';
import { createMetrics } from '../../src/infra/metrics.js';
import { metricValue } from '../robustness/support/wire.js';

/** DESIGN.md §2 durable mailbox: a replayed handler's ctx.sends delivered before the restart. */

const T0 = 1_765_000_000_000;

function record(n: number, over: Partial<OutboxRecord> = {}): OutboxRecord {
  return {
    id: `01API${n}`,
    kind: 'api',
    botName: 'demo-bot',
    deviceId: 'dev-2',
    channelId: 'room-1',
    traceId: 'trace-a',
    acceptedAt: T0 + n,
    owner: 'gw',
    status: 'delivered',
    settledAt: T0 + 100 + n,
    text: 'hi',
    ...over,
  };
}

function sends(keepMs = 60_000) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const metrics = createMetrics();
  const s = new ReplayedSends({ clock, metrics, log: pino({ level: 'silent' }), keepMs });
  return { s, clock, metrics };
}

const call = { botName: 'demo-bot', channelId: 'room-1', traceId: 'trace-a' };

describe('ReplayedSends (docs/decisions.md "Durable sends")', () => {
  it('answers a repeated call with the stored outcome once; a fresh trace id or other content is sent', async () => {
    const { s, metrics } = sends();
    const media = { urls: ['https://x/1.png'], waitMs: 2_000 };
    s.load([record(1), record(2, { text: undefined, media })]);
    expect(s.take({ ...call, traceId: 'fresh', text: 'hi' })).toBeUndefined();
    expect(s.take({ ...call, text: 'hi', deviceId: 'dev-9' })).toBeUndefined();
    expect(s.take({ ...call, channelId: 'room-2', text: 'hi' })).toBeUndefined();
    expect(s.take({ ...call, media: { urls: ['https://x/1.png'] } })).toBeUndefined(); // another wait
    expect(s.take({ ...call, media: { ...media } })).toEqual({
      id: '01API2',
      status: 'delivered',
      deviceId: 'dev-2',
      at: T0 + 102,
    });
    expect(s.take({ ...call, text: 'hi' })).toMatchObject({ id: '01API1', at: T0 + 101 }); // no device named
    expect(s.take({ ...call, text: 'hi' })).toBeUndefined();
    expect(s.size).toBe(0);
    expect(await metricValue(metrics.outbox, { event: 'not-resent' })).toBe(2);
  });

  it('a finished message drops its sends; the rest go after keepMs', () => {
    const { s, clock } = sends(60_000);
    s.load([record(1), record(2, { traceId: 'trace-b' })]);
    s.finished('trace-a');
    expect(s.take({ ...call, text: 'hi' })).toBeUndefined();
    expect(s.size).toBe(1);
    clock.increment(60_000);
    expect(s.size).toBe(0);
    expect(s.take({ ...call, traceId: 'trace-b', text: 'hi' })).toBeUndefined();
  });
});
