import { describe, expect, it } from 'vitest';
import { sign } from '../../src/protocol/index.js';
import { harness, KEYS } from '../support/fake-connection.js';

const NOW = 1_721_800_000_000;
const HANDSHAKE =
  '{"clientType":"MessengerBotR","botName":"demo-bot","version":"3.2.1","deviceID":"a1b2c3","deviceIP":"192.168.0.23","deviceInfo":"samsung SM-G991N (Android 13, API 33)"}';

function auth(now: number, over: Record<string, unknown> = {}) {
  const fields = {
    clientType: 'MessengerBotR',
    botName: 'demo-bot',
    deviceUUID: 'a1b2c3',
    macAddress: '02:00:00:00:00:00',
    ipAddress: '192.168.0.23',
    timestamp: now,
    ...over,
  };
  return { ...fields, deviceID: 'a1b2c3', version: '3.2.1', signature: sign(fields, KEYS) };
}

function analyze(text: string, now: number, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    event: 'analyze',
    data: {
      room: 'Demo Room',
      text,
      sender: 'Alice',
      isGroupChat: true,
      channelId: '18234567890123456',
      logId: '3301234567890123456',
      userHash: '9f8e7d6c5b4a',
      isMention: false,
      timestamp: '2025-07-24 14:03:27',
      botName: 'demo-bot',
      clientType: 'MessengerBotR',
      auth: auth(now),
      ...extra,
    },
  });
}

const parse = (line: string) => JSON.parse(line) as { event: string; data: Record<string, unknown> };

describe('connection actor: handshake (PROTOCOL §2)', () => {
  it('closes silently when no line arrives within 10 s', async () => {
    const h = harness();
    h.clock.increment(9_999);
    expect(h.actor.getSnapshot().value).toBe('handshaking');
    h.clock.increment(1);
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.rec.closed).toEqual([{ reason: 'handshake-timeout', unprocessed: 0 }]);
    expect(h.socket.written).toEqual([]);
    expect(h.socket.stopped).toBe(true);
  });

  it('closes silently on a first line that is not a handshake', () => {
    for (const bad of [
      'not json',
      '[1]',
      '{"botName":"b","version":"1"}',
      '{"botName":"","version":"1","deviceID":"d"}',
    ]) {
      const h = harness();
      h.line(bad);
      expect(h.actor.getSnapshot().status).toBe('done');
      expect(h.rec.closed[0]?.reason).toBe('handshake-invalid');
      expect(h.socket.written).toEqual([]);
    }
  });

  it('answers a valid handshake with handshakeComplete and registers the key', async () => {
    const h = harness({
      verdict: { status: 'pending', message: '디바이스가 승인 대기 상태로 등록되었습니다', maxMessageSize: null },
    });
    h.line(HANDSHAKE);
    expect(h.actor.getSnapshot().value).toBe('approved');
    await h.flush();
    expect(h.socket.written).toEqual([
      '{"event":"handshakeComplete","data":{"success":true,"approved":false,"message":"디바이스가 승인 대기 상태로 등록되었습니다","server_version":"1.0.0"}}\n',
    ]);
    expect(h.rec.claims).toEqual(['demo-bot\u0000a1b2c3']);
    expect(h.actor.getSnapshot().matches({ active: { standing: 'limited' } })).toBe(true);
  });

  it('counts the device lookup inside the 10 s handshake deadline', async () => {
    const h = harness({ verdict: new Promise(() => {}) });
    h.clock.increment(4_000);
    h.line(HANDSHAKE);
    h.clock.increment(5_999);
    expect(h.actor.getSnapshot().value).toBe('approved');
    h.clock.increment(1);
    expect(h.rec.closed[0]?.reason).toBe('handshake-timeout');
    expect(h.socket.written).toEqual([]);
  });

  it('refuses a connection beyond the cap without a reply (PROTOCOL §2.4, §7.2)', async () => {
    const h = harness({ canAdmit: false });
    h.line(HANDSHAKE);
    await h.flush();
    expect(h.rec.closed[0]?.reason).toBe('cap-reached');
    expect(h.socket.written).toEqual([]);
    expect(h.rec.claims).toEqual([]);
  });

  it('keeps packets pipelined behind the handshake and handles them in order after it', async () => {
    const h = harness();
    h.line(HANDSHAKE);
    h.line(analyze('# echo one', NOW));
    h.line(analyze('# echo two', NOW, { logId: '3301234567890123457' }));
    expect(h.rec.chats).toEqual([]);
    await h.flush();
    expect(h.rec.chats.map((c) => c.message.text)).toEqual(['# echo one', '# echo two']);
    expect(h.rec.chats[0]?.standing).toBe('full');
    expect(h.socket.written).toHaveLength(1);
  });

  it('pauses reading when too many lines pile up behind the handshake', async () => {
    const h = harness({ settings: { maxPendingLines: 3 } });
    h.line(HANDSHAKE);
    h.line(analyze('a', NOW));
    h.line(analyze('b', NOW));
    expect(h.socket.paused).toBe(false);
    h.line(analyze('c', NOW));
    expect(h.socket.paused).toBe(true);
    await h.flush();
    expect(h.rec.chats).toHaveLength(3);
    expect(h.socket.paused).toBe(false);
  });
});

describe('connection actor: active (PROTOCOL §3, §7.5, §7.11)', () => {
  async function active(opts: Parameters<typeof harness>[0] = {}) {
    const h = harness(opts);
    h.line(HANDSHAKE);
    await h.flush();
    return h;
  }

  it('pings after the random jitter and then every 30 s', async () => {
    const h = await active({ random: 0.5 });
    h.clock.increment(2_499);
    expect(h.socket.written).toHaveLength(1);
    h.clock.increment(1);
    expect(parse(h.socket.written[1]!)).toEqual({
      event: 'ping',
      data: { bot_name: 'demo-bot', server_timestamp: NOW + 2_500 },
    });
    h.clock.increment(30_000);
    expect(h.socket.written).toHaveLength(3);
    expect(parse(h.socket.written[2]!).data.server_timestamp).toBe(NOW + 32_500);
  });

  it('turns a ping reply into a round-trip time and the phone monitoring numbers', async () => {
    const h = await active({ random: 0 });
    h.clock.increment(0);
    const ts = parse(h.socket.written[1]!).data.server_timestamp as number;
    h.clock.increment(120);
    const monitoring = {
      total_memory: 512,
      memory_usage: 87.3,
      memory_percent: 17.1,
      message_queue_size: 0,
      active_rooms: 4,
    };
    h.line(
      JSON.stringify({
        event: 'ping',
        data: { bot_name: 'demo-bot', server_timestamp: ts, monitoring, auth: auth(NOW + 120) },
      }),
    );
    expect(h.rec.pings).toHaveLength(1);
    expect(h.rec.pings[0]?.rttMs).toBe(120);
    expect(h.rec.pings[0]?.reply.monitoring).toEqual(monitoring);
    // an echo this connection never issued yields no RTT (PROTOCOL §7.11 [REC])
    h.line(JSON.stringify({ event: 'ping', data: { bot_name: 'demo-bot', server_timestamp: 12345, auth: auth(NOW) } }));
    expect(h.rec.pings[1]?.rttMs).toBeNull();
  });

  it('closes a connection silent for 3 × 30 s as a zombie, and any line resets the timer', async () => {
    const h = await active();
    h.clock.increment(89_000);
    h.line('');
    h.clock.increment(89_000);
    expect(h.actor.getSnapshot().status).toBe('active');
    h.clock.increment(1_000);
    expect(h.rec.closed[0]?.reason).toBe('zombie');
    expect(h.rec.releases).toEqual(['demo-bot\u0000a1b2c3']);
  });

  it('drops packets with a bad, missing, stale or foreign signature, counted by reason', async () => {
    const h = await active();
    h.line(analyze('x', NOW, { auth: { ...auth(NOW), signature: '0'.repeat(64) } }));
    h.line(analyze('x', NOW, { auth: undefined }));
    h.line(analyze('x', NOW, { auth: auth(NOW - 300_001) }));
    h.line(analyze('x', NOW, { auth: auth(NOW, { botName: 'other-bot' }) }));
    expect(h.rec.authFailed).toEqual(['bad-signature', 'missing', 'stale', 'bot-mismatch']);
    expect(h.rec.chats).toEqual([]);
    expect(h.actor.getSnapshot().status).toBe('active');
    h.line(analyze('ok', NOW, { auth: auth(NOW + 300_000) }));
    expect(h.rec.chats).toHaveLength(1);
  });

  it('ignores a text over 65,000 characters and keeps the connection', async () => {
    const h = await active();
    h.line(analyze('가'.repeat(65_001), NOW));
    expect(h.rec.ignored).toEqual(['text-too-long']);
    h.line(analyze('가'.repeat(65_000), NOW));
    expect(h.rec.chats).toHaveLength(1);
  });

  it('ignores bad lines and keeps the connection (PROTOCOL §1.3)', async () => {
    const h = await active();
    h.actor.send({ type: 'LINE', line: Buffer.from([0xff, 0xfe]) });
    h.line('{not json');
    h.line('[]');
    h.line('{"event":"analyze"}');
    h.line(HANDSHAKE);
    h.line('{"event":"whatever","data":{}}');
    expect(h.rec.ignored).toEqual([
      'bad-utf8',
      'bad-json',
      'not-object',
      'no-envelope',
      'no-envelope',
      'unknown-event',
    ]);
    expect(h.actor.getSnapshot().status).toBe('active');
  });

  it('closes with a reason on a line over the limit', async () => {
    const h = await active();
    h.actor.send({ type: 'OVERFLOW', limit: 1_048_576 });
    expect(h.rec.closed[0]?.reason).toBe('line-too-long');
  });

  it('applies a per-device max_message_size to its socket', async () => {
    const h = await active({ verdict: { status: 'approved', message: 'm', maxMessageSize: 4096 } });
    expect(h.socket.limit).toBe(4096);
  });

  it('is closed without a packet when a newer connection takes the key', async () => {
    const h = await active();
    h.actor.send({ type: 'KICK', reason: 'replaced' });
    expect(h.rec.closed[0]?.reason).toBe('replaced');
    expect(h.socket.written).toHaveLength(1);
  });

  it('follows a standing change without a reconnect', async () => {
    const h = await active({ verdict: { status: 'pending', message: 'm', maxMessageSize: null } });
    h.line(analyze('a', NOW));
    h.actor.send({ type: 'STANDING', status: 'approved', maxMessageSize: null });
    expect(h.actor.getSnapshot().matches({ active: { standing: 'full' } })).toBe(true);
    h.line(analyze('b', NOW));
    h.actor.send({ type: 'STANDING', status: 'blocked', maxMessageSize: null });
    h.line(analyze('c', NOW));
    expect(h.rec.chats.map((c) => c.standing)).toEqual(['limited', 'full', 'limited']);
  });

  it('pauses its socket when the mailbox is full and resubmits held messages in order', async () => {
    let full = false;
    const h = await active({ chat: () => (full ? 'full' : 'accepted') });
    full = true;
    h.line(analyze('1', NOW));
    h.line(analyze('2', NOW));
    expect(h.socket.paused).toBe(true);
    expect(h.actor.getSnapshot().matches({ active: { reader: 'paused' } })).toBe(true);
    full = false;
    h.actor.send({ type: 'MAILBOX_READY' });
    expect(h.socket.paused).toBe(false);
    const texts = h.rec.chats.map((c) => c.message.text);
    // '1' was offered once and refused, then '1', '2' went through in order
    expect(texts).toEqual(['1', '1', '2']);
  });

  it('writes delivered replies as messageResponse lines', async () => {
    const h = await active();
    h.actor.send({
      type: 'DELIVER',
      reply: { room: 'Demo Room', channelId: '18234567890123456', botName: 'demo-bot', text: '에코: hello' },
    });
    expect(h.socket.written[1]).toBe(
      '{"event":"messageResponse","data":{"room":"Demo Room","channel_id":"18234567890123456","bot_name":"demo-bot","text":"에코: hello"}}\n',
    );
  });
});
