import type { AnyActorRef } from 'xstate';
import type { Framing, Handshake, HmacKeys, PingReplyData } from '../protocol/index.js';
import type { Clock } from './clock.js';
import type { ChatMessage } from './job.js';

/**
 * What a connection actor needs from the rest of the gateway. Actors never import infra
 * (DESIGN.md §2): the gateway passes these in `input`, tests pass fakes.
 */

export type Standing = 'full' | 'limited';

/** PROTOCOL §7.3: `approved` is full standing; every other status (or none) is limited. */
export function standingOf(status: string | undefined): Standing {
  return status === 'approved' ? 'full' : 'limited';
}

export interface DeviceVerdict {
  /** kb_bot_devices.status, or 'pending' for a device seen for the first time */
  status: string;
  /** the handshakeComplete message (PROTOCOL §7.3 table) */
  message: string;
  /** per-device line limit, null = configured default (PROTOCOL §1.5) */
  maxMessageSize: number | null;
}

/** How the gateway answered a chat message handed to it. */
export type ChatVerdict = 'accepted' | 'full' | 'ignored';

export interface PingReply {
  botName: string;
  deviceId: string;
  reply: PingReplyData;
  /** round-trip time in ms, only when the echo is a ping this connection issued (PROTOCOL §7.11 [REC]) */
  rttMs: number | null;
  receivedAt: number;
}

export type CloseReason =
  | 'handshake-timeout'
  | 'handshake-invalid'
  | 'cap-reached'
  | 'replaced'
  | 'line-too-long'
  | 'zombie'
  | 'eof'
  | 'socket-error'
  | 'slow-consumer'
  | 'shutdown'
  | 'evicted';

export interface ConnectionPorts {
  clock: Clock;
  keys: HmacKeys;
  random(): number;
  newTraceId(): string;
  /** PROTOCOL §7.3: look up or register the device; never rejects for database trouble (the gateway decides). */
  registerDevice(handshake: Handshake): Promise<DeviceVerdict>;
  /** PROTOCOL §7.2: whether one more connection may hold `key` (a takeover of a held key always may). */
  canAdmit(key: string): boolean;
  /** PROTOCOL §2.7: register `self` under the key; the gateway kicks the older holder. */
  claim(key: string, self: AnyActorRef, handshake: Handshake, standing: Standing): void;
  /** Removes the key's entry only if `self` still holds it (PROTOCOL §7.4 [REC]). */
  release(key: string, self: AnyActorRef): void;
  /** An authenticated analyze (PROTOCOL §7.7); the gateway logs it, and routes it by standing. */
  chat(message: ChatMessage, standing: Standing, self: AnyActorRef): ChatVerdict;
  pingReply(reply: PingReply): void;
  /** counters and logs for things the connection ignored or refused */
  ignored(reason: string, detail: { peer: string; key?: string; error?: string }): void;
  authFailed(reason: string, detail: { peer: string; key?: string }): void;
  sent(event: string): void;
  received(event: string): void;
  pingSent(): void;
  /** `unprocessed`: messages read but never handed on (held for the mailbox, or pipelined) */
  closed(
    reason: CloseReason,
    detail: { peer: string; key?: string; state: string; error?: string; unprocessed: number },
  ): void;
  /** a packet read before the handshake and held for after it (PROTOCOL §5.3.1 [REC]) */
  heldBeforeHandshake?(detail: { peer: string }): void;
  handshakeDone(detail: { peer: string; key: string; handshake: Handshake; verdict: DeviceVerdict }): void;
}

export interface ConnectionSettings {
  handshakeMs: number;
  pingIntervalMs: number;
  pingJitterMs: number;
  idleMs: number;
  maxLineBytes: number;
  maxTextChars: number;
  maxPendingLines: number;
  hmacWindowMs: number;
  serverVersion: string;
}

export type { Framing };
