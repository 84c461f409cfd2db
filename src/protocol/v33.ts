import { type AnalyzeData, type ParseResult, parseAnalyze } from './schemas.js';
import { isoToKst } from './time.js';

/**
 * v3.3.x framing: a JSON header followed by a raw payload on the same line (PROTOCOL §5).
 */

/**
 * PROTOCOL §5.1: the header ends at the **last** `}` of the whitespace-trimmed line; everything
 * after it is the payload. Without any `}` the whole line is the header (and will not parse).
 */
export function splitV33(line: string): { header: string; payload: string } {
  const trimmed = line.trim();
  const end = trimmed.lastIndexOf('}');
  if (end === -1) return { header: trimmed, payload: '' };
  return { header: trimmed.slice(0, end + 1), payload: trimmed.slice(end + 1) };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict standard base64 of UTF-8 text, or null (the caller then uses the raw payload). */
function decodeBase64Text(payload: string): string | null {
  if (payload.length % 4 !== 0 || !BASE64.test(payload)) return null;
  try {
    return utf8.decode(Buffer.from(payload, 'base64'));
  } catch {
    return null;
  }
}

/** snake_case (v3.3.2+, §5.3.2) first, then the camelCase spelling of the v3.3.0 draft (§5.5). */
function pick(data: Record<string, unknown>, snake: string, camel: string): unknown {
  const v = data[snake];
  return v === undefined ? data[camel] : v;
}

/**
 * PROTOCOL §5.3.2 [REF] + §5.5 [REC]: a v3.3 `message` header and its payload, mapped to the
 * analyze names and validated exactly like a v3.2 analyze (§4.1).
 *
 * The text is the whole payload (§5.6.1: `message_positions` is not reliable), base64-decoded
 * when `content_encoding` is "base64", the raw payload when that decoding fails. An ISO
 * `timestamp` is converted to KST `YYYY-MM-DD HH:MM:SS` like the analyze form.
 */
export function decodeV33Message(data: Record<string, unknown>, payload: string): ParseResult<AnalyzeData> {
  let text: unknown = payload;
  if (payload !== '' && data.content_encoding === 'base64') text = decodeBase64Text(payload) ?? payload;
  // A header that carries its text inline (no payload) is taken as is.
  if (payload === '' && typeof data.text === 'string') text = data.text;
  const timestamp = data.timestamp;
  return parseAnalyze({
    room: data.room,
    text,
    sender: data.sender,
    isGroupChat: pick(data, 'is_group_chat', 'isGroupChat'),
    channelId: pick(data, 'channel_id', 'channelId'),
    logId: pick(data, 'log_id', 'logId'),
    userHash: pick(data, 'user_hash', 'userHash'),
    isMention: pick(data, 'is_mention', 'isMention'),
    timestamp: typeof timestamp === 'string' ? isoToKst(timestamp) : timestamp,
    botName: pick(data, 'bot_name', 'botName'),
    clientType: pick(data, 'client_type', 'clientType'),
    auth: data.auth,
  });
}
