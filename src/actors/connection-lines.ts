import { isUtf8 } from 'node:buffer';
import {
  type AuthFailure,
  type DecodedLine,
  decodeLine,
  decodeV33Message,
  type Framing,
  type Handshake,
  type HmacKeys,
  type PingReplyData,
  parseAnalyze,
  parseEnvelope,
  pingReplyDataSchema,
  textLength,
  verifyAuth,
} from '../protocol/index.js';
import type { ChatMessage } from './job.js';

/**
 * What one line read on an active connection means. Pure: the connection actor turns the
 * verdict into effects, so this is tested (and fuzzed) without an actor.
 */
export type LineVerdict =
  | { kind: 'empty' }
  | { kind: 'ignored'; reason: string; error?: string; event?: string }
  | { kind: 'auth-failed'; reason: AuthFailure; event: string }
  | { kind: 'chat'; message: ChatMessage }
  | { kind: 'ping-reply'; event: string; reply: PingReplyData; rttMs: number | null };

export interface LineContext {
  framing: Framing;
  handshake: Handshake;
  keys: HmacKeys;
  now: number;
  hmacWindowMs: number;
  maxTextChars: number;
  /** server_timestamp values of pings this connection issued, newest last */
  issuedPings: readonly number[];
  newTraceId(): string;
}

/**
 * PROTOCOL §5.1: a v3.3 line is a JSON header followed by a raw payload. The header is split off
 * first and parsed ONCE (a failed JSON.parse of the whole line, then a second parse, cost more
 * than the rest of the line's handling). A header that does not parse as an object falls back to
 * the whole line, which then gives the same verdict as a v3.2 line would.
 */
export function decodeFramed(line: Buffer, framing: Framing): DecodedLine & { payload?: string } {
  if (framing !== 'v3.3' || !isUtf8(line)) return decodeLine(line);
  const text = line.toString('utf8').trim();
  const end = text.lastIndexOf('}');
  // No payload (or no `}` at all): the line is plain JSON, or not JSON.
  if (end === -1 || end === text.length - 1) return decodeLine(line);
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, end + 1));
  } catch {
    return decodeLine(line);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return decodeLine(line);
  return { kind: 'object', value: value as Record<string, unknown>, payload: text.slice(end + 1) };
}

export function classifyLine(line: Buffer, ctx: LineContext): LineVerdict {
  const decoded = decodeFramed(line, ctx.framing);
  switch (decoded.kind) {
    case 'empty':
      return decoded; // PROTOCOL §1.3: an empty line is ignored
    case 'bad-utf8':
      return { kind: 'ignored', reason: 'bad-utf8' }; // PROTOCOL §1.2
    case 'bad-json':
      return { kind: 'ignored', reason: 'bad-json', error: decoded.error }; // PROTOCOL §1.3
    case 'not-object':
      return { kind: 'ignored', reason: 'not-object' };
  }
  const envelope = parseEnvelope(decoded.value);
  if (!envelope.ok) return { kind: 'ignored', reason: 'no-envelope', error: envelope.reason };
  const { event, data } = envelope;

  switch (event) {
    case 'analyze':
    case 'message': {
      // PROTOCOL §4.1 (v3.2 analyze) and §5.3.2 (v3.3 message, mapped to analyze).
      const parsed =
        event === 'analyze' && decoded.payload === undefined
          ? parseAnalyze(data)
          : event === 'message'
            ? decodeV33Message(data, decoded.payload ?? '')
            : ({ ok: false, reason: 'analyze with a raw payload' } as const);
      if (!parsed.ok) return { kind: 'ignored', reason: 'invalid-packet', error: parsed.reason, event };
      const a = parsed.value;
      // PROTOCOL §1.5: a text over the limit is ignored, the connection kept.
      if (textLength(a.text) > ctx.maxTextChars) return { kind: 'ignored', reason: 'text-too-long', event };
      const auth = verifyAuth(a.auth, ctx.keys, ctx.now, ctx.hmacWindowMs, ctx.handshake.botName);
      // PROTOCOL §3.6 [REC]: an unauthenticated chat packet is never answered.
      if (!auth.ok) return { kind: 'auth-failed', reason: auth.reason, event };
      return {
        kind: 'chat',
        message: {
          traceId: ctx.newTraceId(),
          receivedAt: ctx.now,
          // PROTOCOL §3.6 [REC]: approval rests on the handshake identity, not on auth.deviceID.
          botName: ctx.handshake.botName,
          deviceId: ctx.handshake.deviceId,
          packetBotName: a.botName || ctx.handshake.botName,
          room: a.room,
          channelId: a.channelId,
          logId: a.logId,
          text: a.text,
          sender: a.sender,
          isGroupChat: a.isGroupChat,
          isMention: a.isMention,
          userHash: a.userHash,
          timestamp: a.timestamp,
          protocol: ctx.framing,
          legacyCallback: a.packageName !== undefined && a.logId === null,
        },
      };
    }
    case 'ping':
    case 'pong': {
      // PROTOCOL §4.2 (v3.2.2/v3.3.2 `ping`), §5.3.3 (v3.3.3 `pong`).
      const parsed = pingReplyDataSchema.safeParse(data);
      if (!parsed.success) return { kind: 'ignored', reason: 'invalid-packet', error: parsed.error.message, event };
      const auth = verifyAuth(parsed.data.auth, ctx.keys, ctx.now, ctx.hmacWindowMs, ctx.handshake.botName);
      if (!auth.ok) return { kind: 'auth-failed', reason: auth.reason, event };
      const echo = parsed.data.server_timestamp;
      // PROTOCOL §7.11 [REC]: an RTT only for a number this connection issued.
      const rttMs = typeof echo === 'number' && ctx.issuedPings.includes(echo) ? Math.max(0, ctx.now - echo) : null;
      return { kind: 'ping-reply', event, reply: parsed.data, rttMs };
    }
    case 'handshake':
      return { kind: 'ignored', reason: 'handshake-repeated', event }; // PROTOCOL §2.1: one per connection
    default:
      return { kind: 'ignored', reason: 'unknown-event', event };
  }
}
