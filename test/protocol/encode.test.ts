import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { decodeLine } from '../../src/protocol/decode.js';
import {
  decodeV33Message,
  encodeLine,
  handshakeCompleteLine,
  messageResponseLine,
  type OutgoingReply,
  pingLine,
  splitV33,
} from '../../src/protocol/encode.js';
import {
  handshakeCompleteDataSchema,
  messageResponseDataSchema,
  parseEnvelope,
  serverPingDataSchema,
} from '../../src/protocol/schemas.js';

const NOW = Date.parse('2025-07-24T05:03:28.001Z') + 0.234; // → 2025-07-24T05:03:28.001234+00:00
const reply = (text: string, extra: Partial<OutgoingReply> = {}): OutgoingReply => ({
  room: 'Demo Room',
  channelId: '18234567890123456',
  botName: 'demo-bot',
  text,
  ...extra,
});
const line = (s: string) => `${s}\n`;

/** What the v3.2.2 client does with a line (§1.3, §1.4): the whole line to JSON.parse, data must be an object. */
function asClientSees(l: string): { event: string; data: Record<string, unknown> } {
  expect(l.endsWith('\n')).toBe(true);
  const body = l.slice(0, -1);
  expect(body).not.toMatch(/[\r\n]/); // §1.3 [WIRE]
  const r = decodeLine(Buffer.from(body, 'utf8'));
  if (r.kind !== 'object') throw new Error(`client would drop: ${body}`);
  const env = parseEnvelope(r.value);
  if (!env.ok) throw new Error(env.reason);
  return { event: env.event, data: env.data };
}

describe('v3.2 lines: Appendix A server lines, byte for byte', () => {
  test('handshakeComplete (Appendix A, §2.5)', () => {
    expect(
      handshakeCompleteLine({ approved: true, message: '승인된 디바이스입니다', serverVersion: '1.0.0' }, 'v3.2', NOW),
    ).toBe(
      line(
        '{"event":"handshakeComplete","data":{"success":true,"approved":true,"message":"승인된 디바이스입니다","server_version":"1.0.0"}}',
      ),
    );
    expect(
      handshakeCompleteLine(
        { approved: false, message: '디바이스가 승인 대기 상태로 등록되었습니다', serverVersion: '1.0.0' },
        'v3.2',
        NOW,
      ),
    ).toBe(
      line(
        '{"event":"handshakeComplete","data":{"success":true,"approved":false,"message":"디바이스가 승인 대기 상태로 등록되었습니다","server_version":"1.0.0"}}',
      ),
    );
  });

  test('ping (Appendix A, §4.6)', () => {
    expect(pingLine('demo-bot', 1721800012000, 'v3.2')).toBe(
      line('{"event":"ping","data":{"bot_name":"demo-bot","server_timestamp":1721800012000}}'),
    );
    expect(pingLine('demo-bot', 1721800042000, 'v3.2')).toBe(
      line('{"event":"ping","data":{"bot_name":"demo-bot","server_timestamp":1721800042000}}'),
    );
  });

  test('text replies (Appendix A)', () => {
    expect(messageResponseLine(reply('[1/2] 에코: hello'), 'v3.2', NOW)).toBe(
      line(
        '{"event":"messageResponse","data":{"room":"Demo Room","channel_id":"18234567890123456","bot_name":"demo-bot","text":"[1/2] 에코: hello"}}',
      ),
    );
    expect(messageResponseLine(reply('[2/2] 에코: hello'), 'v3.2', NOW)).toBe(
      line(
        '{"event":"messageResponse","data":{"room":"Demo Room","channel_id":"18234567890123456","bot_name":"demo-bot","text":"[2/2] 에코: hello"}}',
      ),
    );
  });

  test('media reply of Appendix A: same members (the doc lists media_wait_time before text there, §4.4 after)', () => {
    const sent = messageResponseLine(reply('IMAGE_BASE64:iVBORw0K…|||iVBORw0K…', { mediaWaitTime: 7000 }), 'v3.2', NOW);
    const documented =
      '{"event":"messageResponse","data":{"room":"Demo Room","channel_id":"18234567890123456","bot_name":"demo-bot","media_wait_time":7000,"text":"IMAGE_BASE64:iVBORw0K…|||iVBORw0K…"}}';
    expect(asClientSees(sent)).toEqual(JSON.parse(documented));
  });
});

describe('v3.2 lines: §4.4 examples, byte for byte', () => {
  test('text, MEDIA_URL with wait, IMAGE_BASE64 without', () => {
    expect(messageResponseLine(reply('에코: hello'), 'v3.2', NOW)).toBe(
      line(
        '{"event":"messageResponse","data":{"room":"Demo Room","channel_id":"18234567890123456","bot_name":"demo-bot","text":"에코: hello"}}',
      ),
    );
    expect(
      messageResponseLine(
        reply('MEDIA_URL:https://cdn.example.com/a.jpg|||https://cdn.example.com/b.jpg', { mediaWaitTime: 8000 }),
        'v3.2',
        NOW,
      ),
    ).toBe(
      line(
        '{"event":"messageResponse","data":{"room":"Demo Room","channel_id":"18234567890123456","bot_name":"demo-bot","text":"MEDIA_URL:https://cdn.example.com/a.jpg|||https://cdn.example.com/b.jpg","media_wait_time":8000}}',
      ),
    );
    expect(
      messageResponseLine(reply('IMAGE_BASE64:iVBORw0KGgoAAAANSUhEUgAA…|||iVBORw0KGgoAAAANSUhEUgAA…'), 'v3.2', NOW),
    ).toBe(
      line(
        '{"event":"messageResponse","data":{"room":"Demo Room","channel_id":"18234567890123456","bot_name":"demo-bot","text":"IMAGE_BASE64:iVBORw0KGgoAAAANSUhEUgAA…|||iVBORw0KGgoAAAANSUhEUgAA…"}}',
      ),
    );
  });

  test('no channel_id member when there is none; media_wait_time only as a number > 0 (§4.4)', () => {
    const noChannel = asClientSees(messageResponseLine(reply('hi', { channelId: null }), 'v3.2', NOW));
    expect(noChannel.data).toEqual({ room: 'Demo Room', bot_name: 'demo-bot', text: 'hi' });
    for (const mediaWaitTime of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const d = asClientSees(messageResponseLine(reply('MEDIA_URL:x', { mediaWaitTime }), 'v3.2', NOW)).data;
      expect(d).not.toHaveProperty('media_wait_time');
    }
  });

  test('replies validate against the server→client schemas', () => {
    const r = asClientSees(messageResponseLine(reply('MEDIA_URL:a', { mediaWaitTime: 6000 }), 'v3.2', NOW));
    expect(messageResponseDataSchema.safeParse(r.data).success).toBe(true);
    const p = asClientSees(pingLine('demo-bot', 1, 'v3.2'));
    expect(serverPingDataSchema.safeParse(p.data).success).toBe(true);
  });

  test('newlines, CRs, U+2028/2029 and lone surrogates in text never put a raw CR/LF on the wire', () => {
    const text = 'a\nb\r\nc\rd\u2028e\u2029f\u0085g\uD800h';
    const sent = messageResponseLine(reply(text), 'v3.2', NOW);
    expect(sent.indexOf('\n')).toBe(sent.length - 1);
    expect(sent).not.toContain('\r');
    expect(asClientSees(sent).data.text).toBe(text);
  });

  test.prop([fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' })])(
    'any strings: exactly one LF, at the end, no CR (§1.3 [WIRE]), and the text comes back',
    (room, botName, text) => {
      for (const framing of ['v3.2', 'v3.3'] as const) {
        const sent = messageResponseLine({ room, botName, text, channelId: '1' }, framing, NOW);
        expect(sent.indexOf('\n')).toBe(sent.length - 1);
        expect(sent).not.toContain('\r');
      }
      expect(asClientSees(messageResponseLine({ room, botName, text, channelId: '1' }, 'v3.2', NOW)).data.text).toBe(
        text,
      );
    },
  );

  test('encodeLine refuses a data that the client would drop (§1.4 [WIRE])', () => {
    expect(() => encodeLine('ping', null as unknown as Record<string, unknown>)).toThrow(TypeError);
    expect(() => encodeLine('ping', [] as unknown as Record<string, unknown>)).toThrow(TypeError);
    expect(encodeLine('x', {})).toBe('{"event":"x","data":{}}\n');
  });
});

describe('v3.3 lines (§5.4)', () => {
  test('text reply "에코: hi", byte for byte', () => {
    expect(messageResponseLine(reply('에코: hi'), 'v3.3', NOW)).toBe(
      line(
        '{"event":"messageResponse","data":{"room":"Demo Room","channel_id":"18234567890123456","bot_name":"demo-bot","message_type":"text","timestamp":"2025-07-24T05:03:28.001234+00:00","timezone":"Asia/Seoul","content_encoding":"base64","message_positions":[0,16]}}7JeQ7L2UOiBoaQ==',
      ),
    );
  });

  test('a `}` in the text survives (base64, §5.6.1) and the header splits at the last brace', () => {
    const sent = messageResponseLine(reply('a } b {"x":1}'), 'v3.3', NOW);
    const { header, payload } = splitV33(sent);
    expect(JSON.parse(header).data.content_encoding).toBe('base64');
    expect(Buffer.from(payload, 'base64').toString('utf8')).toBe('a } b {"x":1}');
  });

  test('two images: cumulative offsets, header as in §5.4', () => {
    const a = 'A'.repeat(1840);
    const b = 'B'.repeat(1872);
    const sent = messageResponseLine(reply(`IMAGE_BASE64:${a}|||${b}`, { mediaWaitTime: 6000 }), 'v3.3', NOW);
    expect(sent).toBe(
      line(
        `{"event":"messageResponse","data":{"room":"Demo Room","channel_id":"18234567890123456","bot_name":"demo-bot","message_type":"image","message_format":"jpg","media_wait_time":6000,"message_positions":[0,1840,3712],"timestamp":"2025-07-24T05:03:28.001234+00:00","timezone":"Asia/Seoul"}}${a}${b}`,
      ),
    );
  });

  test('MEDIA_URL items: positions [0,n], a `}` in a URL cannot end the header', () => {
    const sent = messageResponseLine(reply('MEDIA_URL:https://x.example/a}.jpg'), 'v3.3', NOW);
    const { header, payload } = splitV33(sent);
    expect(payload).toBe('https://x.example/a%7D.jpg');
    expect(JSON.parse(header).data.message_positions).toEqual([0, payload.length]);
  });

  test('handshakeComplete and ping: payload-less, with the common members', () => {
    const hc = handshakeCompleteLine({ approved: false, message: 'm', serverVersion: '1.0.0' }, 'v3.3', NOW);
    expect(hc).toBe(
      line(
        '{"event":"handshakeComplete","data":{"success":true,"approved":false,"message":"m","server_version":"1.0.0","timestamp":"2025-07-24T05:03:28.001234+00:00","timezone":"Asia/Seoul","message_positions":[0,0]}}',
      ),
    );
    expect(handshakeCompleteDataSchema.safeParse(asClientSees(hc).data).success).toBe(true);
    expect(pingLine('demo-bot', 5, 'v3.3')).toBe(
      line('{"event":"ping","data":{"bot_name":"demo-bot","server_timestamp":5,"message_positions":[0,0]}}'),
    );
  });

  test('a v3.3 messageResponse is unparseable for a v3.2 client (why framing is per connection, §5.7)', () => {
    const sent = messageResponseLine(reply('hi'), 'v3.3', NOW);
    expect(decodeLine(Buffer.from(sent.trimEnd(), 'utf8')).kind).toBe('bad-json');
  });
});

describe('splitV33 / decodeV33Message (§5.1, §5.3.2, §5.5)', () => {
  const MESSAGE =
    '{"event":"message","data":{"room":"Demo Room","channel_id":"18234567890123456","message_type":"text","content_encoding":"base64","message_positions":[0,28],"timestamp":"2025-07-24T05:03:27.512Z","timezone":"Asia/Seoul","sender":"Alice","is_group_chat":true,"log_id":"3301234567890123456","user_hash":"9f8e7d6c5b4a","is_mention":false,"bot_name":"demo-bot","client_type":"MessengerBotR","auth":{"botName":"demo-bot"}}}7JWI64WV7ZWY7IS47JqUIPCfkYs=';

  function header(l: string) {
    const { header: h, payload } = splitV33(l);
    const env = JSON.parse(h) as { event: string; data: Record<string, unknown> };
    return { data: env.data, payload };
  }

  test('the §5.3.2 example maps to analyze names with the decoded text', () => {
    const { data, payload } = header(`${MESSAGE}\r`);
    expect(payload).toBe('7JWI64WV7ZWY7IS47JqUIPCfkYs=');
    expect(decodeV33Message(data, payload)).toEqual({
      ok: true,
      value: {
        room: 'Demo Room',
        text: '안녕하세요 👋',
        sender: 'Alice',
        isGroupChat: true,
        channelId: '18234567890123456',
        logId: '3301234567890123456',
        userHash: '9f8e7d6c5b4a',
        isMention: false,
        timestamp: '2025-07-24 14:03:27', // ISO UTC → KST
        botName: 'demo-bot',
        clientType: 'MessengerBotR',
        packageName: undefined,
        auth: { botName: 'demo-bot' },
      },
    });
  });

  test('payload taken whole even when message_positions says [0,0] (§5.6.1)', () => {
    const { data, payload } = header(MESSAGE.replace('[0,28]', '[0,0]'));
    expect(decodeV33Message(data, payload)).toMatchObject({ ok: true, value: { text: '안녕하세요 👋' } });
  });

  test('undecodable base64 falls back to the raw payload; no encoding = raw', () => {
    expect(decodeV33Message({ room: 'r', content_encoding: 'base64' }, 'not base64!')).toMatchObject({
      ok: true,
      value: { text: 'not base64!' },
    });
    expect(decodeV33Message({ room: 'r', content_encoding: 'base64' }, '//79')).toMatchObject({
      ok: true,
      value: { text: '//79' }, // decodes to bytes that are not UTF-8
    });
    expect(decodeV33Message({ room: 'r' }, 'aGk=')).toMatchObject({ ok: true, value: { text: 'aGk=' } });
  });

  test('v3.3.0 draft camelCase members are accepted (§5.5 [REC])', () => {
    const r = decodeV33Message(
      {
        room: 'r',
        channel_id: '1',
        is_group_chat: true,
        logId: '2',
        userHash: 'u',
        isMention: true,
        botName: 'demo-bot',
        clientType: 'MessengerBotR',
        content_encoding: 'base64',
        media_wait_time: 0,
      },
      'aGk=',
    );
    expect(r).toMatchObject({
      ok: true,
      value: { text: 'hi', channelId: '1', logId: '2', userHash: 'u', isMention: true, botName: 'demo-bot' },
    });
  });

  test('ids as numbers are refused here too (§1.6)', () => {
    expect(decodeV33Message({ room: 'r', channel_id: 18234567890123456 }, '')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('channelId'),
    });
  });

  test('a `}` inside header strings is fine; the last brace ends the header (§5.1)', () => {
    expect(splitV33('{"event":"message","data":{"room":"}{"}}abc=')).toEqual({
      header: '{"event":"message","data":{"room":"}{"}}',
      payload: 'abc=',
    });
    expect(splitV33('no brace')).toEqual({ header: 'no brace', payload: '' });
  });

  test.prop([fc.string({ unit: 'grapheme', maxLength: 200 })])(
    'our v3.3 text encoding decodes back to the same text',
    (text) => {
      const { data, payload } = header(messageResponseLine(reply(text), 'v3.3', NOW));
      expect(decodeV33Message(data, payload)).toMatchObject({ ok: true, value: { text } });
    },
  );
});
