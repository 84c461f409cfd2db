/**
 * Turns a handler's Reply into the `text` (and `media_wait_time`) of one `messageResponse`
 * (PROTOCOL §4.4, §4.5). Media are checked here, because the phone skips a malformed item
 * without telling anyone.
 */
import type { Reply } from './api.js';

export interface EncodedReply {
  text: string;
  /** PROTOCOL §4.4: only present when > 0 */
  mediaWaitTime?: number;
}

/** PROTOCOL §4.4 [REF]: a reply element equal to this sends nothing. */
export const NO_REPLY = '@no-reply';

// PROTOCOL §4.5
export const MEDIA_URL_PREFIX = 'MEDIA_URL:';
export const IMAGE_BASE64_PREFIX = 'IMAGE_BASE64:';
export const MEDIA_SEPARATOR = '|||';

// PROTOCOL §4.5 [WIRE]: standard alphabet, no data: prefix, no whitespace, correct padding.
// A plain character-class loop: a repeated group ((?:…{4})*) overflowed the regexp stack on
// images of about 5 MB and more (a 10 MB reply), failing the whole reply.
const BASE64_BODY = /^[A-Za-z0-9+/]*$/;

/** Length a multiple of 4, the standard alphabet, and at most two `=` of padding at the end. */
function isStandardBase64(s: string): boolean {
  if (s.length % 4 !== 0) return false;
  const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return BASE64_BODY.test(padding === 0 ? s : s.slice(0, -padding));
}

export class ReplyError extends Error {
  override name = 'ReplyError';
}

/** undefined for `@no-reply`; throws ReplyError for a reply the phone could not use. */
export function encodeReply(reply: Reply): EncodedReply | undefined {
  if (typeof reply === 'string') return reply === NO_REPLY ? undefined : { text: reply };
  if (typeof reply !== 'object' || reply === null) {
    throw new ReplyError(`a reply must be a string or a media object, got ${typeof reply}`);
  }
  let text: string;
  if ('imagesBase64' in reply) {
    text = IMAGE_BASE64_PREFIX + joinItems(reply.imagesBase64, 'imagesBase64', checkBase64);
  } else if ('mediaUrls' in reply) {
    text = MEDIA_URL_PREFIX + joinItems(reply.mediaUrls, 'mediaUrls', checkMediaUrl);
  } else {
    throw new ReplyError('a media reply needs mediaUrls or imagesBase64');
  }
  const wait = reply.waitMs;
  if (wait !== undefined && (typeof wait !== 'number' || !Number.isFinite(wait))) {
    throw new ReplyError(`waitMs must be a finite number of milliseconds, got ${String(wait)}`);
  }
  // PROTOCOL §4.4 [REF]: media_wait_time only when > 0 (the phone ignores anything else).
  return wait !== undefined && wait > 0 ? { text, mediaWaitTime: wait } : { text };
}

function joinItems(items: unknown, field: string, check: (item: string, index: number) => void): string {
  if (!Array.isArray(items) || items.length === 0) {
    throw new ReplyError(`${field} must be a non-empty array of strings`);
  }
  items.forEach((item: unknown, i) => {
    if (typeof item !== 'string') throw new ReplyError(`${field}[${i}] must be a string, got ${typeof item}`);
    check(item, i);
  });
  return items.join(MEDIA_SEPARATOR);
}

function checkBase64(item: string, i: number): void {
  if (item.length === 0) throw new ReplyError(`imagesBase64[${i}] is empty`);
  if (item.startsWith('data:')) {
    throw new ReplyError(`imagesBase64[${i}] starts with a data: URI prefix; give the bare base64 (PROTOCOL §4.5)`);
  }
  if (/\s/.test(item)) {
    throw new ReplyError(`imagesBase64[${i}] contains whitespace or line breaks; the phone would skip it`);
  }
  if (/[-_]/.test(item)) {
    throw new ReplyError(`imagesBase64[${i}] uses the URL-safe alphabet ('-', '_'); use standard base64`);
  }
  if (!isStandardBase64(item)) throw new ReplyError(`imagesBase64[${i}] is not valid standard base64`);
  // PROTOCOL §4.5: the phone downloads any item starting with `http` instead of decoding it.
  if (/^http/i.test(item)) throw new ReplyError(`imagesBase64[${i}] starts with 'http' and would be read as a URL`);
}

function checkMediaUrl(item: string, i: number): void {
  if (item.length === 0) throw new ReplyError(`mediaUrls[${i}] is empty`);
  if (item.includes(MEDIA_SEPARATOR)) throw new ReplyError(`mediaUrls[${i}] contains the separator '|||'`);
  // PROTOCOL §4.5: an item not starting with `http` is read as base64 or as a path on the phone.
  if (!/^http/i.test(item) && !item.startsWith('/')) {
    throw new ReplyError(`mediaUrls[${i}] must be an http(s) URL or an absolute path on the phone: ${item}`);
  }
}

/**
 * Cuts `text` to at most `max` code points without splitting a surrogate pair.
 * Returns the same string when it already fits.
 */
export function truncateCodePoints(text: string, max: number): string {
  // UTF-16 length ≥ code points, so this covers nearly every reply without a scan.
  if (text.length <= max) return text;
  let units = 0;
  let points = 0;
  while (units < text.length && points < max) {
    const c = text.charCodeAt(units);
    const pair = c >= 0xd800 && c <= 0xdbff && units + 1 < text.length;
    const next = pair ? text.charCodeAt(units + 1) : 0;
    units += pair && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    points++;
  }
  return units >= text.length ? text : text.slice(0, units);
}
