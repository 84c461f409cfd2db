import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { decodeLine } from '../../src/protocol/decode.js';
import {
  authSchema,
  envelopeSchema,
  handshakeCompleteDataSchema,
  messageResponseDataSchema,
  parseAnalyze,
  parseEnvelope,
  parseHandshake,
  pingReplyDataSchema,
  serverPingDataSchema,
  textLength,
  truncateText,
} from '../../src/protocol/schemas.js';

function obj(line: string): Record<string, unknown> {
  const r = decodeLine(Buffer.from(line, 'utf8'));
  if (r.kind !== 'object') throw new Error(`not an object line: ${line}`);
  return r.value;
}

/** Signed with the first §3.3 vector (secret demo-shared-secret, salt demo-salt). */
const AUTH =
  '{"clientType":"MessengerBotR","botName":"demo-bot","deviceUUID":"a1b2c3","deviceID":"a1b2c3","macAddress":"02:00:00:00:00:00","ipAddress":"192.168.0.23","timestamp":1721800000000,"version":"3.2.1","signature":"913352daf416f7fe2ae9c3b703b27ba07bdaa6aa2715805a68e70af9ab64da3a"}';

// PROTOCOL §2.2 and Appendix A, first line
const HANDSHAKE_V322 =
  '{"clientType":"MessengerBotR","botName":"demo-bot","version":"3.2.1","deviceID":"a1b2c3","deviceIP":"192.168.0.23","deviceInfo":"samsung SM-G991N (Android 13, API 33)"}';
// PROTOCOL §5.3.1
const HANDSHAKE_V332 =
  '{"event":"handshake","data":{"clientType":"MessengerBotR","botName":"demo-bot","version":"3.3.2","deviceID":"a1b2c3","deviceIP":"192.168.0.23","deviceInfo":"samsung SM-G991N (Android 13, API 33)","timestamp":"2025-07-24T05:03:27.000Z","timezone":"Asia/Seoul","message_positions":[0,0]}}';
// PROTOCOL §4.1 example
const ANALYZE_41 = `{"event":"analyze","data":{"room":"Demo Room","text":"# echo hello","sender":"Alice","isGroupChat":true,"channelId":"18234567890123456","logId":"3301234567890123456","userHash":"9f8e7d6c5b4a","isMention":false,"timestamp":"2025-07-24 14:03:27","botName":"demo-bot","clientType":"MessengerBotR","auth":${AUTH}}}`;

describe('parseHandshake (§2.2, §2.3)', () => {
  test('v3.2.2 line (§2.2, Appendix A): legacy form, all six fields', () => {
    expect(parseHandshake(obj(HANDSHAKE_V322))).toEqual({
      ok: true,
      handshake: {
        form: 'legacy',
        clientType: 'MessengerBotR',
        botName: 'demo-bot',
        version: '3.2.1',
        deviceId: 'a1b2c3',
        deviceIp: '192.168.0.23',
        deviceInfo: 'samsung SM-G991N (Android 13, API 33)',
      },
    });
  });

  test('v3.1.4: three fields, the rest defaulted', () => {
    const r = parseHandshake({ botName: 'demo-bot', version: '3.1.4', deviceID: 'a1b2c3' });
    expect(r).toEqual({
      ok: true,
      handshake: {
        form: 'legacy',
        clientType: 'MessengerBotR',
        botName: 'demo-bot',
        version: '3.1.4',
        deviceId: 'a1b2c3',
        deviceIp: 'unknown',
        deviceInfo: '',
      },
    });
  });

  test('v3.3.0 draft: legacy form with protocolVersion kept (§5.7) and supportedMessageTypes ignored', () => {
    const r = parseHandshake({
      ...obj(HANDSHAKE_V322),
      version: '3.3.0',
      protocolVersion: 3,
      supportedMessageTypes: ['text', 'image'],
    });
    expect(r.ok && r.handshake.form).toBe('legacy');
    expect(r.ok && r.handshake.protocolVersion).toBe(3);
    expect(r.ok && 'supportedMessageTypes' in r.handshake).toBe(false);
  });

  test('v3.3.2 enveloped form (§5.3.1): fields from data', () => {
    const r = parseHandshake(obj(HANDSHAKE_V332));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.handshake).toMatchObject({ form: 'enveloped', botName: 'demo-bot', version: '3.3.2', deviceId: 'a1b2c3' });
    expect(r.handshake.protocolVersion).toBeUndefined();
  });

  test('event "handshake" without an object data falls back to the top level', () => {
    expect(parseHandshake({ event: 'handshake', data: null, botName: 'b', version: '1', deviceID: 'd' })).toMatchObject(
      {
        ok: true,
        handshake: { form: 'legacy', botName: 'b' },
      },
    );
    const r = parseHandshake({ event: 'handshake', data: 'x' });
    expect(r.ok).toBe(false);
  });

  test('an enveloped handshake is read from data only', () => {
    const r = parseHandshake({ event: 'handshake', data: {}, botName: 'b', version: '1', deviceID: 'd' });
    expect(r).toMatchObject({ ok: false, reason: expect.stringContaining('botName') });
  });

  test.each([
    [{ version: '3.2.1', deviceID: 'a' }, 'botName'],
    [{ botName: '', version: '3.2.1', deviceID: 'a' }, 'botName'],
    [{ botName: 'b', deviceID: 'a' }, 'version'],
    [{ botName: 'b', version: '', deviceID: 'a' }, 'version'],
    [{ botName: 'b', version: '3.2.1' }, 'deviceID'],
    [{ botName: 'b', version: '3.2.1', deviceID: 12345 }, 'deviceID'],
    [{ botName: 'b', version: 3.2, deviceID: 'a' }, 'version'],
    [{ botName: 'b', version: '3.2.1', deviceID: 'a', deviceIP: 5 }, 'deviceIP'],
    [{ botName: 'b', version: '3.2.1', deviceID: 'a', clientType: {} }, 'clientType'],
    [{ botName: 'b', version: '3.2.1', deviceID: 'a', protocolVersion: '3' }, 'protocolVersion'],
  ])('refuses %j with a reason naming %s', (input, field) => {
    const r = parseHandshake(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(field);
  });

  test('null optional fields take their defaults', () => {
    const r = parseHandshake({ botName: 'b', version: '1', deviceID: 'd', deviceIP: null, deviceInfo: null });
    expect(r).toMatchObject({ ok: true, handshake: { deviceIp: 'unknown', deviceInfo: '' } });
  });
});

describe('parseEnvelope (§1.4)', () => {
  test('event + object data; data returned as is', () => {
    const data = { a: 1 };
    expect(parseEnvelope({ event: 'ping', data, extra: true })).toEqual({ ok: true, event: 'ping', data });
    const r = parseEnvelope({ event: 'ping', data });
    expect(r.ok && r.data).toBe(data);
  });

  test.each([
    [{ data: {} }, 'event'],
    [{ event: 5, data: {} }, 'event'],
    [{ event: 'ping' }, 'data'],
    [{ event: 'ping', data: null }, 'data'],
    [{ event: 'ping', data: [] }, 'data'],
    [{ event: 'ping', data: 'x' }, 'data'],
  ])('refuses %j (reason names %s), like envelopeSchema', (input, field) => {
    const r = parseEnvelope(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(field);
    expect(envelopeSchema.safeParse(input).success).toBe(false);
  });
});

describe('parseAnalyze (§4.1)', () => {
  test('the §4.1 listener-form example', () => {
    const env = parseEnvelope(obj(ANALYZE_41));
    if (!env.ok) throw new Error(env.reason);
    const r = parseAnalyze(env.data);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({
      room: 'Demo Room',
      text: '# echo hello',
      sender: 'Alice',
      isGroupChat: true,
      channelId: '18234567890123456',
      logId: '3301234567890123456',
      userHash: '9f8e7d6c5b4a',
      isMention: false,
      timestamp: '2025-07-24 14:03:27',
      botName: 'demo-bot',
      clientType: 'MessengerBotR',
    });
    expect(authSchema.parse(r.value.auth)).toMatchObject({ timestamp: 1721800000000, deviceID: 'a1b2c3' });
  });

  test('Appendix A analyze line parses with ids intact', () => {
    const line = `{"event":"analyze","data":{"room":"Demo Room","text":"# echo hello --repeat=2","sender":"Alice","isGroupChat":true,"channelId":"18234567890123456","logId":"3301234567890123456","userHash":"9f8e7d6c5b4a","isMention":false,"timestamp":"2025-07-24 14:03:27","botName":"demo-bot","clientType":"MessengerBotR","auth":${AUTH}}}`;
    const env = parseEnvelope(obj(line));
    const r = env.ok ? parseAnalyze(env.data) : env;
    expect(r).toMatchObject({ ok: true, value: { text: '# echo hello --repeat=2', logId: '3301234567890123456' } });
  });

  test('legacy-callback form: empty text, packageName, threadId, no logId/clientType', () => {
    const r = parseAnalyze({
      room: 'Demo Room',
      text: '',
      sender: 'Alice',
      isGroupChat: false,
      channelId: null,
      packageName: 'com.kakao.talk',
      threadId: null,
      userHash: 'random-1',
      isMention: false,
      timestamp: '2025-07-24 14:03:27',
      botName: 'demo-bot',
      auth: {},
    });
    expect(r).toEqual({
      ok: true,
      value: {
        room: 'Demo Room',
        text: '',
        sender: 'Alice',
        isGroupChat: false,
        channelId: null,
        logId: null,
        userHash: 'random-1',
        isMention: false,
        timestamp: '2025-07-24 14:03:27',
        botName: 'demo-bot',
        clientType: '',
        packageName: 'com.kakao.talk',
        auth: {},
      },
    });
  });

  test('only room and text are required; the rest defaults', () => {
    expect(parseAnalyze({ room: 'r', text: 't' })).toMatchObject({
      ok: true,
      value: {
        sender: '',
        isGroupChat: false,
        channelId: null,
        logId: null,
        userHash: null,
        isMention: false,
        timestamp: '',
        botName: '',
        clientType: '',
      },
    });
    expect(parseAnalyze({ text: 't' })).toMatchObject({ ok: false, reason: expect.stringContaining('room') });
    expect(parseAnalyze({ room: 'r', text: ['t'] })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('text'),
    });
  });

  test('ids as JSON numbers are refused: precision is already lost (§1.6)', () => {
    const line = '{"room":"r","text":"t","channelId":18234567890123457,"logId":"1"}';
    const data = obj(line);
    expect(String(data.channelId)).not.toBe('18234567890123457'); // what a number would have become
    const r = parseAnalyze(data);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/channelId.*§1\.6/);
    expect(parseAnalyze({ room: 'r', text: 't', logId: 5 })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('logId'),
    });
  });

  test('ids must be digit strings; "-5" is fine, an empty string means none', () => {
    expect(parseAnalyze({ room: 'r', text: 't', channelId: '12a' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('channelId'),
    });
    expect(parseAnalyze({ room: 'r', text: 't', logId: ' 1' }).ok).toBe(false);
    expect(parseAnalyze({ room: 'r', text: 't', channelId: '-5', logId: '' })).toMatchObject({
      ok: true,
      value: { channelId: '-5', logId: null },
    });
  });

  test('wrong member types are refused with the member named', () => {
    expect(parseAnalyze({ room: 'r', text: 't', isGroupChat: 'true' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('isGroupChat'),
    });
  });

  test('__proto__ in data is not copied into the result', () => {
    const r = parseAnalyze(obj('{"room":"r","text":"t","__proto__":{"polluted":1}}'));
    expect(r.ok).toBe(true);
    if (r.ok) expect((r.value as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe('authSchema (§3.2)', () => {
  test('lenient: members may be missing or null; timestamp must be a number', () => {
    expect(authSchema.safeParse({}).success).toBe(true);
    expect(authSchema.safeParse({ macAddress: null, timestamp: null }).success).toBe(true);
    expect(authSchema.safeParse({ timestamp: '1721800000000' }).success).toBe(false);
  });
});

describe('pingReplyDataSchema (§4.2, §5.3.3, §5.5)', () => {
  test('the §4.2 example', () => {
    const line =
      '{"event":"ping","data":{"bot_name":"demo-bot","server_timestamp":1721800030000,"monitoring":{"total_memory":512,"memory_usage":87.3,"memory_percent":17.1,"message_queue_size":0,"active_rooms":4},"auth":{"clientType":"MessengerBotR","botName":"demo-bot","deviceUUID":"a1b2c3","deviceID":"a1b2c3","macAddress":"02:00:00:00:00:00","ipAddress":"192.168.0.23","timestamp":1721800030412,"version":"3.2.1","signature":"…"}}}';
    const env = parseEnvelope(obj(line));
    if (!env.ok) throw new Error(env.reason);
    const r = pingReplyDataSchema.parse(env.data);
    expect(r.bot_name).toBe('demo-bot');
    expect(r.server_timestamp).toBe(1721800030000);
    expect(r.monitoring).toEqual({
      total_memory: 512,
      memory_usage: 87.3,
      memory_percent: 17.1,
      message_queue_size: 0,
      active_rooms: 4,
    });
    expect(r.auth).toMatchObject({ timestamp: 1721800030412 });
  });

  test('a v3.3-era string echo is kept verbatim; no monitoring is fine', () => {
    const r = pingReplyDataSchema.parse({ bot_name: 'demo-bot', server_timestamp: '2025-07-24 14:03:27.123' });
    expect(r).toEqual({ bot_name: 'demo-bot', server_timestamp: '2025-07-24 14:03:27.123' });
  });

  test('broken monitoring is dropped, the reply kept', () => {
    const r = pingReplyDataSchema.safeParse({ bot_name: 'b', server_timestamp: 1, monitoring: { total_memory: 'x' } });
    expect(r.success && r.data.monitoring).toBeUndefined();
    expect(r.success).toBe(true);
  });

  test('v3.3.0 draft: flat monitoring values are collected', () => {
    const r = pingReplyDataSchema.parse({ server_timestamp: 1, total_memory: 512, queue_size: 3, cpu_usage: 9 });
    expect(r.monitoring).toMatchObject({ total_memory: 512, message_queue_size: 3 });
  });
});

describe('server → client schemas', () => {
  test('§2.5, §4.6 and §4.4 examples validate', () => {
    const hc = obj(
      '{"event":"handshakeComplete","data":{"success":true,"approved":false,"message":"디바이스가 승인 대기 상태로 등록되었습니다","server_version":"1.0.0"}}',
    );
    expect(handshakeCompleteDataSchema.safeParse(hc.data).success).toBe(true);
    expect(serverPingDataSchema.safeParse({ bot_name: 'demo-bot', server_timestamp: 1721800030000 }).success).toBe(
      true,
    );
    expect(
      messageResponseDataSchema.safeParse({
        room: 'Demo Room',
        channel_id: '18234567890123456',
        bot_name: 'demo-bot',
        text: 'MEDIA_URL:https://cdn.example.com/a.jpg',
        media_wait_time: 8000,
      }).success,
    ).toBe(true);
  });

  test('what the client cannot use is refused', () => {
    expect(messageResponseDataSchema.safeParse({ room: 'r', text: ['a'] }).success).toBe(false); // §4.4 [WIRE]
    expect(messageResponseDataSchema.safeParse({ room: 'r', text: 'a', channel_id: 1 }).success).toBe(false);
    expect(messageResponseDataSchema.safeParse({ room: 'r', text: 'a', media_wait_time: 0 }).success).toBe(false);
    expect(handshakeCompleteDataSchema.safeParse({ approved: true, message: '', server_version: '1' }).success).toBe(
      false,
    );
  });
});

describe('textLength / truncateText (§0.2, §6.6)', () => {
  test('code points, not UTF-16 units', () => {
    expect(textLength('hello')).toBe(5);
    expect(textLength('에코')).toBe(2);
    expect(textLength('👋a👋')).toBe(3);
    expect(textLength('\uD83D')).toBe(1); // lone high surrogate
    expect(textLength('\uDC4B\uD83D')).toBe(2); // reversed pair is two lone halves
  });

  test('65,000 Hangul characters are exactly at the limit; one emoji more is over', () => {
    const s = '가'.repeat(65_000);
    expect(textLength(s)).toBe(65_000);
    expect(textLength(`${s}👋`)).toBe(65_001);
  });

  test('truncation never splits a surrogate pair', () => {
    expect(truncateText('a👋b', 2)).toBe('a👋');
    expect(truncateText('a👋b', 1)).toBe('a');
    expect(truncateText('abc', 10)).toBe('abc');
    expect(truncateText('abc', 0)).toBe('');
  });

  test.prop([fc.string({ unit: 'binary', maxLength: 60 })])(
    'textLength counts what the string iterator counts',
    (s) => {
      expect(textLength(s)).toBe([...s].length);
    },
  );

  test.prop([fc.string({ unit: 'binary', maxLength: 60 }), fc.nat({ max: 70 })])(
    'truncateText = the first n code points',
    (s, n) => {
      expect(truncateText(s, n)).toBe([...s].slice(0, n).join(''));
    },
  );
});
