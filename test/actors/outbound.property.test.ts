import fc from 'fast-check';
import { expect, it } from 'vitest';
import { outboundHarness } from './outbound-harness.js';

/**
 * Property (DESIGN.md §2 "Outbound path"): for random interleavings of sends, connects,
 * disconnects and time, every send ends with exactly one outcome, per-room order is kept, no two
 * sends to a room are closer than the gap, a media hold holds the whole phone, and nothing is
 * written while the phone is away or after its hold expired.
 */

const GAP = 1_000;
const HOLD = 20_000;
const MEDIA = 3_000;

type Cmd =
  | { kind: 'send'; room: 'A' | 'B' | 'C'; media: boolean }
  | { kind: 'connect' }
  | { kind: 'disconnect' }
  | { kind: 'advance'; ms: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      room: fc.constantFrom('A', 'B', 'C'),
      media: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'connect' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'disconnect' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4_000 }) }),
  },
);

it('every send ends with exactly one outcome; per-room order and gaps hold', () => {
  fc.assert(
    fc.property(fc.array(cmd, { maxLength: 60 }), fc.boolean(), (cmds, startConnected) => {
      const h = outboundHarness({ minGapMs: GAP, holdMs: HOLD, connected: startConnected });
      let connected = startConnected;
      const room = new Map<string, string>();
      const media = new Set<string>();
      const connectedWrites: boolean[] = [];
      const before = h.writes.length;
      expect(before).toBe(0);
      for (const c of cmds) {
        const n = h.writes.length;
        if (c.kind === 'send') {
          const id = h.send({ room: c.room, holdMs: c.media ? MEDIA : 0 });
          room.set(id, c.room);
          if (c.media) media.add(id);
        } else if (c.kind === 'connect') {
          connected = true;
          h.connect();
        } else if (c.kind === 'disconnect') {
          connected = false;
          h.disconnect();
        } else {
          h.advance(c.ms);
        }
        for (let i = n; i < h.writes.length; i++) connectedWrites.push(connected);
      }
      // whatever is left expires or goes out
      h.advance(HOLD + GAP);
      expect(h.outcomes.size).toBe(room.size);
      expect(connectedWrites.every(Boolean)).toBe(true);
      for (const w of h.writes) {
        expect(h.outcomes.get(w.id)?.status).toBe('delivered');
        expect(w.at).toBeLessThan(h.accepted.get(w.id)! + HOLD);
      }
      expect(h.writes.length).toBe([...h.outcomes.values()].filter((o) => o.status === 'delivered').length);
      for (const r of ['A', 'B', 'C']) {
        const ws = h.writes.filter((w) => w.room === r);
        const order = ws.map((w) => Number(w.id.slice(1)));
        expect(order).toEqual([...order].sort((x, y) => x - y));
        for (let i = 1; i < ws.length; i++) expect(ws[i]!.at - ws[i - 1]!.at).toBeGreaterThanOrEqual(GAP);
      }
      for (let i = 1; i < h.writes.length; i++) {
        const prev = h.writes[i - 1]!;
        if (media.has(prev.id)) expect(h.writes[i]!.at - prev.at).toBeGreaterThanOrEqual(MEDIA);
      }
    }),
    { numRuns: 300 },
  );
});
