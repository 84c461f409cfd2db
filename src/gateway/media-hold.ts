import type { OutgoingReply } from '../protocol/index.js';

const MEDIA_PREFIXES = ['IMAGE_BASE64:', 'MEDIA_URL:'] as const;

/**
 * How long the phone is busy after a media packet (PROTOCOL §4.5): `media_wait_time` when given,
 * else the wait the client computes itself (known sizes only: a URL counts as 0 bytes).
 */
export function mediaHoldMs(reply: OutgoingReply): number {
  const prefix = MEDIA_PREFIXES.find((p) => reply.text.startsWith(p));
  if (prefix === undefined) return 0;
  const wait = reply.mediaWaitTime;
  if (typeof wait === 'number' && wait > 0) return wait;
  const items = reply.text.slice(prefix.length).split('|||');
  let bytes = 0;
  for (const item of items) if (!/^http/i.test(item)) bytes += (item.length * 3) / 4;
  const mb = bytes / 1_048_576;
  if (items.length === 1) return Math.min(6_000, Math.max(4_000, Math.round(1_500 + mb * 2_000)));
  return Math.min(15_000, Math.max(3_000, Math.round(1_500 + mb * 2_000 + (items.length - 1) * 300)));
}
