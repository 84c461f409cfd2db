import { isoMicros } from './time.js';

/**
 * Server → client lines. Member order follows the examples of PROTOCOL.md so that what we send
 * can be compared byte for byte with the documented lines (order itself is irrelevant, §1.4).
 */

/** v3.2 = pure JSON lines; v3.3 = JSON header + raw payload (PROTOCOL §5.7: chosen per connection). */
export type Framing = 'v3.2' | 'v3.3';

export { decodeV33Message, splitV33 } from './v33.js';

const TIMEZONE = 'Asia/Seoul'; // PROTOCOL §5.2, informational
const NO_PAYLOAD: readonly number[] = Object.freeze([0, 0]);

/**
 * One packet as one line (PROTOCOL §1.3, §1.4): a single JSON object plus LF. JSON.stringify
 * escapes CR and LF inside strings and never pretty-prints, so the only raw LF is the terminator
 * (the client's reader would also end a line at a raw CR, §1.3 [WIRE]).
 */
export function encodeLine(event: string, data: Record<string, unknown>): string {
  // §1.4 [WIRE]: the client drops packets whose data is missing or null.
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TypeError(`encodeLine(${event}): data must be a non-null object`);
  }
  return `${JSON.stringify({ event, data })}\n`;
}

/** v3.3 framing (PROTOCOL §5.1): header, payload, LF. The payload must be ASCII without `}`, CR, LF. */
function encodeV33Line(event: string, data: Record<string, unknown>, payload: string): string {
  return `${JSON.stringify({ event, data })}${payload}\n`;
}

/** PROTOCOL §2.5: sent once per accepted connection. */
export function handshakeCompleteLine(
  d: { approved: boolean; message: string; serverVersion: string },
  framing: Framing,
  now: number,
): string {
  const data: Record<string, unknown> = {
    success: true, // §2.5 [WIRE]: anything falsy makes the client hang up and reconnect
    approved: d.approved,
    message: d.message,
    server_version: d.serverVersion,
  };
  if (framing === 'v3.3') {
    data.timestamp = isoMicros(now);
    data.timezone = TIMEZONE;
    data.message_positions = NO_PAYLOAD;
  }
  return encodeLine('handshakeComplete', data);
}

/** PROTOCOL §4.6 [REC]: `{"bot_name","server_timestamp"}`; v3.3 adds `message_positions: [0,0]` (§5.4). */
export function pingLine(botName: string, serverTimestamp: number, framing: Framing): string {
  const data: Record<string, unknown> = { bot_name: botName, server_timestamp: serverTimestamp };
  if (framing === 'v3.3') data.message_positions = NO_PAYLOAD;
  return encodeLine('ping', data);
}

export interface OutgoingReply {
  room: string;
  /** PROTOCOL §1.6: digit string as the client sent it; null = the app gave none */
  channelId: string | null;
  botName: string;
  text: string;
  /** PROTOCOL §4.4: ms, sent only when a number > 0 */
  mediaWaitTime?: number;
}

const MEDIA_PREFIXES = ['MEDIA_URL:', 'IMAGE_BASE64:'] as const; // PROTOCOL §4.5
const ITEM_SEPARATOR = '|||';

function mediaWait(r: OutgoingReply): number | undefined {
  const w = r.mediaWaitTime;
  return typeof w === 'number' && Number.isFinite(w) && w > 0 ? w : undefined;
}

/** The media items of a MEDIA_URL:/IMAGE_BASE64: text, or null for plain text (PROTOCOL §4.5: prefix at index 0, case-sensitive). */
function mediaItems(text: string): string[] | null {
  for (const prefix of MEDIA_PREFIXES) {
    if (text.startsWith(prefix)) return text.slice(prefix.length).split(ITEM_SEPARATOR);
  }
  return null;
}

/**
 * A raw v3.3 payload item must not contain CR/LF (they would end the line) or `}` (the receiver
 * splits at the last `}`, §5.1). Base64 never does; a URL gets `}` percent-encoded, which HTTP
 * treats as the same URL.
 */
function payloadSafe(item: string): string {
  return item.replace(/[\r\n]/g, '').replaceAll('}', '%7D');
}

/**
 * PROTOCOL §4.4 (v3.2) and §5.4 (v3.3): one reply text → one line. `event` names the v3.3 packet
 * (`scheduleMessage` for scheduled sends, §5.4); v3.2 phones only act on `messageResponse`.
 */
export function messageResponseLine(
  r: OutgoingReply,
  framing: Framing,
  now: number,
  event: 'messageResponse' | 'scheduleMessage' = 'messageResponse',
): string {
  const wait = mediaWait(r);
  const data: Record<string, unknown> = { room: r.room };
  if (r.channelId !== null) data.channel_id = r.channelId;
  data.bot_name = r.botName;

  if (framing === 'v3.2') {
    // §4.4 [WIRE]: `text` is a string; media directives travel inside it (§4.5).
    data.text = r.text;
    if (wait !== undefined) data.media_wait_time = wait;
    return encodeLine('messageResponse', data);
  }

  const items = mediaItems(r.text);
  if (items === null) {
    // §5.4 / §5.6.1: text always base64 (an unencoded `}` would cut the text on the phone).
    const payload = Buffer.from(r.text, 'utf8').toString('base64');
    data.message_type = 'text';
    data.timestamp = isoMicros(now);
    data.timezone = TIMEZONE;
    data.content_encoding = 'base64';
    data.message_positions = [0, payload.length];
    return encodeV33Line(event, data, payload);
  }

  // §5.4 [REF]: prefix removed, `|||` items become payload items with cumulative offsets
  // (in UTF-16 units, which is how the client measures them, §5.2).
  const safe = items.map(payloadSafe);
  const positions = [0];
  let offset = 0;
  for (const item of safe) {
    offset += item.length;
    positions.push(offset);
  }
  data.message_type = 'image';
  data.message_format = 'jpg';
  if (wait !== undefined) data.media_wait_time = wait;
  data.message_positions = positions;
  data.timestamp = isoMicros(now);
  data.timezone = TIMEZONE;
  return encodeV33Line(event, data, safe.join(''));
}
