/**
 * Runs one accepted chat message through the router and turns the handler's replies into
 * outgoing packets: addressing (PROTOCOL §7.7 step 7), `@no-reply` and one packet per element
 * (§4.4), the gap between packets, truncation, and stopping when the message is abandoned.
 */
import type { ChatMessage } from '../actors/job.js';
import type { SendOutcome } from '../actors/send.js';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import type { OutgoingReply } from '../protocol/index.js';
import type { GatewayServices, Reply, ReplyOptions, SendToRoom } from './api.js';
import { encodeReply, truncateCodePoints } from './reply.js';
import type { ContextBase, Router } from './router.js';

/** One `messageResponse` to send; the caller encodes it for the owning connection's framing. */
export type { OutgoingReply };

/** One packet and the least time since the room's previous send it waits for (0 = at once). */
export interface ReplyPacket {
  reply: OutgoingReply;
  gapMs: number;
}

export interface RunnerDeps {
  router: Router;
  /**
   * Hands packets to the outbound path of the phone that owns the message's (botName, deviceId)
   * key (DESIGN.md §2), which paces them; resolves when each has its outcome, with the number
   * delivered. Packets not sent yet when `signal` aborts are dropped.
   */
  send(packets: readonly ReplyPacket[], signal: AbortSignal): number | Promise<number>;
  services: GatewayServices;
  clock: Clock;
  /** gap between consecutive packets of one message (outbound.minGapMs; PROTOCOL §4.4 [REF] 1 s) */
  replyGapMs: number;
  /** longest text reply in code points (PROTOCOL §4.4 [REC] 65,000) */
  maxTextChars: number;
  signal: AbortSignal;
  log: Logger;
  onTruncated?(): void;
  /** ctx.send: a message to another room of the same bot (an API send) */
  sendTo?(message: ChatMessage, request: SendToRoom): Promise<SendOutcome>;
}

export interface RunResult {
  /** packets handed to deliver */
  replies: number;
  /** the signal ended the message before the handler finished */
  aborted: boolean;
}

/**
 * Resolves when the handler has finished (or was abandoned through `signal`); rejects with the
 * handler's error when a catch-all handler throws (command errors are answered, §7.9).
 */
export async function handleMessage(message: ChatMessage, deps: RunnerDeps): Promise<RunResult> {
  const { clock, signal, replyGapMs } = deps;
  const sendTo = deps.sendTo;
  if (signal.aborted) return { replies: 0, aborted: true };
  /** packets handed to the outbound path, and how many of them were delivered */
  let asked = 0;
  let sent = 0;
  let queue: Promise<void> = Promise.resolve();
  let childLog: Logger | undefined;

  const send = async (items: Reply[], backToBack: boolean): Promise<void> => {
    // Encode everything first: a malformed element fails the call before any packet goes out.
    const packets: ReplyPacket[] = [];
    for (const item of items) {
      const e = encodeReply(item);
      if (e === undefined) continue;
      // Media directives are never cut: a truncated base64 item is a broken image.
      const isMedia = e.text.startsWith('MEDIA_URL:') || e.text.startsWith('IMAGE_BASE64:');
      let text = e.text;
      if (!isMedia) {
        text = truncateCodePoints(text, deps.maxTextChars);
        if (text !== e.text) deps.onTruncated?.();
      }
      const out: OutgoingReply = {
        room: message.room,
        channelId: message.channelId,
        botName: message.packetBotName,
        text,
      };
      if (e.mediaWaitTime !== undefined) out.mediaWaitTime = e.mediaWaitTime;
      // PROTOCOL §4.4 [REF]: a pause between consecutive packets of one message, none inside a
      // back-to-back batch; the first answer to a message goes at once, as the reference's did.
      const gapMs = asked + packets.length === 0 || (backToBack && packets.length > 0) ? 0 : replyGapMs;
      packets.push({ reply: out, gapMs });
    }
    if (packets.length === 0) return;
    if (signal.aborted) throw signal.reason;
    asked += packets.length;
    sent += await deps.send(packets, signal);
    // the handler learns of the abandonment through reply(), so a loop of replies cannot spin on
    if (signal.aborted) throw signal.reason;
  };

  const base: ContextBase = {
    reply(r: Reply | Reply[], options?: ReplyOptions): Promise<void> {
      const items = Array.isArray(r) ? r : [r];
      const backToBack = options?.backToBack === true;
      // Calls that overlap (a handler not awaiting reply) still go out in call order, paced.
      const run = queue.then(() => send(items, backToBack));
      queue = run.catch(() => {});
      return run;
    },
    signal,
    get log() {
      childLog ??= deps.log.child({ traceId: message.traceId });
      return childLog;
    },
    send(request: SendToRoom): Promise<SendOutcome> {
      if (sendTo === undefined) return Promise.reject(new Error('ctx.send is not available here'));
      return sendTo(message, request);
    },
    now: () => clock.now(),
    gateway: deps.services,
  };

  // A handler that ignores its signal must not keep the message (and its worker) busy.
  let onAbort: (() => void) | undefined;
  const abandoned = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const work = (async () => {
    await deps.router.dispatch(message, base);
    // A reply the handler did not await still belongs to this message.
    await queue;
    return 'done' as const;
  })();
  try {
    const how = await Promise.race([work, abandoned]);
    return { replies: sent, aborted: how === 'aborted' || signal.aborted };
  } catch (err) {
    if (signal.aborted) return { replies: sent, aborted: true };
    throw err;
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    // The abandoned handler may still fail later; nobody waits for it any more.
    work.catch(() => {});
  }
}
