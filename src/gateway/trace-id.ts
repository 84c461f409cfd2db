import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/**
 * ULID trace ids (one per accepted message, in every log line about it), sortable by time and monotonic within a millisecond.
 * ulid's default PRNG asks the OS for randomness once per character; a pooled buffer refilled
 * 8 KiB at a time keeps id generation off the per-message profile.
 */
export function traceIdFactory(): (now: number) => string {
  const pool = new Uint32Array(2048);
  let next = pool.length;
  const prng = () => {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    return pool[next++]! / 4_294_967_296;
  };
  return monotonicFactory(prng);
}
