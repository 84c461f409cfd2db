import type { OutgoingReply } from '../../protocol/index.js';
import type { ChatLogRow } from '../store/types.js';

/**
 * PROTOCOL §8.3 [REC]: the gateway's own messages in kb_chat_logs (`is_our_bot_response = 1`,
 * `is_scheduled = 1` for scheduler sends), so the back office shows the whole conversation.
 * The reference never logged them (§7.7).
 */

const IMAGE_BASE64 = 'IMAGE_BASE64:';
const MEDIA_URL = 'MEDIA_URL:';
const SEPARATOR = '|||';

/**
 * The `message` text of a sent packet. Base64 images are summarised (`IMAGE_BASE64: 2 items,
 * 18,204 bytes`): megabytes of base64 would overflow the TEXT column and fail the whole batch.
 */
export function sentMessageText(text: string): string {
  if (!text.startsWith(IMAGE_BASE64)) return text;
  const items = text.slice(IMAGE_BASE64.length).split(SEPARATOR);
  let bytes = 0;
  for (const item of items)
    bytes += Math.floor((item.length * 3) / 4) - (item.endsWith('==') ? 2 : item.endsWith('=') ? 1 : 0);
  return `${IMAGE_BASE64} ${items.length} item${items.length === 1 ? '' : 's'}, ${bytes.toLocaleString('en-US')} bytes`;
}

/** One kb_chat_logs row for a delivered send. `sender` is the bot's name. */
export function sentChatLogRow(reply: OutgoingReply, scheduled: boolean, now: number): ChatLogRow {
  const media = reply.text.startsWith(IMAGE_BASE64) || reply.text.startsWith(MEDIA_URL);
  return {
    channelId: reply.channelId ?? '',
    userHash: null,
    roomName: reply.room,
    sender: reply.botName,
    message: sentMessageText(reply.text),
    directive: null,
    messageType: media ? 'media' : 'text',
    isMeaningful: false,
    botName: reply.botName,
    isMention: false,
    isGroupChat: false,
    logId: null,
    clientTimestamp: now,
    isOurBotResponse: true,
    isScheduled: scheduled,
  };
}
