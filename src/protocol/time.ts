/**
 * The timestamp spellings of the wire (PROTOCOL §9 item 17 lists them all).
 */

const KST_OFFSET_MS = 9 * 60 * 60 * 1000; // PROTOCOL §0.2: KST is UTC+09:00, no daylight saving

/** Server form of the v3.3 common `timestamp`: `2025-07-21T03:12:11.123456+00:00` (PROTOCOL §2.5, §5.2). */
export function isoMicros(epochMs: number): string {
  const ms = Math.floor(epochMs);
  // Rounded, not floored: a fractional ms such as .234 is stored as .23399… in a double.
  const micros = Math.min(999, Math.round((epochMs - ms) * 1000));
  const iso = new Date(ms).toISOString(); // …T03:12:11.123Z
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}+00:00`;
}

let lastSecond = Number.NaN;
let lastKst = '';

/**
 * KST wall clock `YYYY-MM-DD HH:MM:SS` (milliseconds dropped), the form of the v3.2 analyze
 * `timestamp` (PROTOCOL §4.1) and of every DATETIME in the kb_* tables (PROTOCOL §8.0).
 * Calls come in bursts within one second, so the last second's text is reused.
 */
export function kstDateTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second === lastSecond) return lastKst;
  const iso = new Date(second * 1000 + KST_OFFSET_MS).toISOString();
  lastSecond = second;
  lastKst = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return lastKst;
}

/**
 * PROTOCOL §5.3.2 [REF]: an ISO timestamp with `T` and `Z`/`+` (v3.3 client) becomes KST
 * `YYYY-MM-DD HH:MM:SS`; anything else is kept as sent.
 */
export function isoToKst(value: string): string {
  if (!value.includes('T') || !(value.includes('Z') || value.includes('+'))) return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : kstDateTime(ms);
}
