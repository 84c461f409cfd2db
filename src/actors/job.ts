/**
 * What flows from a connection to the dispatcher and its workers.
 * A ChatMessage is an accepted `analyze` (PROTOCOL §4.1) with the connection's identity.
 */

export interface ChatMessage {
  /** ULID given at the connection; every log line about this message carries it */
  traceId: string;
  /** epoch ms when the connection accepted it */
  receivedAt: number;
  /** handshake identity of the delivering connection (PROTOCOL §3.6 [REC]) */
  botName: string;
  deviceId: string;
  /** `botName` member of the packet (PROTOCOL §7.7: used as bot_name of replies) */
  packetBotName: string;
  room: string;
  /** PROTOCOL §1.6: digit strings, never numbers; null when the app gave none */
  channelId: string | null;
  logId: string | null;
  text: string;
  sender: string;
  isGroupChat: boolean;
  isMention: boolean;
  userHash: string | null;
  /** the phone's `YYYY-MM-DD HH:MM:SS` forwarding time, as sent */
  timestamp: string;
  protocol: 'v3.2' | 'v3.3';
  /** PROTOCOL §4.1: sent by the script's legacy message callback (has packageName, no logId) */
  legacyCallback: boolean;
}

export interface Job {
  /** = message.traceId */
  id: string;
  /** concurrency gate keys: the bot (handshake bot name) and the room */
  botKey: string;
  roomKey: string;
  /** epoch ms when the dispatcher accepted it */
  enqueuedAt: number;
  /** how many times a worker started it (a crashed worker's job is re-queued once) */
  attempts: number;
  message: ChatMessage;
}

export type JobOutcome =
  | { status: 'processed' }
  | { status: 'failed'; reason: 'timeout' | 'error' | 'crash'; error?: string };

/** Gate key of a room: per bot, by channel id, or by title when the app gave no channel id. */
export function roomKeyOf(message: Pick<ChatMessage, 'botName' | 'channelId' | 'room'>): string {
  return message.channelId !== null
    ? `${message.botName}\u0000${message.channelId}`
    : `${message.botName}\u0000title:${message.room}`;
}
