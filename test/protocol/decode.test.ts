import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { decodeLine } from '../../src/protocol/decode.js';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('decodeLine', () => {
  test('a JSON object line, with CR of a CRLF and stray spaces trimmed (§1.3)', () => {
    expect(decodeLine(b('  {"event":"ping","data":{}}\r'))).toEqual({
      kind: 'object',
      value: { event: 'ping', data: {} },
    });
  });

  test('raw non-ASCII text decodes (§1.2)', () => {
    const r = decodeLine(b('{"text":"에코: hello 👋"}'));
    expect(r).toEqual({ kind: 'object', value: { text: '에코: hello 👋' } });
  });

  test('empty and whitespace-only lines are "empty" (§1.3)', () => {
    expect(decodeLine(b(''))).toEqual({ kind: 'empty' });
    expect(decodeLine(b(' \t\r'))).toEqual({ kind: 'empty' });
  });

  test('invalid UTF-8 is refused strictly (§1.2 [REF])', () => {
    expect(decodeLine(Buffer.from([0x7b, 0xff, 0x7d]))).toEqual({ kind: 'bad-utf8' });
    expect(decodeLine(Buffer.from([0xc0, 0xaf]))).toEqual({ kind: 'bad-utf8' }); // overlong '/'
    expect(decodeLine(Buffer.from([0xed, 0xa0, 0x80]))).toEqual({ kind: 'bad-utf8' }); // encoded surrogate
    expect(decodeLine(Buffer.from([0xe2, 0x82]))).toEqual({ kind: 'bad-utf8' }); // truncated sequence
  });

  test('a line that is not JSON says why', () => {
    const r = decodeLine(b('{"event":"analyze",'));
    expect(r.kind).toBe('bad-json');
    if (r.kind === 'bad-json') expect(r.error.length).toBeGreaterThan(0);
  });

  test('a v3.3 header + payload is not JSON as a whole (§1.3, §5.1)', () => {
    expect(decodeLine(b('{"event":"message","data":{}}7JWI64WV')).kind).toBe('bad-json');
  });

  test('JSON that is not a plain object is "not-object"', () => {
    for (const s of ['[]', '[{"event":"x"}]', 'null', '42', '"str"', 'true']) {
      expect(decodeLine(b(s))).toEqual({ kind: 'not-object' });
    }
  });

  test('__proto__ and constructor members pollute nothing', () => {
    const r = decodeLine(b('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'));
    expect(r.kind).toBe('object');
    if (r.kind !== 'object') return;
    expect(Object.getPrototypeOf(r.value)).toBe(Object.prototype);
    expect(Object.hasOwn(r.value, '__proto__')).toBe(true);
    expect((r.value as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  test.prop([fc.uint8Array({ maxLength: 300 })])('arbitrary bytes never throw', (bytes) => {
    const r = decodeLine(Buffer.from(bytes));
    expect(['empty', 'bad-utf8', 'bad-json', 'not-object', 'object']).toContain(r.kind);
  });

  test.prop([fc.jsonValue()])('any JSON text round-trips; only objects are "object"', (value) => {
    const text = JSON.stringify(value);
    const r = decodeLine(b(text));
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    expect(r.kind).toBe(isObject ? 'object' : 'not-object');
    // Compared with what the JSON text means, not the generated value: -0 is written as "0".
    if (r.kind === 'object') expect(r.value).toEqual(JSON.parse(text));
  });

  test('-0 inside an object decodes as 0 (JSON has no negative zero text)', () => {
    const r = decodeLine(b(JSON.stringify({ a: -0, b: [-0] })));
    expect(r).toEqual({ kind: 'object', value: { a: 0, b: [0] } });
  });
});
