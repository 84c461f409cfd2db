import { describe, expect, it } from 'vitest';
import { sign } from '../../src/protocol/index.js';
import { harness, KEYS } from '../support/fake-connection.js';

/** LINES: all lines of one socket read in one event, same effects as one LINE each (DESIGN.md §2). */
const NOW = 1_721_800_000_000;
const HANDSHAKE =
  '{"clientType":"MessengerBotR","botName":"demo-bot","version":"3.2.1","deviceID":"a1b2c3","deviceIP":"192.168.0.23","deviceInfo":"x"}';

function analyze(text: string, logId: string) {
  const fields = {
    clientType: 'MessengerBotR',
    botName: 'demo-bot',
    deviceUUID: 'a1b2c3',
    macAddress: '02:00:00:00:00:00',
    ipAddress: '192.168.0.23',
    timestamp: NOW,
  };
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
      clientType: 'MessengerBotR',
      auth: { ...fields, deviceID: 'a1b2c3', version: '3.2.1', signature: sign(fields, KEYS) },
    },
  });
}

const lines = (...texts: string[]) => ({ type: 'LINES' as const, lines: texts.map((t) => Buffer.from(t, 'utf8')) });

describe('connection actor: LINES batches', () => {
  it('a handshake with pipelined packets in one read: handshake first, the rest kept and processed in order', async () => {
    const h = harness({ now: NOW });
    h.actor.send(lines(HANDSHAKE, analyze('# one', '1'), '', analyze('# two', '2')));
    expect(h.actor.getSnapshot().value).toBe('approved');
    await h.flush();
    expect(h.actor.getSnapshot().matches('active')).toBe(true);
    expect(h.rec.chats.map((c) => c.message.text)).toEqual(['# one', '# two']);
    expect(h.errors).toEqual([]);
  });

  it('an invalid first line in a batch closes the connection; the rest is not processed', () => {
    const h = harness({ now: NOW });
    h.actor.send(lines('not json', HANDSHAKE, analyze('# x', '1')));
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.rec.closed).toEqual([{ reason: 'handshake-invalid', unprocessed: 0 }]);
    expect(h.rec.chats).toEqual([]);
  });

  it('on an active connection: every line in order; a full mailbox mid-batch holds the rest and pauses', async () => {
    let accept = 1;
    const h = harness({ now: NOW, chat: () => (accept-- > 0 ? 'accepted' : 'full') });
    h.line(HANDSHAKE);
    await h.flush();
    h.actor.send(lines(analyze('# a', '1'), analyze('# b', '2'), analyze('# c', '3')));
    // a accepted, b refused (held), c held behind it without being offered
    expect(h.rec.chats.map((c) => c.message.text)).toEqual(['# a', '# b']);
    expect(h.actor.getSnapshot().matches({ active: { reader: 'paused' } })).toBe(true);
    expect(h.socket.paused).toBe(true);
    accept = 10;
    h.actor.send({ type: 'MAILBOX_READY' });
    expect(h.rec.chats.map((c) => c.message.text)).toEqual(['# a', '# b', '# b', '# c']);
    expect(h.actor.getSnapshot().matches({ active: { reader: 'flowing' } })).toBe(true);
  });
});
