/**
 * The last log lines in memory (the dashboard's Logs page): a pino destination that keeps the
 * newest `size` JSON lines, each with a sequence number so a live page asks only for new ones.
 */

export interface RingLine {
  seq: number;
  /** epoch ms */
  time: number;
  /** pino's numeric level (10 trace … 60 fatal) */
  level: number;
  /** the log category, or null for the root logger */
  cat: string | null;
  msg: string;
  /** the whole JSON line (fields beyond msg) */
  line: string;
}

export class LogRing {
  private readonly lines: RingLine[] = [];
  private next = 1;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`log ring size must be a positive integer: ${size}`);
  }

  /** pino destination: one JSON line per call */
  write(chunk: string): void {
    for (const text of chunk.split('\n')) {
      if (text === '') continue;
      let parsed: { time?: unknown; level?: unknown; cat?: unknown; msg?: unknown };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        parsed = { msg: text };
      }
      this.lines.push({
        seq: this.next++,
        time: typeof parsed.time === 'number' ? parsed.time : Date.now(),
        level: typeof parsed.level === 'number' ? parsed.level : 30,
        cat: typeof parsed.cat === 'string' ? parsed.cat : null,
        msg: typeof parsed.msg === 'string' ? parsed.msg : '',
        line: text,
      });
      if (this.lines.length > this.size) this.lines.shift();
    }
  }

  /** Lines after sequence number `seq` (all kept lines for 0), oldest first. */
  since(seq = 0): RingLine[] {
    if (this.lines.length === 0 || seq >= this.lines[this.lines.length - 1]!.seq) return [];
    const first = this.lines[0]!.seq;
    return this.lines.slice(Math.max(0, seq + 1 - first));
  }

  get lastSeq(): number {
    return this.next - 1;
  }
}
