import { createHash } from 'node:crypto';
import type { ChatMessage } from '../actors/job.js';

/**
 * What a handler-failure log line carries so it can be traced to its chat (bot, device, room,
 * sender, command, trace id) without writing the sender's name or the text into the log: the
 * sender is the app's userHash (PROTOCOL §4.1), or a short hash of the name when it sent none.
 */
export function senderHash(m: Pick<ChatMessage, 'userHash' | 'sender'>): string {
  if (m.userHash !== null && m.userHash !== '') return m.userHash;
  return `name:${createHash('sha256').update(m.sender).digest('hex').slice(0, 12)}`;
}

export interface FailureFields {
  traceId: string;
  botName: string;
  deviceId: string;
  channelId: string | null;
  room: string;
  senderHash: string;
  command?: string;
}

export function failureFields(m: ChatMessage, command?: string): FailureFields {
  const fields: FailureFields = {
    traceId: m.traceId,
    botName: m.botName,
    deviceId: m.deviceId,
    channelId: m.channelId,
    room: m.room,
    senderHash: senderHash(m),
  };
  if (command !== undefined) fields.command = command;
  return fields;
}
