import type { ChatMessage } from '../actors/job.js';
import type { Clock } from '../infra/clock.js';

/**
 * Replayed messages wait for their phone (DESIGN.md §2 durable mailbox): a message replayed after
 * a restart is answered on its own connection key, and right after a restart that phone is still
 * reconnecting (PROTOCOL §6.3: about 4 s). So the replayed messages of a `(bot, device)` are handed
 * to the dispatcher when that device completes its handshake — ahead of what it sends on the new
 * connection, so per-room order holds — and expire if it is not back within the replay window.
 */
export class ReplayHold {
  private readonly waiting = new Map<string, { messages: ChatMessage[]; timer: unknown }>();

  constructor(
    private readonly clock: Clock,
    private readonly windowMs: number,
    private readonly onExpired: (messages: ChatMessage[]) => void,
  ) {}

  get size(): number {
    let n = 0;
    for (const w of this.waiting.values()) n += w.messages.length;
    return n;
  }

  /** Messages in their original order; `keyOf` gives their connection key. */
  add(messages: readonly ChatMessage[], keyOf: (m: ChatMessage) => string): void {
    for (const m of messages) {
      const key = keyOf(m);
      let entry = this.waiting.get(key);
      if (entry === undefined) {
        // the oldest message of the key is the first to leave the window
        const delay = Math.max(0, m.receivedAt + this.windowMs - this.clock.now());
        entry = { messages: [], timer: this.clock.setTimeout(() => this.expire(key), delay) };
        this.waiting.set(key, entry);
      }
      entry.messages.push(m);
    }
  }

  /** The messages waiting for `key` (its phone is back), oldest first; none afterwards. */
  take(key: string): ChatMessage[] {
    const entry = this.waiting.get(key);
    if (entry === undefined) return [];
    this.waiting.delete(key);
    this.clock.clearTimeout(entry.timer);
    return entry.messages;
  }

  stop(): void {
    for (const entry of this.waiting.values()) this.clock.clearTimeout(entry.timer);
    this.waiting.clear();
  }

  private expire(key: string): void {
    const entry = this.waiting.get(key);
    if (entry === undefined) return;
    this.waiting.delete(key);
    this.onExpired(entry.messages);
  }
}
