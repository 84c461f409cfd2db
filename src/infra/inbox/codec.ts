import { z } from 'zod';
import type { ChatMessage } from '../../actors/job.js';

/** A stored message as read back from our table: checked like any other boundary. */
export const storedMessageSchema = z.object({
  traceId: z.string().min(1),
  receivedAt: z.number(),
  botName: z.string(),
  deviceId: z.string(),
  packetBotName: z.string(),
  room: z.string(),
  channelId: z.string().nullable(),
  logId: z.string().nullable(),
  text: z.string(),
  sender: z.string(),
  isGroupChat: z.boolean(),
  isMention: z.boolean(),
  userHash: z.string().nullable(),
  timestamp: z.string(),
  protocol: z.enum(['v3.2', 'v3.3']),
  legacyCallback: z.boolean(),
});

export function encodeMessage(m: ChatMessage): string {
  return JSON.stringify(m);
}

/** The message of one row, or an error text (a row we cannot read is reported, never replayed). */
export function decodeMessage(text: string): { ok: true; message: ChatMessage } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const parsed = storedMessageSchema.safeParse(value);
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, error: parsed.error.message };
}

/** What `append` and `finish` buffered, in call order. */
export type InboxOp =
  | { kind: 'append'; message: ChatMessage }
  | { kind: 'replied'; traceId: string; count: number }
  | { kind: 'finish'; traceId: string; status: 'processed' | 'failed' | 'expired'; at: number };
