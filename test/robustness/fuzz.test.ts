import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { connectionMachine } from '../../src/actors/connection.js';
import { connectionProperty, framerProperty, isRestingValue, runScenario } from './fuzz-properties.js';

/**
 * Issue 6 item 2, bounded: a few hundred generated cases per property on every `npm test`.
 * Deep runs: `npx tsx scripts/fuzz.ts --runs 100000` (same properties).
 */

describe('generative fuzzing of the inbound path', () => {
  test('framer: arbitrary bytes split anywhere never throw, never buffer or emit over the limit', () => {
    fc.assert(framerProperty, { numRuns: 300 });
  });

  test('connection actor: arbitrary and mutated packets, time and gateway events keep every invariant', async () => {
    await fc.assert(connectionProperty, { numRuns: 250 });
  });

  test('the resting-state check rejects what the machine can never rest in', () => {
    const root = connectionMachine.root;
    expect(isRestingValue(root, 'handshaking')).toBe(true);
    expect(isRestingValue(root, 'closed')).toBe(true);
    const active = { reader: 'flowing', heartbeat: 'waiting', liveness: 'listening', standing: 'full' };
    expect(isRestingValue(root, { active })).toBe(true);
    expect(isRestingValue(root, 'active')).toBe(false); // a parallel state without its regions
    expect(isRestingValue(root, { active: { ...active, standing: 'deciding' } })).toBe(false); // transient
    const { liveness: _, ...missing } = active;
    expect(isRestingValue(root, { active: missing })).toBe(false);
    expect(isRestingValue(root, 'nowhere')).toBe(false);
  });

  test('a scenario that reaches every state: handshake, chat, pings, backpressure, zombie close', async () => {
    await runScenario({
      handshakeFirst: true,
      standing: 'approved',
      verdicts: ['accepted', 'full'],
      steps: [
        { kind: 'flush' },
        { kind: 'tick', ms: 3_000 },
        { kind: 'event', event: { type: 'MAILBOX_READY' } },
        { kind: 'tick', ms: 100_000 },
      ],
    });
  });
});
