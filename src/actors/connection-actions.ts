import type { AnyActorRef } from 'xstate';
import {
  decodeLine,
  type Framing,
  type Handshake,
  handshakeCompleteLine,
  messageResponseLine,
  parseHandshake,
  pingLine,
} from '../protocol/index.js';
import { classifyLine } from './connection-lines.js';
import {
  type ChatVerdict,
  type CloseReason,
  type DeviceVerdict,
  type Standing,
  standingOf,
} from './connection-ports.js';
import { type ConnectionContext, type ConnectionEvent, connectionKey } from './connection-types.js';

/**
 * What the connection machine's actions do (connection.ts): plain functions of the context and
 * the event, so the machine definition reads as states and transitions.
 */

const ISSUED_PINGS_KEPT = 4;

/** PROTOCOL §2.3: the handshake a line carries, with its key and reply framing; undefined if none. */
export function handshakeOfLine(line: Buffer): { handshake: Handshake; key: string; framing: Framing } | undefined {
  const decoded = decodeLine(line);
  if (decoded.kind !== 'object') return undefined;
  const parsed = parseHandshake(decoded.value);
  if (!parsed.ok) return undefined;
  const h = parsed.handshake;
  // PROTOCOL §5.7 [WIRE]: reply framing follows the handshake form; the v3.3.0 draft
  // (bare handshake with protocolVersion) only reads framed replies.
  const framing: Framing = h.form === 'enveloped' || h.protocolVersion !== undefined ? 'v3.3' : 'v3.2';
  return { handshake: h, key: connectionKey(h.botName, h.deviceId), framing };
}

/** Standing and line limit of a device status (PROTOCOL §7.3; §1.5 per-device limit, null = default). */
export function standingFields(
  context: ConnectionContext,
  status: string,
  maxMessageSize: number | null,
): { status: string; standing: Standing; limit: number } {
  const limit = maxMessageSize !== null && maxMessageSize > 0 ? maxMessageSize : context.settings.maxLineBytes;
  return { status, standing: standingOf(status), limit };
}

/** PROTOCOL §2.5: the handshakeComplete line (exactly once, success true), counted and reported. */
export function handshakeCompleteOf(context: ConnectionContext): string {
  const verdict: DeviceVerdict = context.verdict!;
  context.ports.sent('handshakeComplete');
  context.ports.handshakeDone({ peer: context.peer, key: context.key!, handshake: context.handshake!, verdict });
  return handshakeCompleteLine(
    {
      approved: verdict.status === 'approved',
      message: verdict.message,
      serverVersion: context.settings.serverVersion,
    },
    context.framing,
    context.ports.clock.now(),
  );
}

/** PROTOCOL §4.6 [REC], §7.11: a server ping, remembered for its round trip. */
export function pingOf(context: ConnectionContext): string {
  const now = context.ports.clock.now();
  // A new array of exactly its length (concat), not push/shift or a spread literal: those reserve
  // 17 or more slots, and every idle connection keeps this array (DESIGN.md §6).
  const issued = context.issuedPings;
  context.issuedPings = (issued.length < ISSUED_PINGS_KEPT ? issued : issued.slice(1)).concat(now);
  context.ports.pingSent();
  context.ports.sent('ping');
  return pingLine(context.handshake!.botName, now, context.framing);
}

/** A reply as a line for this phone, counted (PROTOCOL §5.4: scheduleMessage only in v3.3 framing; a v3.2.2 phone ignores it, §4.7). */
export function replyLineOf(context: ConnectionContext, event: Extract<ConnectionEvent, { type: 'DELIVER' }>): string {
  const name = context.framing === 'v3.3' && event.event === 'scheduleMessage' ? 'scheduleMessage' : 'messageResponse';
  context.ports.sent(name);
  return messageResponseLine(event.reply, context.framing, context.ports.clock.now(), name);
}

/** Why the connection closes, from the event that closes it. */
export function closeOfEvent(event: ConnectionEvent): { closeReason?: CloseReason; closeError?: string } {
  switch (event.type) {
    case 'KICK':
      return { closeReason: event.reason };
    case 'OVERFLOW':
      return { closeReason: 'line-too-long', closeError: `line over ${event.limit} bytes` };
    case 'EOF':
      return { closeReason: 'eof' };
    case 'SOCKET_ERROR':
      return { closeReason: 'socket-error', closeError: event.message };
    case 'SLOW_CONSUMER':
      return { closeReason: 'slow-consumer', closeError: `${event.bytes} bytes unsent` };
    default:
      return {};
  }
}

/** The closed state: the key is released and the close reported with what was never handed on. */
export function releaseConnection(context: ConnectionContext, self: AnyActorRef): void {
  if (context.key !== null) context.ports.release(context.key, self);
  context.ports.closed(context.closeReason ?? 'eof', {
    peer: context.peer,
    key: context.key ?? undefined,
    state: context.handshake === null ? 'handshaking' : 'active',
    error: context.closeError,
    unprocessed: context.flow.held.length + context.flow.pending.length,
  });
}

/** Resubmits held messages in order; false when the mailbox is full again. */
export function submit(context: ConnectionContext, self: AnyActorRef): boolean {
  const { flow, ports, standing } = context;
  while (flow.held.length > 0) {
    const verdict: ChatVerdict = ports.chat(flow.held[0]!, standing, self);
    if (verdict === 'full') return false;
    flow.held.shift();
  }
  return true;
}

/** Turns one line into its effects (PROTOCOL §7.5 steps 4–8). */
export function handleLine(context: ConnectionContext, line: Buffer, self: AnyActorRef): void {
  const { ports } = context;
  const verdict = classifyLine(line, {
    framing: context.framing,
    handshake: context.handshake!,
    keys: ports.keys,
    now: ports.clock.now(),
    hmacWindowMs: context.settings.hmacWindowMs,
    maxTextChars: context.settings.maxTextChars,
    issuedPings: context.issuedPings,
    newTraceId: ports.newTraceId,
  });
  switch (verdict.kind) {
    case 'empty':
      return;
    case 'ignored':
      if (verdict.event !== undefined) ports.received(verdict.event);
      ports.ignored(verdict.reason, { peer: context.peer, key: context.key ?? undefined, error: verdict.error });
      return;
    case 'auth-failed':
      ports.received(verdict.event);
      ports.authFailed(verdict.reason, { peer: context.peer, key: context.key ?? undefined });
      return;
    case 'ping-reply':
      ports.received(verdict.event);
      ports.pingReply({
        botName: context.handshake!.botName,
        deviceId: context.handshake!.deviceId,
        reply: verdict.reply,
        rttMs: verdict.rttMs,
        receivedAt: ports.clock.now(),
      });
      return;
    case 'chat': {
      ports.received('analyze');
      const { flow } = context;
      // Order is kept: while earlier messages wait for the mailbox, later ones wait behind them.
      if (flow.held.length > 0) {
        flow.held.push(verdict.message);
        return;
      }
      if (ports.chat(verdict.message, context.standing, self) === 'full') {
        flow.held.push(verdict.message);
        self.send({ type: 'MAILBOX_FULL' });
      }
      return;
    }
  }
}
