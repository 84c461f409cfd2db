import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { encodeReply, truncateCodePoints } from '../../src/handlers/reply.js';

describe('encodeReply (PROTOCOL §4.4, §4.5)', () => {
  it('passes text through and drops @no-reply', () => {
    expect(encodeReply('에코: hi')).toEqual({ text: '에코: hi' });
    expect(encodeReply('@no-reply')).toBeUndefined();
    expect(encodeReply(' @no-reply')).toEqual({ text: ' @no-reply' });
  });

  it('joins media items with ||| after the prefix, media_wait_time only when > 0', () => {
    expect(encodeReply({ mediaUrls: ['https://a/x.jpg', 'HTTP://b/y.png', '/sdcard/z.png'], waitMs: 8000 })).toEqual({
      text: 'MEDIA_URL:https://a/x.jpg|||HTTP://b/y.png|||/sdcard/z.png',
      mediaWaitTime: 8000,
    });
    expect(encodeReply({ imagesBase64: ['iVBORw0KGgo=', 'AAAA'], waitMs: 0 })).toEqual({
      text: 'IMAGE_BASE64:iVBORw0KGgo=|||AAAA',
    });
    expect(encodeReply({ imagesBase64: ['AA=='], waitMs: -1 })).toEqual({ text: 'IMAGE_BASE64:AA==' });
  });

  it.each([
    [['data:image/png;base64,AAAA'], /data: URI prefix/],
    [['AAAA\nAAAA'], /whitespace/],
    [['AA AA'], /whitespace/],
    [['AA-_'], /URL-safe/],
    [['AAA'], /not valid standard base64/],
    [['A=AA'], /not valid standard base64/],
    [['httpAAAA'], /read as a URL/],
    [[''], /empty/],
    [[], /non-empty array/],
  ])('rejects the base64 items %j with a clear error', (items, msg) => {
    expect(() => encodeReply({ imagesBase64: items })).toThrow(msg);
  });

  it('rejects media URLs the phone could not use', () => {
    expect(() => encodeReply({ mediaUrls: ['ftp://x/a.jpg'] })).toThrow(/http\(s\) URL or an absolute path/);
    expect(() => encodeReply({ mediaUrls: ['https://a|||b'] })).toThrow(/separator/);
    expect(() => encodeReply({ mediaUrls: [] })).toThrow(/non-empty/);
    expect(() => encodeReply({ mediaUrls: ['https://a'], waitMs: Number.NaN })).toThrow(/waitMs/);
  });

  fcTest.prop([fc.uint8Array({ minLength: 1, maxLength: 200 })])('accepts whatever Buffer base64 produces', (bytes) => {
    const b64 = Buffer.from(bytes).toString('base64');
    fc.pre(!/^http/i.test(b64));
    expect(encodeReply({ imagesBase64: [b64] })).toEqual({ text: `IMAGE_BASE64:${b64}` });
  });
});

describe('truncateCodePoints', () => {
  it('counts code points and keeps pairs whole', () => {
    expect(truncateCodePoints('abc', 3)).toBe('abc');
    expect(truncateCodePoints('abcd', 3)).toBe('abc');
    expect(truncateCodePoints('😀😀😀', 2)).toBe('😀😀');
    expect(truncateCodePoints('a😀b', 2)).toBe('a😀');
    // a lone high surrogate counts as one character
    expect(truncateCodePoints('\ud83dab', 2)).toBe('\ud83da');
  });

  fcTest.prop([fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 40 })])(
    'never exceeds the limit and never leaves half a pair at the end',
    (s, max) => {
      const t = truncateCodePoints(s, max);
      expect([...t].length).toBeLessThanOrEqual(max);
      expect(s.startsWith(t)).toBe(true);
      if ([...s].length <= max) expect(t).toBe(s);
      else expect([...t].length).toBe(max);
    },
  );
});
