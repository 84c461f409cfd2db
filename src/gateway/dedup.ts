/**
 * A time window of seen keys. Every key of one window has the same lifetime, so entries expire
 * in insertion order: a FIFO of (key, expiry) beside the map makes expiry O(1) amortised and
 * allocation-free on the hot path; the window is bounded by `maxEntries`.
 * Used for PROTOCOL §4.1 [REC] / §9 item 15: re-sent packets (same channelId and logId) and the
 * two producers of one chat message (listener and legacy callback).
 */
export class DedupWindow {
  /** key → expiry of its latest recording */
  private readonly seen = new Map<string, number>();
  /** recordings in time order; a key recorded again appears twice, only its latest counts */
  private keys: string[] = [];
  private expiries: number[] = [];
  private head = 0;

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
    const expires = now + this.windowMs;
    this.seen.set(key, expires);
    this.keys.push(key);
    this.expiries.push(expires);
    while (this.seen.size > this.maxEntries) this.dropHead();
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
    while (this.head < this.keys.length && this.expiries[this.head]! <= now) this.dropHead();
    if (this.head > 1024 && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.expiries = this.expiries.slice(this.head);
      this.head = 0;
    }
  }

  /** Forgets the oldest recording, and its key unless the key was recorded again since. */
  private dropHead(): void {
    const key = this.keys[this.head]!;
    if (this.seen.get(key) === this.expiries[this.head]) this.seen.delete(key);
    this.keys[this.head] = '';
    this.head++;
    if (this.head === this.keys.length) {
      this.keys.length = 0;
      this.expiries.length = 0;
      this.head = 0;
    }
  }
}
