/** Shared fakes for the handler tests: a chat message, a recording deliver, a driven clock. */

import { SimulatedClock } from 'xstate';
import type { ChatMessage } from '../../src/actors/job.js';
import type { BotModule, ConnectionInfo, GatewayServices } from '../../src/handlers/api.js';
import { createRouter, type Router } from '../../src/handlers/router.js';
import { handleMessage, type OutgoingReply, type RunResult } from '../../src/handlers/runner.js';
import { silentLoggers } from '../../src/infra/logger.js';
import { pathSender } from '../support/outbound-harness.js';

export function chat(text: string, over: Partial<ChatMessage> = {}): ChatMessage {
  return {
    traceId: '01J0000000000000000000TEST',
    receivedAt: 0,
    botName: 'demo-bot',
    deviceId: 'a1b2c3',
    packetBotName: 'demo-bot-packet',
    room: 'Demo Room',
    channelId: '18234567890123456',
    logId: '3301234567890123456',
    text,
    sender: 'Alice',
    isGroupChat: true,
    isMention: false,
    userHash: null,
    timestamp: '2025-07-24 14:03:27',
    protocol: 'v3.2',
    legacyCallback: false,
    ...over,
  };
}

export function fakeServices(over: Partial<GatewayServices> = {}, conns: ConnectionInfo[] = []): GatewayServices {
  return {
    connections: () => conns,
    reloadStanding: async () => ({ checked: 0, changed: 0 }),
    ...over,
  };
}

export interface Sent extends OutgoingReply {
  /** clock time at which deliver was called */
  at: number;
}

export interface RunOptions {
  modules?: BotModule[];
  router?: Router;
  services?: GatewayServices;
  replyGapMs?: number;
  /** who may run admin-only commands (default: everyone, so built-in tests see the replies) */
  isAdmin?(message: ChatMessage): boolean;
  maxTextChars?: number;
  clock?: SimulatedClock;
  signal?: AbortSignal;
  onTruncated?(): void;
}

/**
 * Runs one message to the end, advancing the simulated clock whenever the runner waits,
 * and returns the packets with the simulated time each was handed over.
 */
export async function run(
  message: ChatMessage | string,
  opts: RunOptions = {},
): Promise<{ sent: Sent[]; result: RunResult; clock: SimulatedClock }> {
  const clock = opts.clock ?? new SimulatedClock();
  const sent: Sent[] = [];
  const p = handleMessage(typeof message === 'string' ? chat(message) : message, {
    router: opts.router ?? createRouter(opts.modules ?? [], { isAdmin: opts.isAdmin ?? (() => true) }),
    send: pathSender(clock, (r) => sent.push({ ...r, at: clock.now() })),
    services: opts.services ?? fakeServices(),
    clock,
    replyGapMs: opts.replyGapMs ?? 1000,
    maxTextChars: opts.maxTextChars ?? 65_000,
    signal: opts.signal ?? new AbortController().signal,
    log: silentLoggers().root,
    onTruncated: opts.onTruncated,
  });
  let done = false;
  const settled = p.finally(() => {
    done = true;
  });
  settled.catch(() => {});
  while (!done) {
    await new Promise((r) => setImmediate(r));
    if (!done) clock.increment(100);
  }
  return { sent, result: await p, clock };
}

/** Just the texts, in order. */
export async function texts(message: ChatMessage | string, opts: RunOptions = {}): Promise<string[]> {
  return (await run(message, opts)).sent.map((s) => s.text);
}
