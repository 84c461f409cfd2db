import type { Clock } from '../../../src/infra/clock.js';

interface Entry {
  id: number;
  due: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A simulated clock for long runs: the same contract as xstate's SimulatedClock (now,
 * setTimeout, clearTimeout; time only moves when the test says so), but timers live in a binary
 * heap and each fires at its own due time. SimulatedClock re-sorts every pending timer on each
 * flush and again whenever a firing timer schedules another, which made a 24-hour soak with
 * 100 heartbeats spend most of its time sorting.
 */
export class HeapClock implements Clock {
  private current: number;
  private nextId = 0;
  private readonly heap: Entry[] = [];
  private readonly live = new Map<number, Entry>();

  constructor(start: number) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: (...args: unknown[]) => void, ms: number): number {
    const entry: Entry = { id: ++this.nextId, due: this.current + Math.max(0, ms), fn, cancelled: false };
    this.live.set(entry.id, entry);
    this.push(entry);
    return entry.id;
  }

  clearTimeout(id: unknown): void {
    const entry = this.live.get(id as number);
    if (entry === undefined) return;
    entry.cancelled = true;
    this.live.delete(entry.id);
  }

  /** Timers scheduled and neither fired nor cleared. */
  get pending(): number {
    return this.live.size;
  }

  /** Moves time forward by `ms`, firing every timer due on the way at its own due time, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.due > target) break;
      this.pop();
      if (top.cancelled) continue;
      this.live.delete(top.id);
      this.current = top.due;
      top.fn();
    }
    this.current = target;
  }

  private before(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.id < b.id);
  }

  private push(entry: Entry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
