import { kstDateTime } from '../protocol/time.js';

/**
 * The pure rules of the scheduler (PROTOCOL §7.12): next daily/weekly times, the catch-up window
 * and the stagger between bots. Every time is a naive KST `YYYY-MM-DD HH:MM:SS` (§8.0); KST is
 * UTC+09:00 with no daylight saving, so calendar arithmetic is done on UTC dates shifted by 9 h.
 */

const KST_OFFSET_MS = 9 * 3_600_000;
const DAY_MS = 86_400_000;

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const KST_TEXT = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/;
const TIME_TEXT = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/** epoch ms → `YYYY-MM-DD HH:MM:SS` KST (PROTOCOL §8.0): the protocol's one implementation. */
export const kstText = kstDateTime;

/** `YYYY-MM-DD HH:MM:SS` KST → epoch ms; undefined when it is not that shape. */
export function parseKst(text: string): number | undefined {
  const m = KST_TEXT.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isNaN(ms) ? undefined : ms - KST_OFFSET_MS;
}

/** `HH:MM[:SS]` → seconds after midnight; undefined when not a time of day. */
export function parseTimeOfDay(text: string): number | undefined {
  const m = TIME_TEXT.exec(text.trim());
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  const s = m[3] === undefined ? 0 : Number(m[3]);
  if (h > 23 || min > 59 || s > 59) return undefined;
  return h * 3600 + min * 60 + s;
}

/** epoch ms of KST midnight of the day `epochMs` falls on (KST). */
function kstMidnight(epochMs: number): number {
  return Math.floor((epochMs + KST_OFFSET_MS) / DAY_MS) * DAY_MS - KST_OFFSET_MS;
}

/** PROTOCOL §7.12: `daily` ⇒ tomorrow (KST, from `nowMs`) at `scheduleTime`. */
export function nextDaily(nowMs: number, scheduleTime: string): string | undefined {
  const tod = parseTimeOfDay(scheduleTime);
  if (tod === undefined) return undefined;
  return kstText(kstMidnight(nowMs) + DAY_MS + tod * 1000);
}

/** `monday,friday` (a MariaDB SET) → the known lower-case weekday names in it. */
export function parseWeekdays(value: string | null): Weekday[] {
  if (value === null) return [];
  const names = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s): s is Weekday => (WEEKDAYS as readonly string[]).includes(s));
  return [...new Set(names)];
}

/**
 * PROTOCOL §7.12: `weekly` ⇒ the first day from tomorrow on (KST) whose weekday is in
 * `weekdays`, at `scheduleTime`. Undefined without a valid time or any weekday.
 */
export function nextWeekly(nowMs: number, scheduleTime: string, weekdays: string | null): string | undefined {
  const tod = parseTimeOfDay(scheduleTime);
  const days = parseWeekdays(weekdays);
  if (tod === undefined || days.length === 0) return undefined;
  const midnight = kstMidnight(nowMs);
  for (let i = 1; i <= 7; i++) {
    const day = midnight + i * DAY_MS;
    const weekday = WEEKDAYS[new Date(day + KST_OFFSET_MS).getUTCDay()] as Weekday;
    if (days.includes(weekday)) return kstText(day + tod * 1000);
  }
  return undefined;
}

/** What a schedule row becomes after a run (PROTOCOL §7.12 "Afterwards"). */
export type Advance =
  | { kind: 'completed' }
  | { kind: 'next'; nextSendAt: string }
  /** a daily/weekly row whose time or weekdays cannot be read: status `error` */
  | { kind: 'error'; detail: string };

export function advanceAfterRun(
  scheduleType: string,
  nowMs: number,
  scheduleTime: string,
  weekdays: string | null,
): Advance {
  if (scheduleType === 'daily') {
    const next = nextDaily(nowMs, scheduleTime);
    return next === undefined
      ? { kind: 'error', detail: `bad schedule_time ${scheduleTime}` }
      : { kind: 'next', nextSendAt: next };
  }
  if (scheduleType === 'weekly') {
    const next = nextWeekly(nowMs, scheduleTime, weekdays);
    return next === undefined
      ? { kind: 'error', detail: `bad schedule_time ${scheduleTime} or schedule_weekdays ${weekdays ?? 'NULL'}` }
      : { kind: 'next', nextSendAt: next };
  }
  return { kind: 'completed' };
}

/** PROTOCOL §7.12: the catch-up pass takes due times within the last `windowS` seconds. */
export function catchUpSince(nowMs: number, windowS: number): string {
  return kstText(nowMs - windowS * 1000);
}

/**
 * PROTOCOL §7.12: different bots start `min(10, max(1, (55 − current second) div bots))`
 * seconds apart (the bounds are config). Returns ms.
 */
export function botStaggerMs(nowMs: number, bots: number, minS = 1, maxS = 10): number {
  if (bots <= 0) return 0;
  const second = Math.floor(nowMs / 1000) % 60;
  return Math.min(maxS, Math.max(minS, Math.floor((55 - second) / bots))) * 1000;
}

/** ms from `nowMs` to the next full minute (at a full minute: the one after it). */
export function msToNextMinute(nowMs: number): number {
  return 60_000 - (((nowMs % 60_000) + 60_000) % 60_000);
}

/** A new `daily` schedule's first due time: today at `time` if still ahead of `nowMs`, else tomorrow. */
export function firstDaily(nowMs: number, scheduleTime: string): string | undefined {
  const tod = parseTimeOfDay(scheduleTime);
  if (tod === undefined) return undefined;
  const today = kstMidnight(nowMs) + tod * 1000;
  return today > nowMs ? kstText(today) : nextDaily(nowMs, scheduleTime);
}

/** A new `weekly` schedule's first due time: today if listed and `time` is still ahead, else as nextWeekly. */
export function firstWeekly(nowMs: number, scheduleTime: string, weekdays: string | null): string | undefined {
  const tod = parseTimeOfDay(scheduleTime);
  if (tod === undefined) return undefined;
  const today = kstMidnight(nowMs);
  const weekday = WEEKDAYS[new Date(today + KST_OFFSET_MS).getUTCDay()] as Weekday;
  if (today + tod * 1000 > nowMs && parseWeekdays(weekdays).includes(weekday)) return kstText(today + tod * 1000);
  return nextWeekly(nowMs, scheduleTime, weekdays);
}
