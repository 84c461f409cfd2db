import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { LineFramer, type PushResult } from '../../src/protocol/framer.js';

const b = (s: string) => Buffer.from(s, 'utf8');

function collect(framer: LineFramer, chunks: Buffer[]): { lines: string[]; results: PushResult[] } {
  const lines: string[] = [];
  const results = chunks.map((c) => framer.push(c, (line) => lines.push(line.toString('latin1'))));
  return { lines, results };
}

/** What a framer must produce for a whole stream, whatever the chunking. */
function model(stream: Uint8Array, limit: number): { lines: string[]; overflow: boolean } {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < stream.length; i++) {
    if (stream[i] !== 0x0a) continue;
    if (i - start > limit) return { lines, overflow: true };
    lines.push(Buffer.from(stream.subarray(start, i)).toString('latin1'));
    start = i + 1;
  }
  return { lines, overflow: stream.length - start > limit };
}

function split(stream: Uint8Array, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    chunks.push(Buffer.from(stream.subarray(prev, p)));
    prev = p;
  }
  return chunks;
}

/** bytes with plenty of LFs and CRs so that lines are short and many */
const streamArb = fc
  .array(fc.oneof(fc.constant(0x0a), fc.constant(0x0d), fc.integer({ min: 0, max: 255 })), { maxLength: 400 })
  .map((a) => Uint8Array.from(a));

describe('LineFramer', () => {
  test('splits on LF, keeps a CR before it, emits no LF', () => {
    const f = new LineFramer(100);
    const { lines, results } = collect(f, [b('{"a":1}\r\n{"b":2}\n\npartial')]);
    expect(lines).toEqual(['{"a":1}\r', '{"b":2}', '']);
    expect(results).toEqual(['ok']);
    expect(f.buffered).toBe('partial'.length);
  });

  test('joins a line that spans chunks, and the joined line survives later pushes', () => {
    const f = new LineFramer(100);
    const seen: Buffer[] = [];
    f.push(b('hel'), (l) => seen.push(l));
    f.push(b('lo\nwor'), (l) => seen.push(l));
    f.push(b('ld\n'), (l) => seen.push(l));
    expect(seen.map(String)).toEqual(['hello', 'world']);
  });

  test('a line of exactly the limit is fine; limit+1 overflows without waiting for the LF', () => {
    const ok = new LineFramer(5);
    expect(collect(ok, [b('12345\n')]).lines).toEqual(['12345']);

    const over = new LineFramer(5);
    const lines: string[] = [];
    expect(over.push(b('12345'), (l) => lines.push(String(l)))).toBe('ok');
    expect(over.push(b('6'), (l) => lines.push(String(l)))).toBe('overflow'); // no LF yet
    expect(over.buffered).toBe(0);
    expect(over.push(b('\nnext\n'), (l) => lines.push(String(l)))).toBe('overflow'); // dead for good
    expect(lines).toEqual([]);
  });

  test('lines before the offending one in the same chunk are still delivered', () => {
    const f = new LineFramer(3);
    const { lines, results } = collect(f, [b('abc\nabcd\nx\n')]);
    expect(lines).toEqual(['abc']);
    expect(results).toEqual(['overflow']);
  });

  test('a CR counts towards the limit (it is part of the line bytes)', () => {
    const f = new LineFramer(3);
    expect(collect(f, [b('abc\r\n')]).results).toEqual(['overflow']);
  });

  test('a limit-sized line dribbled one byte at a time', () => {
    const limit = 4096;
    const f = new LineFramer(limit);
    const lines: Buffer[] = [];
    const payload = Buffer.alloc(limit, 0x61);
    for (const byte of payload) {
      expect(f.push(Buffer.of(byte), (l) => lines.push(l))).toBe('ok');
      expect(f.buffered).toBeLessThanOrEqual(limit);
    }
    expect(f.push(Buffer.of(0x0a), (l) => lines.push(l))).toBe('ok');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.equals(payload)).toBe(true);
    expect(f.buffered).toBe(0);
    // one more byte than the limit, dribbled: overflow on the byte that crosses it
    for (let i = 0; i < limit; i++) expect(f.push(Buffer.of(0x62), () => {})).toBe('ok');
    expect(f.push(Buffer.of(0x62), () => {})).toBe('overflow');
  });

  test('setLimit applies to what comes next (per-device max_message_size, §1.5)', () => {
    const f = new LineFramer(1024);
    expect(collect(f, [b('0123456789\n')]).lines).toEqual(['0123456789']);
    f.setLimit(4);
    expect(collect(f, [b('0123\n')]).lines).toEqual(['0123']);
    expect(f.push(b('01234'), () => {})).toBe('overflow');
  });

  test('reset drops the unterminated tail (§1.3 [REC]: fragment at EOF discarded)', () => {
    const f = new LineFramer(100);
    collect(f, [b('{"event":"analyze"')]);
    expect(f.buffered).toBeGreaterThan(0);
    f.reset();
    expect(f.buffered).toBe(0);
    expect(collect(f, [b('x\n')]).lines).toEqual(['x']);
  });

  test('a 1 MiB line in large chunks is delivered whole', () => {
    const limit = 1_048_576;
    const f = new LineFramer(limit);
    const line = Buffer.alloc(limit, 0x7a);
    const lines: Buffer[] = [];
    for (let i = 0; i < limit; i += 65_536) f.push(line.subarray(i, i + 65_536), (l) => lines.push(l));
    f.push(b('\n'), (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBe(limit);
  });

  test.prop([streamArb, fc.array(fc.nat(), { maxLength: 30 })])(
    'any byte stream split at any points yields the same lines (no limit hit)',
    (stream, cuts) => {
      const whole = collect(new LineFramer(1000), [Buffer.from(stream)]);
      const pieces = collect(new LineFramer(1000), split(stream, cuts));
      expect(pieces.lines).toEqual(whole.lines);
      expect(pieces.lines).toEqual(model(stream, 1000).lines);
    },
  );

  test.prop([streamArb, fc.array(fc.nat(), { maxLength: 30 }), fc.integer({ min: 0, max: 12 })])(
    'with a small limit: same lines, same overflow verdict, buffered never above the limit',
    (stream, cuts, limit) => {
      const expected = model(stream, limit);
      const f = new LineFramer(limit);
      const lines: string[] = [];
      let overflowed = false;
      for (const chunk of split(stream, cuts)) {
        const r = f.push(chunk, (l) => lines.push(l.toString('latin1')));
        expect(f.buffered).toBeLessThanOrEqual(limit);
        if (overflowed) expect(r).toBe('overflow');
        if (r === 'overflow') overflowed = true;
      }
      expect(lines).toEqual(expected.lines);
      expect(overflowed).toBe(expected.overflow);
    },
  );

  test.prop([fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), fc.nat({ max: 64 })])(
    'arbitrary bytes never throw',
    (chunks, limit) => {
      const f = new LineFramer(limit);
      for (const c of chunks) f.push(Buffer.from(c), () => {});
      expect(f.buffered).toBeLessThanOrEqual(limit);
    },
  );
});
