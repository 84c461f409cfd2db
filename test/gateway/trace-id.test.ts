import { decodeTime, isValid } from 'ulid';
import { expect, it } from 'vitest';
import { traceIdFactory } from '../../src/gateway/trace-id.js';

it('makes valid, time-stamped, strictly increasing ULIDs', () => {
  const next = traceIdFactory();
  const ids = Array.from({ length: 5_000 }, (_, i) => next(1_721_800_000_000 + Math.floor(i / 100)));
  for (const id of ids) expect(isValid(id)).toBe(true);
  expect(decodeTime(ids[0]!)).toBe(1_721_800_000_000);
  expect(decodeTime(ids.at(-1)!)).toBe(1_721_800_000_049);
  for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);
});
