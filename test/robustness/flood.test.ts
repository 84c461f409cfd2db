import { afterEach, describe, expect, it } from 'vitest';
import type { BotModule } from '../../src/handlers/api.js';
import type { BridgeClient } from '../support/bridge-client.js';
import { until } from '../support/test-gateway.js';
import { type Arena, closeLogs, GOOD_CHANNEL, startArena } from './support/arena.js';
import { analyzeLine, BOT, handshakeLine, metricValue, RawPeer } from './support/wire.js';

/**
 * Issue 6 item 3: floods and abuse against the real server over TCP — half-open handshakes,
 * a peer that never reads its replies, and a reconnect storm of one device. In every case a
 * well-behaved client keeps being answered on time.
 */

let arena: Arena | undefined;
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await arena?.stop();
  arena = undefined;
});

/** Timers waiting on the gateway's simulated clock (every `after`, ping, deadline, flush timer). */
/** Timers on the gateway's clock, not counting the dispatcher's idle-gate sweep (armed while gates idle). */
function pendingTimers(a: Arena): number {
  const sweep = a.tg.gateway.dispatcher.getSnapshot().context.sweepArmed ? 1 : 0;
  return (a.tg.clock as unknown as { timeouts: Map<number, unknown> }).timeouts.size - sweep;
}

describe('half-open handshakes (issue 6 §3: admission is never starved)', () => {
  it('1,000 silent connections: the oldest beyond maxHandshaking are closed, the rest at 10 s; a phone still gets in', async () => {
    const a = await startArena({ extraDevices: ['late-phone'] });
    arena = a;
    const { gateway } = a.tg;
    const m = gateway.metrics;
    const slots = a.tg.config.limits.maxHandshaking;
    expect(slots).toBe(200);

    for (let i = 0; i < 1_000; i += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => RawPeer.connect(a.tg.port)));
      peers.push(...batch);
    }
    // all admitted: 800 evicted at once, 200 waiting in their handshake slots, plus good and evil
    await until(() => gateway.liveConnections() === 2 + slots && closeLogs(a.tg, 'evicted').length === 800, 10_000);
    await a.probe();
    // the oldest went first (admission order = connect order here)
    await until(() => peers.slice(0, 800).every((p) => p.closed));
    expect(peers.slice(800).some((p) => p.closed)).toBe(false);

    // a legitimate phone still gets in: its slot closes the oldest pending handshake
    await a.tg.store.setRoomStatus(BOT, GOOD_CHANNEL, 'approved', 'late-phone');
    const late = await a.connect('late-phone');
    expect((await late.next((p) => p.event === 'handshakeComplete')).data.approved).toBe(true);
    late.analyze('# echo late', { room: 'Good Room', channelId: GOOD_CHANNEL });
    expect((await late.next((p) => p.event === 'messageResponse')).data.text).toBe('에코: late');
    expect(await metricValue(m.connectionsRefused, { reason: 'handshake-slots' })).toBe(801);

    // PROTOCOL §2.6: the remaining silent ones are closed at 10 s, without a byte
    await a.tg.advance(9_999);
    expect(peers.slice(801).some((p) => p.closed)).toBe(false);
    await a.tg.advance(1);
    await until(() => peers.every((p) => p.closed), 10_000);
    expect(peers.every((p) => p.received.length === 0)).toBe(true);
    expect(await metricValue(m.closes, { reason: 'evicted' })).toBe(801);
    expect(await metricValue(m.closes, { reason: 'handshake-timeout' })).toBe(199);
    expect(gateway.liveConnections()).toBe(3);
    await a.probe();
  });
});

describe('a peer that never reads (slow consumer)', () => {
  const MIB = 1_048_576;
  // text, not media: a media packet holds the phone's next send for its wait (PROTOCOL §4.5)
  const item = '가'.repeat(65_000); // 195,000 bytes of UTF-8, at the text limit
  const flooder: BotModule = {
    commands: [
      {
        prefix: '# flood',
        run: (ctx) =>
          ctx.reply(
            Array.from({ length: 200 }, () => item),
            { backToBack: true },
          ),
      },
    ],
  };

  it('its replies buffer up to maxOutboundBytes, then it is closed as slow-consumer; nobody else waits', async () => {
    const a = await startArena({
      bots: [flooder],
      extraDevices: ['slow-phone'],
      config: { limits: { maxOutboundBytes: MIB } },
    });
    arena = a;
    await a.tg.store.setRoomStatus(BOT, GOOD_CHANNEL, 'approved', 'slow-phone');
    const slow = await RawPeer.connect(a.tg.port, { read: false });
    peers.push(slow);
    await slow.write(`${handshakeLine('slow-phone')}\n`);
    await until(() => a.tg.gateway.registry.size === 3);
    const probing = a.probe();
    await slow.write(
      `${analyzeLine({ deviceId: 'slow-phone', now: a.now(), text: '# flood', room: 'Good Room', channelId: GOOD_CHANNEL })}\n`,
    );
    await until(() => closeLogs(a.tg, 'slow-consumer').length === 1);
    await probing;
    const [closed] = closeLogs(a.tg, 'slow-consumer');
    const unsent = Number(/^(\d+) bytes unsent$/.exec(String(closed?.error))?.[1]);
    const replyBytes = Buffer.byteLength(item) + 200;
    expect(unsent).toBeGreaterThan(MIB);
    expect(unsent).toBeLessThanOrEqual(MIB + replyBytes);
    expect(closed).toMatchObject({ botName: BOT, deviceId: 'slow-phone', state: 'active' });
    const m = a.tg.gateway.metrics;
    expect(await metricValue(m.closes, { reason: 'slow-consumer' })).toBe(1);
    // the replies not written before the close wait on the phone's outbound path, not in a buffer
    expect(a.tg.gateway.paths.queued()).toBeGreaterThan(0);
    expect(a.tg.gateway.registry.size).toBe(2);
    for (let i = 0; i < 3; i++) await a.probe();
  });
});

describe('a burst far beyond the mailbox (DESIGN.md §2 backpressure)', () => {
  it('2,000 messages in one write: reading pauses and resumes, every one is answered, nobody else waits', async () => {
    const slowEcho: BotModule = {
      commands: [
        {
          prefix: '# later',
          run: async (ctx) => {
            await new Promise((resolve) => setTimeout(resolve, 20));
            await ctx.reply(`later ${ctx.command?.prompt}`);
          },
        },
      ],
    };
    const a = await startArena({
      bots: [slowEcho],
      extraDevices: ['burst-phone'],
      config: { processing: { mailboxSize: 20 } },
    });
    arena = a;
    const rooms = Array.from({ length: 20 }, (_, i) => (38_234_567_890_123_000n + BigInt(i)).toString());
    for (const room of rooms) await a.tg.store.setRoomStatus(BOT, room, 'approved', 'burst-phone');
    const burst = await a.connect('burst-phone');
    await burst.next((p) => p.event === 'handshakeComplete');
    const lines: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      const channelId = rooms[i % rooms.length]!;
      lines.push(
        analyzeLine({ deviceId: 'burst-phone', now: a.now(), text: `# later ${i}`, channelId, room: `R${i % 20}` }),
      );
    }
    burst.writeRaw(`${lines.join('\n')}\n`);
    const probes = [a.probe(), a.probe()];
    await until(() => burst.packets.filter((p) => p.event === 'messageResponse').length === 2_000, 20_000);
    await Promise.all(probes);
    const texts = new Set(burst.packets.filter((p) => p.event === 'messageResponse').map((p) => String(p.data.text)));
    expect(texts.size).toBe(2_000);
    expect(texts.has('later 0') && texts.has('later 1999')).toBe(true);
    const m = a.tg.gateway.metrics;
    expect(await metricValue(m.readPauses)).toBeGreaterThan(0);
    // DESIGN.md §4: nothing accepted is lost — the dispatcher never refused what the gateway accepted
    expect(a.tg.gateway.dispatcher.getSnapshot().context.refused).toBe(0);
    expect(await metricValue(m.messages, { outcome: 'processed' })).toBe(2_000 + 2);
    expect(burst.closed).toBe(false);
    await a.probe();
  });
});

describe('reconnect storm of one device (PROTOCOL §2.7 takeover)', () => {
  it('1,000 takeovers in a row leave one registry entry, no leaked actor or timer, and the last one is served', async () => {
    const a = await startArena({ extraDevices: ['storm-phone'] });
    arena = a;
    const { gateway } = a.tg;
    await a.tg.store.setRoomStatus(BOT, GOOD_CHANNEL, 'approved', 'storm-phone');
    const first = await a.connect('storm-phone');
    await first.next((p) => p.event === 'handshakeComplete');
    await until(() => gateway.liveConnections() === 3);
    await a.probe(); // the probing phone's outbound path (and its idle timer) exists from here on
    const baseline = pendingTimers(a);

    const replaced: BridgeClient[] = [first];
    let last = first;
    for (let i = 0; i < 1_000; i++) {
      last = await a.connect('storm-phone');
      await last.next((p) => p.event === 'handshakeComplete');
      replaced.push(last);
      if (i % 250 === 0) await a.probe();
    }
    replaced.pop();
    await until(() => replaced.every((c) => c.closed), 10_000);
    await until(() => gateway.liveConnections() === 3);

    expect(gateway.registry.size).toBe(3);
    expect(gateway.registry.get(`${BOT}\u0000storm-phone`)).toBeDefined();
    expect(await metricValue(gateway.metrics.closes, { reason: 'replaced' })).toBe(1_000);
    expect(pendingTimers(a)).toBe(baseline);
    const actors = gateway.actors() as { connections: unknown[] };
    expect(actors.connections).toHaveLength(3);

    last.analyze('# echo still-me', { room: 'Good Room', channelId: GOOD_CHANNEL });
    expect((await last.next((p) => p.event === 'messageResponse')).data.text).toBe('에코: still-me');
    await a.probe();
  });
});
