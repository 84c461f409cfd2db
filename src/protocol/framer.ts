/**
 * LF line framing with a byte limit (PROTOCOL §1.3, §1.5). Pure: bytes in, lines out.
 *
 * Lines are emitted without their LF; a CR before the LF is kept (decodeLine trims it, §1.3).
 * A line that lies wholly inside one chunk is emitted as a view of that chunk (no copy), so the
 * caller must not mutate a chunk after pushing it. Lines that span chunks are copied into a
 * fresh buffer, so every emitted line stays valid for as long as the caller keeps it.
 */

export type PushResult = 'ok' | 'overflow';

const LF = 0x0a;
/** Above this, the tail buffer is released once its line completes, so idle connections stay small. */
const KEEP_TAIL_CAPACITY = 64 * 1024;

export class LineFramer {
  private limit: number;
  /** bytes of the unterminated tail live in tail[0, size) */
  private tail: Buffer | null = null;
  private size = 0;
  private dead = false;

  /** @param limit max bytes of one line, excluding its LF (PROTOCOL §1.5) */
  constructor(limit: number) {
    this.limit = checkLimit(limit);
  }

  /**
   * Per-device max_message_size (PROTOCOL §1.5); applies to every byte pushed from now on. A tail
   * already longer than the new limit overflows on the next push.
   */
  setLimit(limit: number): void {
    this.limit = checkLimit(limit);
  }

  /**
   * Calls onLine for every complete line. Returns 'overflow' as soon as the current partial line
   * exceeds the limit, without waiting for its LF (PROTOCOL §1.5: the connection is closed); the
   * framer is dead from then on and every later push returns 'overflow'.
   */
  push(chunk: Buffer, onLine: (line: Buffer) => void): PushResult {
    if (this.dead) return 'overflow';
    const end = chunk.length;
    let start = 0;
    while (start < end) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) {
        if (!this.append(chunk, start, end)) return this.die();
        return 'ok';
      }
      const len = lf - start;
      if (this.size + len > this.limit) return this.die();
      if (this.size === 0) {
        onLine(chunk.subarray(start, lf));
      } else {
        const line = Buffer.allocUnsafe(this.size + len);
        this.tail!.copy(line, 0, 0, this.size);
        chunk.copy(line, this.size, start, lf);
        this.size = 0;
        if (this.tail!.length > KEEP_TAIL_CAPACITY) this.tail = null;
        onLine(line);
      }
      start = lf + 1;
    }
    return 'ok';
  }

  /** bytes of the unterminated tail */
  get buffered(): number {
    return this.size;
  }

  /**
   * Drops the unterminated tail (PROTOCOL §1.3 [REC]: discard a fragment at EOF). A dead
   * (overflowed) framer stays dead.
   */
  reset(): void {
    this.size = 0;
    this.tail = null;
  }

  private append(chunk: Buffer, from: number, to: number): boolean {
    const n = to - from;
    const needed = this.size + n;
    if (needed > this.limit) return false;
    // The tail is copied (not kept as a view) so a small fragment never pins a big chunk.
    if (this.tail === null || this.tail.length < needed) {
      const capacity = Math.min(this.limit, Math.max(needed, (this.tail?.length ?? 0) * 2, 256));
      const grown = Buffer.allocUnsafe(capacity);
      if (this.tail !== null) this.tail.copy(grown, 0, 0, this.size);
      this.tail = grown;
    }
    chunk.copy(this.tail, this.size, from, to);
    this.size = needed;
    return true;
  }

  private die(): PushResult {
    this.dead = true;
    this.reset();
    return 'overflow';
  }
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 0)
    throw new RangeError(`line limit must be a non-negative integer: ${limit}`);
  return limit;
}
