import { isUtf8 } from 'node:buffer';

/**
 * One framed line → a JSON object, or why not. Pure and total: no input throws.
 *
 * JSON.parse creates `__proto__` / `constructor` members as own data properties, so nothing is
 * polluted as long as these objects are read, never merged into other objects.
 */
export type DecodedLine =
  | { kind: 'empty' }
  | { kind: 'bad-utf8' }
  | { kind: 'bad-json'; error: string }
  /** valid JSON but not a plain object (array, null, number…) */
  | { kind: 'not-object' }
  | { kind: 'object'; value: Record<string, unknown> };

const EMPTY: DecodedLine = { kind: 'empty' };
const BAD_UTF8: DecodedLine = { kind: 'bad-utf8' };
const NOT_OBJECT: DecodedLine = { kind: 'not-object' };

export function decodeLine(line: Buffer): DecodedLine {
  // PROTOCOL §1.2 [REF]: strict UTF-8. isUtf8 (simdutf) validates exactly like a fatal
  // TextDecoder (no overlongs, no surrogates, nothing above U+10FFFF) and is much faster.
  if (!isUtf8(line)) return BAD_UTF8;
  // PROTOCOL §1.3: surrounding whitespace (CR of a CRLF, stray spaces, a BOM) is stripped.
  const text = line.toString('utf8').trim();
  if (text.length === 0) return EMPTY; // PROTOCOL §1.3: an empty line is ignored
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: 'bad-json', error: error instanceof Error ? error.message : String(error) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return NOT_OBJECT;
  return { kind: 'object', value: value as Record<string, unknown> };
}
