/**
 * PROTOCOL §4.1 [REC], §9 item 15: the phone can re-send a packet after a failed write, so a
 * listener-form packet whose (bot, device, channelId, logId) was seen within the window is dropped.
 * Entries live in insertion order, so expiry pops from the front: O(1) amortised, bounded.
 */
export class DedupWindow {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  /** True when the key was seen within the window; otherwise records it. */
  check(key: string, now: number): boolean {
    for (const [k, expires] of this.seen) {
      if (expires > now && this.seen.size < this.maxEntries) break;
      this.seen.delete(k);
    }
    const expires = this.seen.get(key);
    if (expires !== undefined && expires > now) return true;
    this.seen.set(key, now + this.windowMs);
    return false;
  }

  get size(): number {
    return this.seen.size;
  }
}
