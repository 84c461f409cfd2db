import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  advanceAfterRun,
  botStaggerMs,
  catchUpSince,
  firstDaily,
  firstWeekly,
  kstText,
  msToNextMinute,
  nextDaily,
  nextWeekly,
  parseKst,
  parseTimeOfDay,
  parseWeekdays,
  WEEKDAYS,
} from '../../src/actors/schedule-rules.js';

const kst = (text: string) => parseKst(text) as number;

describe('schedule rules (PROTOCOL §7.12)', () => {
  it('KST is UTC+9 with no daylight saving', () => {
    expect(kstText(Date.UTC(2026, 0, 15, 15, 0, 0))).toBe('2026-01-16 00:00:00');
    expect(kstText(Date.UTC(2026, 6, 15, 15, 0, 0))).toBe('2026-07-16 00:00:00');
    expect(parseKst('2026-03-08 02:30:00')).toBe(Date.UTC(2026, 2, 7, 17, 30, 0));
    expect(parseKst('not a time')).toBeUndefined();
  });

  it('daily: tomorrow at schedule_time, across month and year ends and 29 February', () => {
    expect(nextDaily(kst('2026-01-31 09:00:05'), '09:00:00')).toBe('2026-02-01 09:00:00');
    expect(nextDaily(kst('2026-12-31 23:59:59'), '00:00')).toBe('2027-01-01 00:00:00');
    expect(nextDaily(kst('2028-02-28 10:00:00'), '08:30:00')).toBe('2028-02-29 08:30:00');
    expect(nextDaily(kst('2027-02-28 10:00:00'), '08:30:00')).toBe('2027-03-01 08:30:00');
    // 23:30 UTC is already the next KST day
    expect(nextDaily(Date.UTC(2026, 3, 30, 23, 30), '07:00:00')).toBe('2026-05-02 07:00:00');
    expect(nextDaily(kst('2026-01-01 00:00:00'), '25:00')).toBeUndefined();
  });

  it('weekly: the first listed weekday from tomorrow on', () => {
    // 2026-01-30 is a Friday
    expect(nextWeekly(kst('2026-01-30 12:00:00'), '10:00:00', 'friday')).toBe('2026-02-06 10:00:00');
    expect(nextWeekly(kst('2026-01-30 12:00:00'), '10:00:00', 'monday,friday')).toBe('2026-02-02 10:00:00');
    expect(nextWeekly(kst('2026-01-30 12:00:00'), '10:00:00', 'saturday')).toBe('2026-01-31 10:00:00');
    expect(nextWeekly(kst('2026-01-30 12:00:00'), '10:00:00', '')).toBeUndefined();
    expect(parseWeekdays('Monday, friday,funday,monday')).toEqual(['monday', 'friday']);
  });

  it('advance after a run: once completes, daily/weekly move on, unreadable rows become error', () => {
    const now = kst('2026-01-30 12:00:00');
    expect(advanceAfterRun('once', now, '12:00:00', null)).toEqual({ kind: 'completed' });
    expect(advanceAfterRun('daily', now, '12:00:00', null)).toEqual({
      kind: 'next',
      nextSendAt: '2026-01-31 12:00:00',
    });
    expect(advanceAfterRun('weekly', now, '12:00:00', 'sunday')).toEqual({
      kind: 'next',
      nextSendAt: '2026-02-01 12:00:00',
    });
    expect(advanceAfterRun('weekly', now, '12:00:00', null).kind).toBe('error');
  });

  it('catch-up window, stagger between bots and the next full minute', () => {
    expect(catchUpSince(kst('2026-01-30 12:00:00'), 300)).toBe('2026-01-30 11:55:00');
    expect(botStaggerMs(kst('2026-01-30 12:00:00'), 1)).toBe(10_000);
    expect(botStaggerMs(kst('2026-01-30 12:00:00'), 11)).toBe(5_000);
    expect(botStaggerMs(kst('2026-01-30 12:00:54'), 3)).toBe(1_000);
    expect(msToNextMinute(kst('2026-01-30 12:00:00'))).toBe(60_000);
    expect(msToNextMinute(kst('2026-01-30 12:00:59') + 500)).toBe(500);
  });

  it('first due time of a new schedule: today if still ahead, else the next one', () => {
    const now = kst('2026-01-15 10:00:00'); // a Thursday
    expect(firstDaily(now, '10:30')).toBe('2026-01-15 10:30:00');
    expect(firstDaily(now, '10:00')).toBe('2026-01-16 10:00:00');
    expect(firstWeekly(now, '11:00', 'thursday')).toBe('2026-01-15 11:00:00');
    expect(firstWeekly(now, '09:00', 'thursday')).toBe('2026-01-22 09:00:00');
    expect(firstWeekly(now, '09:00', 'friday,monday')).toBe('2026-01-16 09:00:00');
    expect(firstWeekly(now, '09:00', 'someday')).toBeUndefined();
  });

  const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31) });
  const timeOfDay = fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m, s]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`);

  it('property: daily is on the next KST calendar day at exactly schedule_time', () => {
    fc.assert(
      fc.property(instant, timeOfDay, (now, time) => {
        const next = nextDaily(now, time) as string;
        expect(next.slice(11)).toBe(time);
        const today = kstText(now).slice(0, 10);
        const dayAfter = kstText(kst(`${today} 00:00:00`) + 86_400_000).slice(0, 10);
        expect(next.slice(0, 10)).toBe(dayAfter);
        expect(kst(next)).toBeGreaterThan(now);
        expect(parseTimeOfDay(time)).toBeDefined();
      }),
    );
  });

  it('property: weekly is 1–7 days ahead, on a listed weekday, the first such day', () => {
    fc.assert(
      fc.property(instant, timeOfDay, fc.subarray([...WEEKDAYS], { minLength: 1 }), (now, time, days) => {
        const next = nextWeekly(now, time, days.join(',')) as string;
        const midnight = (t: number) => kst(`${kstText(t).slice(0, 10)} 00:00:00`);
        const ahead = (midnight(kst(next)) - midnight(now)) / 86_400_000;
        expect(ahead).toBeGreaterThanOrEqual(1);
        expect(ahead).toBeLessThanOrEqual(7);
        const weekdayOf = (t: number) => WEEKDAYS[new Date(midnight(t) + 9 * 3_600_000).getUTCDay()];
        expect(days).toContain(weekdayOf(kst(next)));
        for (let d = 1; d < ahead; d++) expect(days).not.toContain(weekdayOf(midnight(now) + d * 86_400_000));
        expect(next.slice(11)).toBe(time);
      }),
    );
  });

  it('property: kstText and parseKst round-trip whole seconds', () => {
    fc.assert(
      fc.property(instant, (t) => {
        const s = Math.floor(t / 1000) * 1000;
        expect(parseKst(kstText(s))).toBe(s);
      }),
    );
  });
});
