import { describe, expect, test } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { Clock } from '../../src/actors/clock.js';
import { Repeating } from '../../src/gateway/repeating.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('Repeating (DESIGN.md §4: time is injected)', () => {
  test('runs everyMs after the previous run settled, never two at once, and not after stop', async () => {
    const clock = new SimulatedClock();
    let runs = 0;
    let settle: (() => void) | undefined;
    const r = new Repeating(clock as unknown as Clock, 1_000, () => {
      runs++;
      return new Promise<void>((resolve) => {
        settle = resolve;
      });
    });
    r.start();
    clock.increment(999);
    expect(runs).toBe(0);
    clock.increment(1);
    expect(runs).toBe(1);
    clock.increment(5_000); // still running: no second run
    expect(runs).toBe(1);
    settle!();
    await flush();
    clock.increment(999);
    expect(runs).toBe(1);
    clock.increment(1);
    expect(runs).toBe(2);
    r.stop(); // while the second run is in flight
    settle!();
    await flush();
    clock.increment(10_000);
    expect(runs).toBe(2);
  });

  test('a run that rejects does not end the repetition', async () => {
    const clock = new SimulatedClock();
    let runs = 0;
    const r = new Repeating(clock as unknown as Clock, 100, async () => {
      runs++;
      throw new Error('database away');
    });
    r.start();
    clock.increment(100);
    await flush();
    clock.increment(100);
    await flush();
    expect(runs).toBe(2);
    r.stop();
  });
});
