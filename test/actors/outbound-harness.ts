import { createActor, SimulatedClock } from 'xstate';
import type { Standing } from '../../src/actors/connection-ports.js';
import { type OutboundEvent, type OutboundOutcome, outboundMachine } from '../../src/actors/outbound.js';
import type { SendKind } from '../../src/actors/send.js';
import type { Clock } from '../../src/infra/clock.js';

/** One write the fake connection saw. */
export interface Write {
  id: string;
  room: string;
  text: string;
  event: OutboundEvent;
  at: number;
}

export interface SendOptions {
  room?: string;
  gapMs?: number;
  holdMs?: number;
  kind?: SendKind;
  signal?: AbortSignal;
}

/**
 * An outbound path actor on a SimulatedClock with a fake connection the test connects and
 * disconnects; records every write and every outcome, and throws when a send is settled twice.
 */
export function outboundHarness(
  opts: { minGapMs?: number; holdMs?: number; idleMs?: number; connected?: boolean; maxQueued?: number } = {},
) {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const minGapMs = opts.minGapMs ?? 1_000;
  const holdMs = opts.holdMs ?? 600_000;
  let connected = opts.connected ?? true;
  let standing: Standing = 'full';
  const writes: Write[] = [];
  const outcomes = new Map<string, OutboundOutcome>();
  const accepted = new Map<string, number>();
  const actor = createActor(outboundMachine, {
    input: {
      key: 'demo-bot\u0000a1b2c3',
      botName: 'demo-bot',
      deviceId: 'a1b2c3',
      idleMs: opts.idleMs ?? 60_000,
      minGapMs,
      ...(opts.maxQueued !== undefined ? { maxQueued: opts.maxQueued } : {}),
      ports: {
        clock: clock as unknown as Clock,
        link: () =>
          connected
            ? {
                standing,
                deliver: (reply, event) => {
                  const id = reply.text.split(' ')[0]!;
                  writes.push({ id, room: reply.channelId ?? reply.room, text: reply.text, event, at: clock.now() });
                  return true;
                },
              }
            : undefined,
      },
    },
    clock,
  });
  actor.start();
  let n = 0;
  return {
    clock,
    actor,
    writes,
    outcomes,
    accepted,
    /** queues one send; its text starts with its id */
    send(o: SendOptions = {}): string {
      const id = `s${++n}`;
      accepted.set(id, clock.now());
      actor.send({
        type: 'SEND',
        items: [
          {
            id,
            kind: o.kind ?? 'api',
            traceId: id,
            roomKey: o.room ?? 'A',
            reply: {
              room: `Room ${o.room ?? 'A'}`,
              channelId: o.room ?? 'A',
              botName: 'demo-bot',
              text: `${id} hello`,
            },
            gapMs: o.gapMs ?? minGapMs,
            holdMs: o.holdMs ?? 0,
            expiresAt: clock.now() + holdMs,
            signal: o.signal,
            settle: (outcome) => {
              if (outcomes.has(id)) throw new Error(`${id} settled twice`);
              outcomes.set(id, outcome);
            },
          },
        ],
      });
      return id;
    },
    connect() {
      connected = true;
      actor.send({ type: 'CONNECTED' });
    },
    disconnect() {
      connected = false;
    },
    setStanding(s: Standing) {
      standing = s;
      actor.send({ type: 'CONNECTED' });
    },
    advance(ms: number) {
      clock.increment(ms);
    },
    at(id: string): number | undefined {
      return writes.find((w) => w.id === id)?.at;
    },
  };
}
