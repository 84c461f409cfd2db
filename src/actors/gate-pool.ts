import { type GateRef, type GateStartOptions, startGate } from './gate.js';

/**
 * The gates of one kind (bots or rooms), PROTOCOL §7.6 (DESIGN.md §2). The dispatcher's counts
 * here are authoritative and read synchronously while it schedules; the gate ACTORS mirror them
 * for the inspector and `/actors`, with at most ONE `SET` event per gate touched since the last
 * `flush` (a dispatcher step, or an event-loop turn when the dispatcher defers it), instead of one
 * ACQUIRE/RELEASE per message. A gate whose count went up and back down in between gets no event.
 *
 * Gates are root actors created on demand; one with nothing in flight and nothing waiting is
 * stopped at once (`idleMs` 0) or kept idle for `idleMs` (at most `maxIdle` of them) and swept.
 */
export interface GatePoolOptions {
  limit: number;
  idleMs: number;
  maxIdle: number;
  now: () => number;
  gate: GateStartOptions;
}

export class GatePool {
  /** live gate actors by key (created on the first acquire) */
  readonly gates = new Map<string, GateRef>();
  /** gates with nothing in flight or waiting: key → idle since (epoch ms), longest idle first */
  readonly idle = new Map<string, number>();
  private readonly counts = new Map<string, number>();
  /** keys whose count changed since the last flush */
  private readonly changed = new Set<string>();

  constructor(private readonly options: GatePoolOptions) {}

  /** some gate's count changed since the last flush */
  get dirty(): boolean {
    return this.changed.size > 0;
  }

  get limit(): number {
    return this.options.limit;
  }

  inFlight(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  full(key: string): boolean {
    return this.inFlight(key) >= this.options.limit;
  }

  acquire(key: string): void {
    if (!this.gates.has(key)) {
      this.gates.set(key, startGate(key, this.options.limit, this.options.gate));
    } else if (this.idle.size > 0) {
      this.idle.delete(key); // an idle gate back in use
    }
    this.counts.set(key, this.inFlight(key) + 1);
    this.changed.add(key);
  }

  /** Gives back one slot; returns the count left, or -1 when there is no such gate. */
  release(key: string): number {
    if (!this.gates.has(key)) return -1;
    const left = Math.max(0, this.inFlight(key) - 1);
    this.counts.set(key, left);
    this.changed.add(key);
    return left;
  }

  /**
   * A gate with nothing in flight and nothing waiting: stopped at once when `idleMs` is 0,
   * otherwise kept (visible as `open`, 0 in flight) until a sweep finds it idle for that long.
   * Returns true when the gate is kept idle (the caller arms a sweep).
   */
  retire(key: string): boolean {
    if (this.options.idleMs === 0) {
      this.stop(key);
      return false;
    }
    this.idle.set(key, this.options.now());
    if (this.idle.size > this.options.maxIdle) {
      // Memory stays bounded however many rooms went quiet at once: the longest idle goes first.
      this.stop(this.idle.keys().next().value as string);
    }
    return true;
  }

  /** Stops the gates idle for `idleMs`; returns when the next one is due (Infinity: none). */
  sweep(now: number, waiting: (key: string) => boolean): number {
    for (const [key, since] of this.idle) {
      if (now - since < this.options.idleMs) return since + this.options.idleMs;
      this.idle.delete(key);
      // Work queued behind a gate without a slot taken: the gate stays (it is re-parked when released).
      if (!this.gates.has(key) || this.inFlight(key) > 0 || waiting(key)) continue;
      this.stop(key);
    }
    return Number.POSITIVE_INFINITY;
  }

  /** One SET per gate whose count changed since the last flush (a step, or a turn; DESIGN.md §2). */
  flush(): void {
    if (this.changed.size === 0) return;
    for (const key of this.changed) {
      const gate = this.gates.get(key);
      if (gate === undefined) continue;
      const inFlight = this.inFlight(key);
      if (gate.getSnapshot().context.inFlight !== inFlight) gate.send({ type: 'SET', inFlight });
    }
    this.changed.clear();
  }

  stopAll(): void {
    for (const gate of this.gates.values()) gate.stop();
    this.gates.clear();
    this.idle.clear();
    this.counts.clear();
    this.changed.clear();
  }

  private stop(key: string): void {
    this.gates.get(key)?.stop();
    this.gates.delete(key);
    this.idle.delete(key);
    this.counts.delete(key);
    this.changed.delete(key);
  }
}
