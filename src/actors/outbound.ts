import { type ActorRefFrom, setup } from 'xstate';
import type { OutgoingReply } from '../protocol/index.js';
import type { Clock } from './clock.js';
import type { Standing } from './connection-ports.js';
import type { SendFailureReason, SendKind } from './send.js';

/**
 * The outbound path of one phone (DESIGN.md §2 "Outbound path"): one root actor per
 * (botName, deviceId), held in a Map by the gateway like the connection registry. Everything the
 * server sends to that phone goes through it — handler replies, scheduled and API sends — in
 * order per room, paced, held while the phone is away, and every send ends with exactly one
 * outcome.
 *
 * idle (nothing queued; stops itself after `idleMs` of quiet) ⇄ waiting (something queued: a room
 * gap, a media wait, or the phone away) → stopped (final).
 */

/** One packet waiting to go out. */
export interface OutboundItem {
  /** the SendRequest id, or the trace id of the message a reply answers */
  id: string;
  kind: SendKind;
  traceId: string;
  /** per-room order and pacing key: the channel id, or the room title when there is none */
  roomKey: string;
  /** what the connection encodes for its framing (PROTOCOL §4.4, §5.4) */
  reply: OutgoingReply;
  /** least time since the previous send to this room (outbound.minGapMs; 0 = back to back) */
  gapMs: number;
  /** PROTOCOL §4.5: the phone is busy sharing media this long; its next send waits */
  holdMs: number;
  /** clock time after which the send fails `expired` (accepted + outbound.holdMs) */
  expiresAt: number;
  /** a reply's message was abandoned (deadline, shutdown): what has not gone out yet never will */
  signal?: AbortSignal;
  /** called once, with the outcome */
  settle(outcome: OutboundOutcome): void;
}

export type OutboundOutcome =
  | { status: 'delivered'; at: number }
  | { status: 'failed'; reason: SendFailureReason; detail?: string; at: number };

/** The live connection holding the path's key, as the gateway's registry sees it. */
export interface OutboundLink {
  standing: Standing;
  /**
   * Hands one packet to the connection (DELIVER), which writes it to its socket; false when that
   * connection is gone by now (the packet then waits for the next one).
   */
  deliver(reply: OutgoingReply, event: OutboundEvent): boolean;
}

/** PROTOCOL §5.4: v3.3 connections get `scheduleMessage` for scheduled sends; v3.2 always messageResponse. */
export type OutboundEvent = 'messageResponse' | 'scheduleMessage';

export interface OutboundPorts {
  clock: Clock;
  /** the connection registered under `key` now, or undefined while the phone is away */
  link(key: string): OutboundLink | undefined;
}

export interface OutboundInput {
  key: string;
  botName: string;
  deviceId: string;
  ports: OutboundPorts;
  /** how long an idle, empty path is kept before it stops */
  idleMs: number;
  /** outbound.minGapMs: the path is not stopped before the last room gap has passed */
  minGapMs: number;
  /** outbound.maxQueued: sends waiting at most (absent: no bound but holdMs) */
  maxQueued?: number;
}

export type OutboundMachineEvent =
  | { type: 'SEND'; items: readonly OutboundItem[] }
  /** the phone (re)connected or its standing changed: try again now */
  | { type: 'CONNECTED' }
  /** gateway stop: every queued send fails `shutdown` */
  | { type: 'SHUTDOWN' };

export interface OutboundContext {
  key: string;
  botName: string;
  deviceId: string;
  ports: OutboundPorts;
  idleMs: number;
  minGapMs: number;
  maxQueued: number;
  /** in acceptance order; per-room order is this order restricted to one room */
  queue: OutboundItem[];
  /** clock time of the last send per room */
  lastSent: Map<string, number>;
  /** phone-wide: nothing goes out before this (media wait, PROTOCOL §4.5) */
  holdUntil: number;
  /** when the last pump saw that something becomes possible (a gap ends, a hold ends, an item expires) */
  wakeAt: number;
  /** last SEND or delivery; the idle timer checks it when it fires */
  lastActivityAt: number;
  /** after this time no room gap or media wait is pending (stopping loses nothing) */
  quietAt: number;
  delivered: number;
  failed: number;
}

/**
 * Sends what may go now, in queue order: a room's next send waits for its gap after the room's
 * previous send, everything waits for a media hold, nothing goes while the phone is away, and a
 * send older than its hold fails. Sets `wakeAt` to the next moment any of that changes.
 */
function pump(context: OutboundContext): void {
  const { ports, queue } = context;
  const now = ports.clock.now();
  let link = ports.link(context.key);
  let wake = Number.POSITIVE_INFINITY;
  let blocked: Set<string> | undefined;
  let kept = 0;
  for (let i = 0; i < queue.length; i++) {
    const item = queue[i]!;
    if (item.expiresAt < now) {
      fail(context, item, 'expired', 'the phone did not take it within outbound.holdMs', now);
      continue;
    }
    if (item.signal?.aborted === true) {
      fail(context, item, 'expired', 'its message was abandoned (deadline or shutdown)', now);
      continue;
    }
    if (link !== undefined && link.standing !== 'full') {
      // PROTOCOL §7.3: a phone in limited mode is never sent anything.
      fail(context, item, 'not-approved', 'the device is not approved', now);
      continue;
    }
    if (link !== undefined && now >= context.holdUntil && blocked?.has(item.roomKey) !== true) {
      const last = context.lastSent.get(item.roomKey);
      const readyAt = last === undefined ? now : last + item.gapMs;
      if (readyAt > now) {
        // later sends to this room wait behind this one (per-room order)
        blocked ??= new Set();
        blocked.add(item.roomKey);
        if (readyAt < wake) wake = readyAt;
      } else if (link.deliver(item.reply, item.kind === 'scheduled' ? 'scheduleMessage' : 'messageResponse')) {
        context.lastSent.set(item.roomKey, now);
        if (item.holdMs > 0 && now + item.holdMs > context.holdUntil) context.holdUntil = now + item.holdMs;
        const quiet = Math.max(now + context.minGapMs, context.holdUntil);
        if (quiet > context.quietAt) context.quietAt = quiet;
        context.lastActivityAt = now;
        context.delivered++;
        item.settle({ status: 'delivered', at: now });
        continue;
      } else {
        link = undefined; // closed under us (a slow consumer): the rest waits for the reconnect
      }
    } else if (link !== undefined && context.holdUntil > now && context.holdUntil < wake) {
      wake = context.holdUntil;
    }
    // at its expiry instant a send may still go; only what cannot go now fails (outbound.holdMs 0)
    if (item.expiresAt <= now) {
      fail(context, item, 'expired', 'the phone did not take it within outbound.holdMs', now);
      continue;
    }
    if (item.expiresAt < wake) wake = item.expiresAt;
    queue[kept++] = item;
  }
  queue.length = kept;
  context.wakeAt = wake;
}

function fail(context: OutboundContext, item: OutboundItem, reason: SendFailureReason, detail: string, at: number) {
  context.failed++;
  item.settle({ status: 'failed', reason, detail, at });
}

export const outboundMachine = setup({
  types: {
    context: {} as OutboundContext,
    events: {} as OutboundMachineEvent,
    input: {} as OutboundInput,
  },
  delays: {
    wake: ({ context }) => Math.max(0, context.wakeAt - context.ports.clock.now()),
    idleCheck: ({ context }) =>
      Math.max(
        0,
        context.lastActivityAt + context.idleMs - context.ports.clock.now(),
        context.quietAt - context.ports.clock.now(),
      ),
  },
  guards: {
    hasQueue: ({ context }) => context.queue.length > 0,
    isEmpty: ({ context }) => context.queue.length === 0,
    quietLongEnough: ({ context }) => {
      const now = context.ports.clock.now();
      return now - context.lastActivityAt >= context.idleMs && now >= context.quietAt;
    },
  },
  actions: {
    // one action, not enqueue + pump: every action is an inspection event, on the hot path
    accept: ({ context, event }) => {
      if (event.type !== 'SEND') return;
      for (const item of event.items) context.queue.push(item);
      const now = context.ports.clock.now();
      context.lastActivityAt = now;
      pump(context);
      // Bounded per phone (a limit is a config value): what does not fit once everything that
      // could go has gone fails at once, newest first — only sends of this event, as the queue
      // held at most maxQueued before it. Order among the rest is unchanged.
      while (context.queue.length > context.maxQueued) {
        const detail = `${context.maxQueued} sends already wait for this phone (outbound.maxQueued)`;
        fail(context, context.queue.pop()!, 'queue-full', detail, now);
      }
    },
    pump: ({ context }) => pump(context),
    failAll: ({ context }) => {
      const now = context.ports.clock.now();
      const queue = context.queue;
      context.queue = [];
      for (const item of queue) fail(context, item, 'shutdown', 'the gateway is stopping', now);
    },
  },
}).createMachine({
  id: 'outbound',
  context: ({ input }) => {
    const now = input.ports.clock.now();
    return {
      key: input.key,
      botName: input.botName,
      deviceId: input.deviceId,
      ports: input.ports,
      idleMs: input.idleMs,
      minGapMs: input.minGapMs,
      maxQueued: input.maxQueued ?? Number.POSITIVE_INFINITY,
      queue: [],
      lastSent: new Map(),
      holdUntil: 0,
      wakeAt: Number.POSITIVE_INFINITY,
      lastActivityAt: now,
      quietAt: now,
      delivered: 0,
      failed: 0,
    };
  },
  on: {
    SHUTDOWN: { target: '.stopped', actions: 'failAll' },
  },
  initial: 'idle',
  states: {
    // The hot path: a reply with no gap pending is written in the SEND action and the path stays
    // here — one event, no timer (the idle timer is set once on entry and re-armed when it fires).
    idle: {
      always: { guard: 'hasQueue', target: 'waiting' },
      after: {
        idleCheck: [
          { guard: 'quietLongEnough', target: 'stopped' },
          { target: 'idle', reenter: true },
        ],
      },
      on: {
        SEND: { actions: 'accept' },
        CONNECTED: {},
      },
    },
    // Something waits: one timer, to the earliest moment anything can change.
    waiting: {
      always: { guard: 'isEmpty', target: 'idle' },
      after: {
        wake: { target: 'waiting', reenter: true, actions: 'pump' },
      },
      on: {
        SEND: { target: 'waiting', reenter: true, actions: 'accept' },
        CONNECTED: { target: 'waiting', reenter: true, actions: 'pump' },
      },
    },
    stopped: { type: 'final' },
  },
});

export type OutboundActor = ActorRefFrom<typeof outboundMachine>;
