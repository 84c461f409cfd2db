import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DedupWindow } from '../../src/gateway/dedup.js';

describe('DedupWindow', () => {
  test('a key is seen within the window and forgotten after it', () => {
    const w = new DedupWindow(1_000);
    expect(w.check('a', 0)).toBe(false);
    expect(w.check('a', 999)).toBe(true);
    expect(w.has('a', 1_000)).toBe(false);
    expect(w.size).toBe(0);
    expect(w.check('a', 1_000)).toBe(false);
  });

  test('a key recorded again lives from its latest recording', () => {
    const w = new DedupWindow(1_000);
    w.add('a', 0);
    w.add('b', 100);
    w.add('a', 500);
    expect(w.has('a', 1_200)).toBe(true); // the first recording expired, the second has not
    expect(w.has('b', 1_200)).toBe(false);
    expect(w.has('a', 1_500)).toBe(false);
    expect(w.size).toBe(0);
  });

  test('beyond maxEntries the oldest key goes first', () => {
    const w = new DedupWindow(60_000, 3);
    for (const k of ['a', 'b', 'c', 'd']) w.add(k, 0);
    expect(w.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((k) => w.has(k, 1))).toEqual([false, true, true, true]);
  });

  test('agrees with a plain model over random operations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 0, max: 400 })), {
          maxLength: 200,
        }),
        (ops) => {
          const windowMs = 1_000;
          const w = new DedupWindow(windowMs, 1_000);
          const model = new Map<string, number>();
          let now = 0;
          for (const [key, step] of ops) {
            now += step;
            const expected = (model.get(key) ?? Number.NEGATIVE_INFINITY) > now;
            expect(w.check(key, now)).toBe(expected);
            if (!expected) model.set(key, now + windowMs);
            for (const [k, e] of model) if (e <= now) model.delete(k);
            expect(w.size).toBe(model.size);
          }
        },
      ),
    );
  });
});
