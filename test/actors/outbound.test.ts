import { describe, expect, it } from 'vitest';
import { outboundHarness } from './outbound-harness.js';

/** Actor tests of one phone's outbound path (DESIGN.md §2) on the simulated clock. */

/** Advances in 100 ms steps, so timers fire at (close to) their due time. */
function step(h: ReturnType<typeof outboundHarness>, ms: number) {
  for (let t = 0; t < ms; t += 100) h.advance(100);
}

describe('outbound path: pacing', () => {
  it('keeps minGapMs between two sends to one room; another room is not held up', () => {
    const h = outboundHarness();
    const t0 = h.clock.now();
    const a1 = h.send({ room: 'A' });
    const a2 = h.send({ room: 'A' });
    const b1 = h.send({ room: 'B' });
    expect(h.writes.map((w) => w.id)).toEqual([a1, b1]);
    expect(h.actor.getSnapshot().value).toBe('waiting');
    step(h, 900);
    expect(h.at(a2)).toBeUndefined();
    step(h, 100);
    expect(h.at(a2)).toBe(t0 + 1_000);
    expect(h.outcomes.get(a2)).toEqual({ status: 'delivered', at: t0 + 1_000 });
    expect(h.actor.getSnapshot().value).toBe('idle');
  });

  it('a send with gap 0 (back to back) goes at once after the previous one', () => {
    const h = outboundHarness();
    h.send({ room: 'A' });
    h.send({ room: 'A', gapMs: 0 });
    expect(h.writes).toHaveLength(2);
  });

  it('keeps per-room order: a later send never overtakes an earlier one to the same room', () => {
    const h = outboundHarness();
    const ids = [h.send({ room: 'A' }), h.send({ room: 'A' }), h.send({ room: 'A', gapMs: 0 })];
    step(h, 3_000);
    expect(h.writes.map((w) => w.id)).toEqual(ids);
    // the third asked for no gap, but waited behind the second
    expect(h.at(ids[2]!)).toBe(h.at(ids[1]!));
  });

  it("a media send holds the phone's next send (any room) for its wait", () => {
    const h = outboundHarness();
    const t0 = h.clock.now();
    h.send({ room: 'A', holdMs: 5_000 });
    const b = h.send({ room: 'B' });
    step(h, 4_900);
    expect(h.at(b)).toBeUndefined();
    step(h, 100);
    expect(h.at(b)).toBe(t0 + 5_000);
  });

  it('v3.3 connections get scheduleMessage for scheduled sends (the connection picks by framing)', () => {
    const h = outboundHarness();
    h.send({ room: 'A', kind: 'scheduled' });
    h.send({ room: 'B', kind: 'api' });
    expect(h.writes.map((w) => w.event)).toEqual(['scheduleMessage', 'messageResponse']);
  });
});

describe('outbound path: the phone away', () => {
  it('holds sends until the phone reconnects (30 s later), then sends them in order', () => {
    const h = outboundHarness({ connected: false });
    const a = h.send({ room: 'A' });
    const b = h.send({ room: 'A' });
    step(h, 30_000);
    expect(h.writes).toEqual([]);
    expect(h.outcomes.size).toBe(0);
    h.connect();
    expect(h.writes.map((w) => w.id)).toEqual([a]);
    step(h, 1_000);
    expect(h.writes.map((w) => w.id)).toEqual([a, b]);
    expect(h.outcomes.get(b)?.status).toBe('delivered');
  });

  it('fails a send `expired` when the phone does not come back within holdMs', () => {
    const h = outboundHarness({ connected: false, holdMs: 600_000 });
    const t0 = h.clock.now();
    const a = h.send();
    h.advance(599_999);
    expect(h.outcomes.has(a)).toBe(false);
    h.advance(1);
    expect(h.outcomes.get(a)).toMatchObject({ status: 'failed', reason: 'expired', at: t0 + 600_000 });
    expect(h.writes).toEqual([]);
    expect(h.actor.getSnapshot().value).toBe('idle');
  });

  it('fails sends `not-approved` when the phone is connected in limited mode', () => {
    const h = outboundHarness({ connected: false });
    const a = h.send();
    h.setStanding('limited');
    h.connect();
    expect(h.outcomes.get(a)).toMatchObject({ status: 'failed', reason: 'not-approved' });
  });

  it('a reply whose message was abandoned never goes out; it fails `expired`', () => {
    const h = outboundHarness();
    const ac = new AbortController();
    h.send({ room: 'A', signal: ac.signal });
    const b = h.send({ room: 'A', signal: ac.signal });
    ac.abort();
    step(h, 1_000);
    expect(h.outcomes.get(b)).toMatchObject({ status: 'failed', reason: 'expired' });
    expect(h.writes).toHaveLength(1);
  });
});

describe('outbound path: lifecycle', () => {
  it('fails every queued send `shutdown` and stops on SHUTDOWN', () => {
    const h = outboundHarness({ connected: false });
    const ids = [h.send(), h.send({ room: 'B' })];
    h.actor.send({ type: 'SHUTDOWN' });
    for (const id of ids) expect(h.outcomes.get(id)).toMatchObject({ status: 'failed', reason: 'shutdown' });
    expect(h.actor.getSnapshot().status).toBe('done');
  });

  it('stops itself when idle and empty for idleMs, not before the last gap has passed', () => {
    const h = outboundHarness({ idleMs: 500, minGapMs: 1_000 });
    h.send();
    step(h, 900);
    expect(h.actor.getSnapshot().status).toBe('active');
    step(h, 200);
    expect(h.actor.getSnapshot().status).toBe('done');
  });

  it('a path that delivers at once stays idle: no timer per send', () => {
    const h = outboundHarness();
    h.send({ room: 'A' });
    const timers = (h.clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size;
    for (let i = 0; i < 50; i++) h.send({ room: `R${i}` });
    expect(h.writes).toHaveLength(51);
    expect((h.clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size).toBe(timers);
    expect(h.actor.getSnapshot().value).toBe('idle');
  });
});

describe('outbound path: holdMs 0', () => {
  it('still sends to a connected phone at once, and fails a send to an away phone at once', () => {
    const h = outboundHarness({ holdMs: 0, minGapMs: 0 });
    const a = h.send();
    expect(h.outcomes.get(a)?.status).toBe('delivered');
    h.disconnect();
    const b = h.send();
    expect(h.outcomes.get(b)).toMatchObject({ status: 'failed', reason: 'expired' });
  });
});

describe('outbound path: bounded per phone (outbound.maxQueued)', () => {
  it('a send beyond maxQueued waiting sends fails at once as queue-full; the others keep waiting in order', () => {
    const h = outboundHarness({ connected: false, maxQueued: 2 });
    const a = h.send({ room: 'A' });
    const b = h.send({ room: 'B' });
    const c = h.send({ room: 'C' });
    expect(h.outcomes.get(c)).toMatchObject({ status: 'failed', reason: 'queue-full' });
    expect(h.outcomes.has(a)).toBe(false);
    expect(h.outcomes.has(b)).toBe(false);
    h.connect();
    expect(h.writes.map((w) => w.id)).toEqual([a, b]);
    // room again once the queue drained
    const d = h.send({ room: 'D' });
    expect(h.outcomes.get(d)).toMatchObject({ status: 'delivered' });
  });

  it('counts only what waits: sends that go at once never fill the queue', () => {
    const h = outboundHarness({ maxQueued: 1 });
    const ids = [h.send({ room: 'A' }), h.send({ room: 'B' }), h.send({ room: 'C' })];
    expect(ids.map((id) => h.outcomes.get(id)?.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });
});
