import { describe, expect, it } from 'vitest';
import { isHoldableBeforeHandshake } from '../../src/actors/pre-handshake.js';
import { sign } from '../../src/protocol/index.js';
import { harness, KEYS } from '../support/fake-connection.js';
import { v33Handshake, v33Message } from '../support/v33-lines.js';

const NOW = 1_721_800_000_000;
const HANDSHAKE =
  '{"clientType":"MessengerBotR","botName":"demo-bot","version":"3.2.2","deviceID":"a1b2c3","deviceIP":"192.168.0.23","deviceInfo":"x"}';

function analyze(text: string, logId: string, now = NOW): string {
  const fields = {
    clientType: 'MessengerBotR',
    botName: 'demo-bot',
    deviceUUID: 'a1b2c3',
    macAddress: '02:00:00:00:00:00',
    ipAddress: 'unknown',
    timestamp: now,
  };
  const auth = { ...fields, deviceID: 'a1b2c3', version: '3.2.2', signature: sign(fields, KEYS) };
  return JSON.stringify({
    event: 'analyze',
    data: {
      room: 'Demo Room',
      text,
      sender: 'Alice',
      isGroupChat: true,
      channelId: '18234567890123456',
      logId,
      isMention: false,
      timestamp: '2025-07-24 14:03:27',
      botName: 'demo-bot',
      auth,
    },
  });
}

const id = { deviceId: 'a1b2c3' };

describe('lines before the handshake (PROTOCOL §2.1, §5.3.1 [REC], §6.5)', () => {
  it('recognises queued packets of both framings (chat, a re-queued ping reply), nothing else', () => {
    expect(isHoldableBeforeHandshake(Buffer.from(analyze('a', '1')))).toBe(true);
    expect(isHoldableBeforeHandshake(Buffer.from(v33Message(id, KEYS, NOW, { text: 'a', logId: '1' })))).toBe(true);
    expect(isHoldableBeforeHandshake(Buffer.from('{"event":"ping","data":{}}'))).toBe(true);
    for (const other of [
      '{"event":"analyze"',
      '{"event":"handshake","data":{"botName":1}}',
      '{"event":"analyze","data":1}',
      'not json',
      '[1]',
      '{"event":"message"}tail',
      v33Handshake(id, NOW),
    ]) {
      expect(isHoldableBeforeHandshake(Buffer.from(other)), other).toBe(false);
    }
  });

  it('v3.2: analyze lines before the handshake are processed in order after it, once standing is known', async () => {
    const h = harness({ verdict: { status: 'approved', message: 'ok', maxMessageSize: null } });
    h.line(analyze('# echo one', '11'));
    h.line(analyze('# echo two', '12'));
    expect(h.actor.getSnapshot().value).toBe('handshaking');
    h.line(HANDSHAKE);
    h.line(analyze('# echo three', '13'));
    expect(h.rec.chats).toEqual([]);
    await h.flush();
    expect(h.rec.chats.map((c) => [c.message.text, c.standing])).toEqual([
      ['# echo one', 'full'],
      ['# echo two', 'full'],
      ['# echo three', 'full'],
    ]);
    expect(h.socket.written).toHaveLength(1);
    expect(h.socket.written[0]).toContain('handshakeComplete');
  });

  it('v3.3: queued message lines before the enveloped handshake are processed in v3.3 framing', async () => {
    const h = harness({ verdict: { status: 'pending', message: 'wait', maxMessageSize: null } });
    h.line(v33Message(id, KEYS, NOW, { text: '# echo 하나', logId: '21' }));
    h.line(v33Message(id, KEYS, NOW, { text: '# echo 둘', logId: '22' }));
    h.line(v33Handshake(id, NOW));
    await h.flush();
    expect(h.rec.chats.map((c) => [c.message.text, c.message.protocol, c.standing])).toEqual([
      ['# echo 하나', 'v3.3', 'limited'],
      ['# echo 둘', 'v3.3', 'limited'],
    ]);
  });

  it('a connection that sends only chat lines is closed at the handshake deadline, without a byte', () => {
    const h = harness();
    h.line(analyze('# echo one', '11'));
    h.clock.increment(9_999);
    h.line(analyze('# echo two', '12'));
    expect(h.actor.getSnapshot().value).toBe('handshaking');
    h.clock.increment(1);
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.rec.closed).toEqual([{ reason: 'handshake-timeout', unprocessed: 2 }]);
    expect(h.rec.chats).toEqual([]);
    expect(h.socket.written).toEqual([]);
  });

  it('holds at most maxPendingLines; one more closes as handshake-invalid', () => {
    const h = harness({ settings: { maxPendingLines: 2 } });
    h.line(analyze('a', '1'));
    h.line(analyze('b', '2'));
    expect(h.actor.getSnapshot().value).toBe('handshaking');
    h.line(analyze('c', '3'));
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.rec.closed).toEqual([{ reason: 'handshake-invalid', unprocessed: 2 }]);
  });

  it('a line that is not a packet after held ones still closes as handshake-invalid', () => {
    const h = harness();
    h.line(analyze('a', '1'));
    h.line('{"event":"ping","data":{}}');
    expect(h.actor.getSnapshot().value).toBe('handshaking');
    h.line('{"botName":"demo-bot","version":"3.2.2"}');
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.rec.closed[0]?.reason).toBe('handshake-invalid');
  });
});
