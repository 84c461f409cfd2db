import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type AdminServer, startAdminServer } from '../../src/infra/admin/server.js';
import { silentLoggers } from '../../src/infra/logger.js';
import { BridgeClient, type BridgeClientOptions } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { startTestGateway, until } from '../support/test-gateway.js';
import { parsePrometheusText, seriesMatching } from './prometheus-text.js';

/**
 * Issue 5 §3: /metrics, scraped from a real admin endpoint after a scripted session over real
 * TCP, shows exactly what happened — no more, no less.
 */

type TG = Awaited<ReturnType<typeof startTestGateway>>;
let tg: TG | undefined;
let admin: AdminServer | undefined;
const clients: BridgeClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await admin?.close();
  admin = undefined;
  await tg?.stop();
  tg = undefined;
});

const CHANNEL = '18234567890123456';

async function connect(t: TG, opts: Partial<BridgeClientOptions> = {}): Promise<BridgeClient> {
  const c = await BridgeClient.connect({
    port: t.port,
    secret: KEYS.secret,
    salt: KEYS.salt,
    now: () => t.clock?.now() ?? Date.now(),
    ...opts,
  });
  clients.push(c);
  return c;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parsePrometheusText(await res.text());
}

function closedWith(t: TG, reason: string): number {
  return t.logs.filter((l) => l.msg === 'connection closed' && l.reason === reason).length;
}

describe('/metrics after a scripted session (issue 5 §3)', () => {
  it('counts handshakes, auth failures, pings, messages, packets and closes exactly', async () => {
    // One connection at a time, so a second device is refused (PROTOCOL §7.2).
    tg = await startTestGateway({ config: { limits: { maxConnections: 1 } } });
    const t = tg;
    admin = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      metrics: t.gateway.metrics,
      log: silentLoggers().root,
      readiness: () => ({ ready: true, checks: {} }),
      actors: () => t.gateway.actors(),
      setLogLevel: () => {},
    });
    await t.store.setDeviceStatus({ botName: 'demo-bot', deviceId: 'a1b2c3' }, 'approved');
    await t.store.setRoomStatus('demo-bot', CHANNEL, 'approved', 'a1b2c3');

    // 1. an approved device: handshake ok
    const a = await connect(t);
    expect((await a.next((p) => p.event === 'handshakeComplete')).data.approved).toBe(true);

    // 2. a socket whose first line is no handshake: refused, closed without a reply (§2.4)
    const raw = net.createConnection({ host: '127.0.0.1', port: t.port });
    raw.on('error', () => {});
    raw.write('hello\n');
    await new Promise((resolve) => raw.once('close', resolve));

    // 3. a second device while the one slot is held: refused, cap reached (§7.2)
    const b = await connect(t, { deviceId: 'other-device' });
    await b.waitClosed();
    expect(b.packets).toEqual([]);

    // mid-session: connections by state and standing
    const mid = await scrape(admin.port);
    expect(seriesMatching(mid, /^msgbot_connections$/)).toEqual({
      'msgbot_connections{state="active",standing="full"}': 1,
    });

    // 4. a packet with a bad signature: dropped
    a.analyze('# echo forged', { auth: 'bad', channelId: CHANNEL });
    await until(() => t.logs.some((l) => l.msg === 'packet dropped: auth failed'));

    // 5. the first ping after the jitter (0.5 × 5 s), answered by the phone
    await t.advance(2_500);
    await a.next((p) => p.event === 'ping');
    await until(() => t.logs.some((l) => l.cat === 'ping' && l.botName === 'demo-bot'));

    // 6. three echoes, answered
    for (const word of ['one', 'two', 'three']) a.analyze(`# echo ${word}`, { channelId: CHANNEL });
    for (let i = 0; i < 3; i++) await a.next((p) => p.event === 'messageResponse');
    await until(() => t.logs.filter((l) => l.msg === 'message processed').length === 3);

    // 7. the same device connects again: the older connection is replaced (§2.7)
    const a2 = await connect(t);
    await a2.next((p) => p.event === 'handshakeComplete');
    await a.waitClosed();
    a2.close();
    await until(() => closedWith(t, 'eof') === 1);

    // 8. a phone that never answers: closed as a zombie after 90 s of read silence (§7.5)
    const z = await connect(t, { deviceId: 'silent-device', autoPing: false });
    await z.next((p) => p.event === 'handshakeComplete');
    await t.advance(90_000);
    await z.waitClosed();
    await until(() => closedWith(t, 'zombie') === 1);

    const m = await scrape(admin.port);
    // Every msgbot counter that is not about the telemetry writer (its flushes run on their own timer).
    const counters = seriesMatching(m, /^msgbot_(?!telemetry_).*_total$/);
    expect(counters).toEqual({
      'msgbot_handshakes_total{outcome="ok"}': 3,
      'msgbot_handshakes_total{outcome="handshake-invalid"}': 1,
      'msgbot_handshakes_total{outcome="cap-reached"}': 1,
      'msgbot_connection_closes_total{reason="handshake-invalid"}': 1,
      'msgbot_connection_closes_total{reason="cap-reached"}': 1,
      'msgbot_connection_closes_total{reason="replaced"}': 1,
      'msgbot_connection_closes_total{reason="eof"}': 1,
      'msgbot_connection_closes_total{reason="zombie"}': 1,
      'msgbot_auth_failures_total{reason="bad-signature"}': 1,
      'msgbot_packets_in_total{event="analyze"}': 4,
      'msgbot_packets_in_total{event="ping"}': 1,
      'msgbot_packets_out_total{event="handshakeComplete"}': 3,
      'msgbot_packets_out_total{event="ping"}': 2, // a's and the silent phone's first ping
      'msgbot_packets_out_total{event="messageResponse"}': 3,
      'msgbot_messages_total{outcome="processed"}': 3,
      msgbot_pings_sent_total: 2,
      msgbot_pings_answered_total: 1,
      msgbot_zombie_closes_total: 1,
      // counters without labels are always exposed, at 0 when nothing happened
      msgbot_mailbox_refusals_total: 0,
      msgbot_read_pauses_total: 0,
      msgbot_worker_restarts_total: 0,
      msgbot_replies_truncated_total: 0,
      msgbot_replies_undelivered_total: 0,
      'msgbot_sends_total{kind="reply",outcome="delivered"}': 3,
      msgbot_duplicates_total: 0,
    });
    expect(m.get('msgbot_ping_rtt_seconds_count')).toBe(1);
    expect(m.get('msgbot_processing_seconds_count')).toBe(3);
    expect(m.get('msgbot_gate_wait_seconds_count')).toBe(3);
    expect(m.get('msgbot_mailbox_depth')).toBe(0);
    // everything closed: no connection is counted in any state
    expect(seriesMatching(m, /^msgbot_connections$/)).toEqual({});
  });
});
