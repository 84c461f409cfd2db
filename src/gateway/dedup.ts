/**
 * A time window of seen keys. Entries live in insertion order and every key of one window has the
 * same lifetime, so expiry pops from the front: O(1) amortised, bounded by `maxEntries`.
 * Used for PROTOCOL §4.1 [REC] / §9 item 15: re-sent packets (same channelId and logId) and the
 * two producers of one chat message (listener and legacy callback).
 */
export class DedupWindow {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  /** Whether `key` was recorded within the window. */
  has(key: string, now: number): boolean {
    this.expire(now);
    const expires = this.seen.get(key);
    return expires !== undefined && expires > now;
  }

  add(key: string, now: number): void {
    this.expire(now);
    this.seen.delete(key);
    this.seen.set(key, now + this.windowMs);
  }

  /** True when the key was seen within the window; otherwise records it. */
  check(key: string, now: number): boolean {
    if (this.has(key, now)) return true;
    this.add(key, now);
    return false;
  }

  get size(): number {
    return this.seen.size;
  }

  private expire(now: number): void {
    for (const [k, expires] of this.seen) {
      if (expires > now && this.seen.size < this.maxEntries) break;
      this.seen.delete(k);
    }
  }
}
