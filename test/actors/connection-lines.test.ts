import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { decodeFramed } from '../../src/actors/connection-lines.js';
import { decodeLine, splitV33 } from '../../src/protocol/index.js';

/** The v3.3 line decoder parses the header once; it must mean what parse-whole-then-split meant (PROTOCOL §5.1). */
function reference(line: Buffer): ReturnType<typeof decodeFramed> {
  const decoded = decodeLine(line);
  if (decoded.kind !== 'bad-json') return decoded;
  const { header, payload } = splitV33(new TextDecoder('utf-8', { fatal: true }).decode(line));
  const again = decodeLine(Buffer.from(header, 'utf8'));
  return again.kind === 'object' ? { ...again, payload } : decoded;
}

const pieces = fc.constantFrom('{', '}', '"', '[', ']', ':', ',', ' ', '1', 'a', '"k"', '{"a":1}', 'eyJ9', '\r', 'é');

describe('v3.3 framing: header decoded once', () => {
  test('a message line splits into its header object and payload', () => {
    const r = decodeFramed(Buffer.from('{"event":"message","data":{"x":"}"}}SGVsbG8=\r'), 'v3.3');
    expect(r).toEqual({ kind: 'object', value: { event: 'message', data: { x: '}' } }, payload: 'SGVsbG8=' });
  });

  test.prop([fc.array(pieces, { maxLength: 12 }).map((a) => a.join(''))])(
    'same verdict as parsing the whole line first, then the split header',
    (text) => {
      const line = Buffer.from(text, 'utf8');
      const got = decodeFramed(line, 'v3.3');
      const want = reference(line);
      expect(got.kind).toBe(want.kind);
      if (want.kind === 'object' && got.kind === 'object') {
        expect(got.value).toEqual(want.value);
        expect(got.payload).toBe(want.payload);
      }
    },
  );

  test('v3.2 framing never splits', () => {
    expect(decodeFramed(Buffer.from('{"a":1}xyz'), 'v3.2').kind).toBe('bad-json');
  });
});
