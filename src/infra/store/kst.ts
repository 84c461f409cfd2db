/**
 * PROTOCOL §8.0: every DATETIME in the kb_* tables is a naive Korean local time (KST, UTC+09:00,
 * no daylight saving). We format it in JS from epoch ms so neither the host's nor the database
 * session's time zone can shift what we store.
 */
const KST_OFFSET_MS = 9 * 3_600_000;

/** epoch ms → `YYYY-MM-DD HH:MM:SS` in KST: the wire's spelling (src/protocol/time.ts) is the tables' too. */
export { kstDateTime } from '../../protocol/time.js';

const KST_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** `YYYY-MM-DD HH:MM:SS[.fff]` read as KST → epoch ms; undefined when it is not that shape. */
export function parseKstDateTime(text: string): number | undefined {
  const m = KST_PATTERN.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac ? Number(frac.padEnd(3, '0').slice(0, 3)) : 0;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  return Number.isNaN(utc) ? undefined : utc - KST_OFFSET_MS;
}
