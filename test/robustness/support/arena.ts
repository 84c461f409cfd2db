import { expect } from 'vitest';
import { BridgeClient, type Packet } from '../../support/bridge-client.js';
import { KEYS } from '../../support/fake-connection.js';
import { startTestGateway, type TestGatewayOptions, until } from '../../support/test-gateway.js';
import { analyzeLine, BOT, delta, metricSnapshot } from './wire.js';

/**
 * A running gateway with two approved phones of one bot:
 *  - `good`: a well-behaved v3.2.2 client whose echo must always be answered on time (`probe`);
 *  - `evil`: an approved client the test abuses; `marker` proves it is still served, in order.
 */

export const GOOD_DEVICE = 'good-phone';
export const EVIL_DEVICE = 'evil-phone';
export const GOOD_CHANNEL = '18234567890123456';
export const EVIL_CHANNEL = '28234567890123456';
/** int64 max: an id far above 2^53 that must come back digit for digit (PROTOCOL §1.6) */
export const BIG_CHANNEL = '9223372036854775807';
/** how long a reply may take and still count as on time, in real ms */
export const ON_TIME_MS = 2_000;

export type TestGateway = Awaited<ReturnType<typeof startTestGateway>>;

export interface Counts {
  badLines: Record<string, number>;
  authFailures: Record<string, number>;
  closes: Record<string, number>;
  handshakes: Record<string, number>;
  messages: Record<string, number>;
  /** 'message accepted' log lines: chat messages handed to processing */
  accepted: number;
}

export interface Arena {
  tg: TestGateway;
  good: BridgeClient;
  evil: BridgeClient;
  /** simulated now (the phones' clock too) */
  now(): number;
  /** an approved v3.2.2 client of BOT (device approved beforehand with `approve`) */
  connect(deviceId: string, opts?: { botName?: string }): Promise<BridgeClient>;
  /** the good client sends `# echo probe-N` and gets `에코: probe-N` back within ON_TIME_MS */
  probe(): Promise<void>;
  /** the evil client sends `# echo marker-N` and gets it answered (so everything before it was read) */
  marker(): Promise<void>;
  counts(): Promise<Counts>;
  /** messageResponse texts the evil client received, markers left out */
  evilReplies(): string[];
  stop(): Promise<void>;
}

export async function startArena(opts: TestGatewayOptions & { extraDevices?: string[] } = {}): Promise<Arena> {
  const tg = await startTestGateway(opts);
  const store = tg.store;
  for (const deviceId of [GOOD_DEVICE, EVIL_DEVICE, ...(opts.extraDevices ?? [])]) {
    await store.setDeviceStatus({ botName: BOT, deviceId }, 'approved');
  }
  await store.setRoomStatus(BOT, GOOD_CHANNEL, 'approved', GOOD_DEVICE);
  await store.setRoomStatus(BOT, EVIL_CHANNEL, 'approved', EVIL_DEVICE);
  await store.setRoomStatus(BOT, BIG_CHANNEL, 'approved', EVIL_DEVICE);
  const clients: BridgeClient[] = [];
  const now = () => tg.clock?.now() ?? Date.now();

  const connect = async (deviceId: string, o: { botName?: string } = {}) => {
    const c = await BridgeClient.connect({
      port: tg.port,
      botName: o.botName ?? BOT,
      deviceId,
      secret: KEYS.secret,
      salt: KEYS.salt,
      now,
    });
    clients.push(c);
    return c;
  };
  const good = await connect(GOOD_DEVICE);
  const evil = await connect(EVIL_DEVICE);
  for (const c of [good, evil]) {
    const hc = await c.next((p) => p.event === 'handshakeComplete');
    expect(hc.data.approved).toBe(true);
  }

  let probes = 0;
  let markers = 0;
  const isReply = (text: string) => (p: Packet) => p.event === 'messageResponse' && p.data.text === text;

  const arena: Arena = {
    tg,
    good,
    evil,
    now,
    connect,
    async probe() {
      const n = ++probes;
      const started = Date.now();
      good.analyze(`# echo probe-${n}`, { room: 'Good Room', channelId: GOOD_CHANNEL });
      await good.next(isReply(`에코: probe-${n}`), ON_TIME_MS);
      expect(Date.now() - started).toBeLessThan(ON_TIME_MS);
    },
    async marker() {
      const n = ++markers;
      evil.writeRaw(`${analyzeLine({ deviceId: EVIL_DEVICE, now: now(), text: `# echo marker-${n}` })}\n`);
      await evil.next(isReply(`에코: marker-${n}`), 10_000);
    },
    async counts() {
      const m = tg.gateway.metrics;
      return {
        badLines: await metricSnapshot(m.badLines),
        authFailures: await metricSnapshot(m.authFailures),
        closes: await metricSnapshot(m.closes),
        handshakes: await metricSnapshot(m.handshakes),
        messages: await metricSnapshot(m.messages),
        accepted: tg.logs.filter((l) => l.msg === 'message accepted').length,
      };
    },
    evilReplies() {
      return evil.packets
        .filter((p) => p.event === 'messageResponse')
        .map((p) => String(p.data.text))
        .filter((t) => !t.startsWith('에코: marker-'));
    },
    async stop() {
      for (const c of clients) c.close();
      await tg.stop();
    },
  };
  return arena;
}

export interface Expected {
  badLines?: Record<string, number>;
  authFailures?: Record<string, number>;
  closes?: Record<string, number>;
  /** chat messages of the evil client handed to processing, the marker left out */
  accepted?: number;
}

/** Differences between two count snapshots, in the shape of `Expected` (markers and probes taken out). */
export function changes(before: Counts, after: Counts, markersAndProbes: number): Required<Expected> {
  return {
    badLines: delta(before.badLines, after.badLines),
    authFailures: delta(before.authFailures, after.authFailures),
    closes: delta(before.closes, after.closes),
    accepted: after.accepted - before.accepted - markersAndProbes,
  };
}

/**
 * Sends `payload` on the evil connection, then a marker; meanwhile the good client is probed.
 * Asserts the exact counter changes, that the evil connection is still open and in sync, and
 * that the good client was answered on time.
 */
export async function exchange(a: Arena, payload: string | Buffer, expected: Expected = {}): Promise<void> {
  const before = await a.counts();
  const probing = a.probe();
  a.evil.writeRaw(payload);
  await a.marker();
  await probing;
  await a.probe();
  const after = await a.counts();
  expect(changes(before, after, 3)).toEqual({
    badLines: expected.badLines ?? {},
    authFailures: expected.authFailures ?? {},
    closes: expected.closes ?? {},
    accepted: expected.accepted ?? 0,
  });
  expect(a.evil.closed).toBe(false);
}

/** The 'connection closed' log lines with `reason`. */
export function closeLogs(tg: TestGateway, reason: string): Array<Record<string, unknown>> {
  return tg.logs.filter((l) => l.msg === 'connection closed' && l.reason === reason);
}

export async function waitForLog(tg: TestGateway, predicate: (l: Record<string, unknown>) => boolean): Promise<void> {
  await until(() => tg.logs.some(predicate));
}
