import { afterEach, describe, expect, it } from 'vitest';
import { sign } from '../../src/protocol/index.js';
import { KEYS } from '../support/fake-connection.js';
import { until } from '../support/test-gateway.js';
import {
  type Arena,
  BIG_CHANNEL,
  closeLogs,
  EVIL_CHANNEL,
  EVIL_DEVICE,
  exchange,
  startArena,
} from './support/arena.js';
import { analyzeData, analyzeLine, BOT, handshakeLine, metricValue, RawPeer, validAuth } from './support/wire.js';

/**
 * Issue 6 item 1: bad input against the real server over TCP. Every case gets the outcome
 * PROTOCOL.md gives it — ignored and counted (the connection stays open and in sync: a later
 * echo on it is answered), or that one connection closed with a logged reason — while a
 * well-behaved client on another connection keeps getting every echo reply on time.
 */

let arena: Arena | undefined;
afterEach(async () => {
  await arena?.stop();
  arena = undefined;
});

async function open(config: Parameters<typeof startArena>[0] = {}): Promise<Arena> {
  arena = await startArena(config);
  return arena;
}

const SMALL = { config: { limits: { maxLineBytes: 4096 } } };
const lines = (...ls: string[]) => `${ls.join('\n')}\n`;

/** An analyze line of the evil phone whose `data` is `analyzeData` with `extra` merged over it. */
function evilLine(a: Arena, extra: Record<string, unknown> = {}, text = '# echo hi'): string {
  return analyzeLine({ deviceId: EVIL_DEVICE, now: a.now(), text, extra });
}

/** A valid evil analyze as raw JSON with `inject` spliced in right after `"data":{`. */
function spliced(a: Arena, inject: string, text = '# echo spliced'): string {
  const line = evilLine(a, {}, text);
  return line.replace('{"event":"analyze","data":{', `{"event":"analyze","data":{${inject},`);
}

/**
 * Opens a raw connection, sends `bytes`, and expects the server to close it without sending a
 * byte (PROTOCOL §2.4), with the reason logged and counted.
 */
async function expectRefused(a: Arena, bytes: string | Buffer, reason: string): Promise<void> {
  const before = await metricValue(a.tg.gateway.metrics.closes, { reason });
  const peer = await RawPeer.connect(a.tg.port);
  await peer.write(bytes);
  await peer.waitClosed();
  expect(peer.received).toEqual([]);
  expect(await metricValue(a.tg.gateway.metrics.closes, { reason })).toBe(before + 1);
}

describe('lines that are not packets (PROTOCOL §1.3: logged and skipped, connection kept)', () => {
  it('invalid JSON is ignored and counted as bad-json', async () => {
    const a = await open();
    await exchange(
      a,
      lines('{"event":"analyze","data":{', 'not json at all', '{"event":"analyze",}', "{'a':'b'}", '{"a":1}}'),
      { badLines: { 'reason=bad-json': 5 } },
    );
  });

  it('JSON that is not an object is ignored and counted as not-object', async () => {
    const a = await open();
    await exchange(a, lines('[]', '[{"event":"analyze"}]', '"analyze"', '42', 'null', 'true', '-0', '1e999'), {
      badLines: { 'reason=not-object': 8 },
    });
  });

  it('empty and whitespace-only lines are skipped without counting', async () => {
    const a = await open();
    await exchange(a, '\n   \n\t\r\n\n', {});
  });
});

describe('wrong types in every field (zod at the boundary)', () => {
  it('every analyze member with a wrong type: invalid-packet, nothing processed', async () => {
    const a = await open();
    const wrong: Array<[string, unknown]> = [
      ['room', 1],
      ['room', null],
      ['room', {}],
      ['room', []],
      ['text', 1],
      ['text', null],
      ['text', false],
      ['text', ['# echo hi']],
      ['sender', 1],
      ['sender', {}],
      ['isGroupChat', 'true'],
      ['isGroupChat', 1],
      ['channelId', true],
      ['channelId', {}],
      ['channelId', '12a'],
      ['channelId', 18234567890123],
      ['logId', 1.5],
      ['logId', []],
      ['logId', 'abc'],
      ['userHash', 1],
      ['userHash', {}],
      ['isMention', 'false'],
      ['isMention', 0],
      ['timestamp', 1],
      ['timestamp', {}],
      ['botName', 1],
      ['clientType', false],
      ['packageName', 1],
    ];
    await exchange(a, lines(...wrong.map(([k, v]) => evilLine(a, { [k]: v }))), {
      badLines: { 'reason=invalid-packet': wrong.length },
    });
  });

  it('envelope members with wrong types: no-envelope', async () => {
    const a = await open();
    const data = JSON.stringify(analyzeData({ deviceId: EVIL_DEVICE, now: a.now() }));
    await exchange(
      a,
      lines(
        `{"event":1,"data":${data}}`,
        `{"event":null,"data":${data}}`,
        `{"event":["analyze"],"data":${data}}`,
        `{"event":{},"data":${data}}`,
        '{"event":"analyze","data":"x"}',
        '{"event":"analyze","data":[]}',
        '{"event":"analyze","data":null}',
        '{"event":"analyze","data":1}',
      ),
      { badLines: { 'reason=no-envelope': 8 } },
    );
  });

  it('auth with wrong types: missing or malformed, never processed; unsigned members are not checked', async () => {
    const a = await open();
    const auth = (over: Record<string, unknown>) => ({ ...validAuth(EVIL_DEVICE, a.now()), ...over });
    const missing = ['x', [], 1, true, null, {}].map((v) => evilLine(a, { auth: v }));
    const malformed = [
      { clientType: 1 },
      { botName: {} },
      { deviceUUID: [] },
      { macAddress: 1 },
      { ipAddress: false },
      { timestamp: '1721800000000' },
      { timestamp: 1.5 },
      { timestamp: null },
      { signature: 1 },
      { signature: validAuth(EVIL_DEVICE, a.now()).signature?.toUpperCase() },
    ].map((over) => evilLine(a, { auth: auth(over) }));
    await exchange(a, lines(...missing, ...malformed), {
      authFailures: { 'reason=missing': missing.length, 'reason=malformed': malformed.length },
    });
    // PROTOCOL §3.2: deviceID and version are not signed and not used; wrong types there pass.
    await exchange(
      a,
      lines(evilLine(a, { auth: auth({ deviceID: 1 }) }), evilLine(a, { auth: auth({ version: [] }) })),
      {
        accepted: 2,
      },
    );
    expect(a.evilReplies()).toEqual(['에코: hi', '에코: hi']);
  });

  it('a ping reply with junk statistics is still stored; with a broken auth it is dropped', async () => {
    const a = await open();
    const m = a.tg.gateway.metrics;
    const answered = await metricValue(m.pingsAnswered);
    const auth = validAuth(EVIL_DEVICE, a.now());
    await exchange(
      a,
      lines(
        JSON.stringify({ event: 'ping', data: { bot_name: 1, server_timestamp: 'x', monitoring: 'junk', auth } }),
        JSON.stringify({ event: 'ping', data: { monitoring: { total_memory: 'x', active_rooms: [] }, auth } }),
        JSON.stringify({
          event: 'ping',
          data: { bot_name: BOT, server_timestamp: 1, auth: { ...auth, timestamp: 'x' } },
        }),
        '{"event":"ping","data":"x"}',
      ),
      { authFailures: { 'reason=malformed': 1 }, badLines: { 'reason=no-envelope': 1 } },
    );
    expect(await metricValue(m.pingsAnswered)).toBe(answered + 2);
  });

  it('a handshake with a wrong-typed member closes that connection silently (PROTOCOL §2.4)', async () => {
    const a = await open();
    const base = { botName: BOT, version: '3.2.1', deviceID: 'typo-phone' };
    const cases: Array<Record<string, unknown>> = [
      { ...base, botName: 1 },
      { ...base, botName: '' },
      { ...base, version: [] },
      { ...base, deviceID: {} },
      { ...base, deviceID: null },
      // stricter than the reference (§2.3 checks only the three required members): documented choice
      { ...base, deviceIP: 5 },
      { ...base, clientType: {} },
      { ...base, deviceInfo: 1 },
      { ...base, protocolVersion: '3' },
    ];
    for (const c of cases) await expectRefused(a, lines(JSON.stringify(c)), 'handshake-invalid');
    expect(closeLogs(a.tg, 'handshake-invalid')).toHaveLength(cases.length);
    await a.probe();
  });
});

describe('missing and extra members', () => {
  it('analyze without room or text is invalid; without auth it is an auth failure', async () => {
    const a = await open();
    await exchange(
      a,
      lines(evilLine(a, { room: undefined }), evilLine(a, { text: undefined }), evilLine(a, { auth: undefined })),
      { badLines: { 'reason=invalid-packet': 2 }, authFailures: { 'reason=missing': 1 } },
    );
  });

  it('optional members missing: processed; without a channelId the room is unknown, so no reply (§9 item 21)', async () => {
    const a = await open();
    const sparse = (extra: Record<string, unknown>) =>
      evilLine(a, {
        sender: undefined,
        isGroupChat: undefined,
        logId: undefined,
        userHash: undefined,
        isMention: undefined,
        timestamp: undefined,
        botName: undefined,
        clientType: undefined,
        ...extra,
      });
    await exchange(a, lines(sparse({}), sparse({ channelId: undefined })), { accepted: 2 });
    expect(a.evilReplies()).toEqual(['에코: hi']);
  });

  it('extra members anywhere are ignored and the packet is answered', async () => {
    const a = await open();
    const data = analyzeData({
      deviceId: EVIL_DEVICE,
      now: a.now(),
      text: '# echo extra',
      extra: {
        threadId: 7,
        nested: { deep: [1, 2, { x: null }] },
        auth: { ...validAuth(EVIL_DEVICE, a.now()), more: 1 },
      },
    });
    await exchange(a, lines(JSON.stringify({ event: 'analyze', data, v: 3, seq: [1] })), { accepted: 1 });
    expect(a.evilReplies()).toEqual(['에코: extra']);
  });

  it('an envelope without event or data: no-envelope', async () => {
    const a = await open();
    const data = JSON.stringify(analyzeData({ deviceId: EVIL_DEVICE, now: a.now() }));
    await exchange(a, lines(`{"data":${data}}`, '{"event":"analyze"}', '{}'), {
      badLines: { 'reason=no-envelope': 3 },
    });
  });

  it('a handshake without a required member closes; the 3-member v3.1.4 form and extra members are accepted', async () => {
    const a = await open();
    const base = { botName: BOT, version: '3.2.1', deviceID: 'sparse-phone' };
    for (const key of ['botName', 'version', 'deviceID'] as const) {
      const { [key]: _, ...rest } = base;
      await expectRefused(a, lines(JSON.stringify(rest)), 'handshake-invalid');
    }
    for (const hs of [base, { ...base, deviceID: 'extra-phone', foo: 'bar', list: [1], obj: { a: 1 } }]) {
      const peer = await RawPeer.connect(a.tg.port);
      await peer.write(lines(JSON.stringify(hs)));
      await until(() => peer.text().includes('"handshakeComplete"'));
      expect(JSON.parse(peer.text()).data.success).toBe(true);
      peer.close();
    }
    await a.probe();
  });
});

describe('__proto__ and constructor keys (no prototype pollution, no confusion)', () => {
  it('are plain data: never read as members, never merged into prototypes', async () => {
    const a = await open();
    const data = JSON.stringify(analyzeData({ deviceId: EVIL_DEVICE, now: a.now(), text: '# echo proto' }));
    const pollute =
      '"__proto__":{"polluted":"yes","text":"# echo pwned"},"constructor":{"prototype":{"polluted":"yes"}}';
    await exchange(
      a,
      lines(
        // extra keys on a valid packet: answered normally
        spliced(a, pollute, '# echo proto'),
        `{"__proto__":{"event":"ping"},"constructor":{"name":"x"},"event":"analyze","data":${data}}`,
        // the members exist only inside __proto__: not there
        spliced(a, pollute).replace(/"text":"# echo spliced",/, ''),
        `{"__proto__":{"event":"analyze","data":${data}}}`,
        `{"constructor":{"prototype":{"event":"analyze"}},"data":${data}}`,
        // event names that are Object.prototype members
        '{"event":"__proto__","data":{}}',
        '{"event":"constructor","data":{}}',
        '{"event":"toString","data":{}}',
        '{"event":"hasOwnProperty","data":{}}',
      ),
      {
        accepted: 2,
        badLines: { 'reason=invalid-packet': 1, 'reason=no-envelope': 2, 'reason=unknown-event': 4 },
      },
    );
    expect(a.evilReplies()).toEqual(['에코: proto', '에코: proto']);
    // auth members hidden in __proto__ do not count
    const auth = validAuth(EVIL_DEVICE, a.now());
    const { signature, ...unsigned } = auth;
    const hidden = JSON.stringify({ ...unsigned }).replace('{', `{"__proto__":{"signature":"${signature}"},`);
    await exchange(a, lines(evilLine(a).replace(JSON.stringify(auth), hidden)), {
      authFailures: { 'reason=malformed': 1 },
    });
    await expectRefused(
      a,
      lines('{"__proto__":{"botName":"demo-bot","version":"3.2.1","deviceID":"proto-phone"}}'),
      'handshake-invalid',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('encoding (PROTOCOL §1.2: strict UTF-8, bad lines skipped)', () => {
  it('invalid UTF-8 in any form is ignored and counted as bad-utf8', async () => {
    const a = await open();
    const bad = [
      [0xff],
      [0xc0, 0xaf], // overlong "/"
      [0xe2, 0x82], // truncated sequence
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate encoded as UTF-8 (CESU-8)
      [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    ];
    const line = evilLine(a, {}, '# echo X');
    const withBytes = (bytes: number[]) => {
      const [head, tail] = line.split('X') as [string, string];
      return Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(tail), Buffer.from('\n')]);
    };
    await exchange(a, Buffer.concat(bad.map(withBytes)), { badLines: { 'reason=bad-utf8': bad.length } });
  });

  it('a lone surrogate sent as a JSON escape is valid input: answered, and sent back escaped', async () => {
    const a = await open();
    await exchange(a, lines(evilLine(a, {}, '# echo \ud800x\udc00')), { accepted: 1 });
    expect(a.evilReplies()).toEqual(['에코: \ud800x\udc00']);
    // the reply line itself is well-formed UTF-8 (JSON.stringify escapes lone surrogates)
    const raw = a.evil.lines.find((l) => l.includes('\\ud800x\\udc00'));
    expect(raw).toBeDefined();
  });

  it('NUL bytes: raw ones break the JSON (bad-json), escaped ones are ordinary text', async () => {
    const a = await open();
    const line = evilLine(a, {}, '# echo N');
    await exchange(a, lines(line.replace('N', '\u0000'), '\u0000', line.replace(':', ':\u0000'), '{}\u0000'), {
      badLines: { 'reason=bad-json': 4 },
    });
    await exchange(a, lines(evilLine(a, {}, '# echo a\u0000b')), { accepted: 1 });
    expect(a.evilReplies()).toEqual(['에코: a\u0000b']);
  });

  it('a handshake that is not UTF-8 closes the connection', async () => {
    const a = await open();
    const hs = Buffer.from(`${handshakeLine('utf8-phone')}\n`);
    hs[20] = 0xff;
    await expectRefused(a, hs, 'handshake-invalid');
    await a.probe();
  });
});

describe('line ends (PROTOCOL §1.3: the server reads up to LF and trims)', () => {
  it('CRLF-terminated packets are processed', async () => {
    const a = await open();
    await exchange(a, `${evilLine(a, {}, '# echo crlf')}\r\n`, { accepted: 1 });
    expect(a.evilReplies()).toEqual(['에코: crlf']);
    const peer = await RawPeer.connect(a.tg.port);
    await peer.write(`${handshakeLine('crlf-phone')}\r\n`);
    await until(() => peer.text().includes('"handshakeComplete"'));
    peer.close();
  });

  it('CR alone does not end a line: two packets joined by CR are one bad line', async () => {
    const a = await open();
    await exchange(a, `${evilLine(a, {}, '# echo one')}\r${evilLine(a, {}, '# echo two')}\r\n`, {
      badLines: { 'reason=bad-json': 1 },
    });
    expect(a.evilReplies()).toEqual([]);
  });

  it('a CR-only stream never ends a line: past the limit the connection is closed', async () => {
    const a = await open(SMALL);
    const before = await metricValue(a.tg.gateway.metrics.closes, { reason: 'line-too-long' });
    const cr = Array.from({ length: 8 }, () => `${evilLine(a, {}, '# echo cr')}\r`).join('');
    expect(Buffer.byteLength(cr)).toBeGreaterThan(4096);
    a.evil.writeRaw(cr);
    await a.evil.waitClosed();
    expect(a.evilReplies()).toEqual([]);
    expect(await metricValue(a.tg.gateway.metrics.closes, { reason: 'line-too-long' })).toBe(before + 1);
    await a.probe();
  });
});

/** An evil analyze line of exactly `bytes` bytes (without LF), padded in an extra member. */
function lineOfSize(a: Arena, bytes: number, text = '# echo sized'): string {
  const base = evilLine(a, { pad: '' }, text);
  const line = evilLine(a, { pad: 'p'.repeat(bytes - Buffer.byteLength(base)) }, text);
  expect(Buffer.byteLength(line)).toBe(bytes);
  return line;
}

describe('line limits (PROTOCOL §1.5: a longer line closes the connection without a reply)', () => {
  it('a line of exactly the limit is processed; one byte over closes with line-too-long', async () => {
    const a = await open(SMALL);
    await exchange(a, `${lineOfSize(a, 4096, '# echo at-limit')}\n`, { accepted: 1 });
    expect(a.evilReplies()).toEqual(['에코: at-limit']);

    a.evil.writeRaw(`${lineOfSize(a, 4097, '# echo over')}\n`);
    await a.evil.waitClosed();
    expect(a.evilReplies()).toEqual(['에코: at-limit']);
    const logged = closeLogs(a.tg, 'line-too-long');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ error: 'line over 4096 bytes', botName: BOT, deviceId: EVIL_DEVICE });
    await a.probe();
  });

  it('a limit-sized line dribbled one byte at a time is processed', async () => {
    const a = await open({ ...SMALL, extraDevices: ['dribble-phone'] });
    await a.tg.store.setRoomStatus(BOT, EVIL_CHANNEL, 'approved', 'dribble-phone');
    const peer = await RawPeer.connect(a.tg.port);
    peer.socket.setNoDelay(true);
    await peer.write(`${handshakeLine('dribble-phone')}\n`);
    await until(() => peer.text().includes('"handshakeComplete"'));
    const line = Buffer.from(
      `${analyzeLine({ deviceId: 'dribble-phone', now: a.now(), text: '# echo dribbled', extra: { pad: '' } })}`,
    );
    const padded = Buffer.from(
      analyzeLine({
        deviceId: 'dribble-phone',
        now: a.now(),
        text: '# echo dribbled',
        extra: { pad: 'd'.repeat(4096 - line.length) },
      }),
    );
    expect(padded.length).toBe(4096);
    const probes: Promise<void>[] = [];
    for (let i = 0; i < padded.length; i++) {
      await peer.write(padded.subarray(i, i + 1));
      if (i % 1024 === 0) probes.push(a.probe());
    }
    await peer.write('\n');
    await until(() => peer.text().includes('에코: dribbled'));
    await Promise.all(probes);
    expect(peer.closed).toBe(false);
    peer.close();
  });

  it('the real 1 MiB limit: exactly 1,048,576 bytes processed, 1,048,577 closed', async () => {
    const a = await open();
    await exchange(a, `${lineOfSize(a, 1_048_576, '# echo mebibyte')}\n`, { accepted: 1 });
    expect(a.evilReplies()).toEqual(['에코: mebibyte']);
    a.evil.writeRaw(`${lineOfSize(a, 1_048_577, '# echo over')}\n`);
    await a.evil.waitClosed();
    expect(closeLogs(a.tg, 'line-too-long')).toHaveLength(1);
    await a.probe();
  });
});

describe('floods of small lines', () => {
  it('100,000 tiny lines in one write are each ignored and counted; nobody waits long', async () => {
    const a = await open();
    await exchange(a, '{}\n'.repeat(100_000), { badLines: { 'reason=no-envelope': 100_000 } });
  });
});

describe('identifiers above 2^53 (PROTOCOL §1.6)', () => {
  it('ids sent as JSON numbers are refused; as digit strings they come back digit for digit', async () => {
    const a = await open();
    const asNumber = (key: string) =>
      evilLine(a, { [key]: 'ID' }).replace(`"${key}":"ID"`, `"${key}":18234567890123456789`);
    await exchange(a, lines(asNumber('channelId'), asNumber('logId')), {
      badLines: { 'reason=invalid-packet': 2 },
    });
    await exchange(a, lines(evilLine(a, { channelId: BIG_CHANNEL, logId: '18446744073709551615' }, '# echo big')), {
      accepted: 1,
    });
    const reply = a.evil.packets.find((p) => p.event === 'messageResponse' && p.data.text === '에코: big');
    expect(reply?.data.channel_id).toBe(BIG_CHANNEL);
    expect(a.evil.lines.some((l) => l.includes(`"channel_id":"${BIG_CHANNEL}"`))).toBe(true);
  });

  it('an auth timestamp above 2^53 is stale; a ping echo above 2^53 is stored without an RTT', async () => {
    const a = await open();
    const auth = JSON.stringify(validAuth(EVIL_DEVICE, a.now()));
    const huge = auth.replace(/"timestamp":\d+/, '"timestamp":9007199254740993');
    const m = a.tg.gateway.metrics;
    const answered = await metricValue(m.pingsAnswered);
    await exchange(
      a,
      lines(
        evilLine(a).replace(auth, huge),
        `{"event":"ping","data":{"bot_name":"${BOT}","server_timestamp":18446744073709551616,"auth":${auth}}}`,
      ),
      { authFailures: { 'reason=stale': 1 } },
    );
    expect(await metricValue(m.pingsAnswered)).toBe(answered + 1);
  });
});

describe('text limits (PROTOCOL §1.5: over 65,000 characters ignored, connection kept)', () => {
  for (const [script, char] of [
    ['Hangul', '가'],
    ['emoji', '😀'],
  ] as const) {
    it(`${script}: 65,000 characters answered, 65,001 ignored as text-too-long`, async () => {
      const a = await open();
      const body = char.repeat(65_000 - '# echo '.length);
      await exchange(a, lines(evilLine(a, {}, `# echo ${body}`)), { accepted: 1 });
      expect(a.evilReplies()).toEqual([`에코: ${body}`]);
      await exchange(a, lines(evilLine(a, {}, `# echo ${body}${char}`)), {
        badLines: { 'reason=text-too-long': 1 },
      });
      expect(a.evilReplies()).toHaveLength(1);
    });
  }
});

describe('handshake order (PROTOCOL §2.1: exactly one handshake, first)', () => {
  it('a second handshake is ignored and does not change the identity', async () => {
    const a = await open();
    const enveloped = JSON.stringify({
      event: 'handshake',
      data: { botName: 'other-bot', version: '3.3.2', deviceID: 'other-phone' },
    });
    await exchange(a, lines(handshakeLine(EVIL_DEVICE), handshakeLine('other-phone', 'other-bot'), enveloped), {
      // the bare (legacy) form has no envelope; only the enveloped form is named a repeated handshake
      badLines: { 'reason=no-envelope': 2, 'reason=handshake-repeated': 1 },
    });
    const keys = [...a.tg.gateway.registry.entries()].map(([k]) => k).sort();
    expect(keys).toEqual([`${BOT}\u0000evil-phone`, `${BOT}\u0000good-phone`]);
    expect(a.evil.packets.filter((p) => p.event === 'handshakeComplete')).toHaveLength(1);
  });

  // PROTOCOL §2.1, §5.3.1 [REC], §6.5: a phone's offline queue may arrive before its handshake; it is
  // held and processed after it. (Before, such a connection was closed as handshake-invalid.)
  it('analyze before the handshake is held and answered after it; alone it closes at the deadline', async () => {
    const a = await open();
    const peer = await RawPeer.connect(a.tg.port);
    await peer.write(
      lines(analyzeLine({ deviceId: EVIL_DEVICE, now: a.now(), text: '# echo early' }), handshakeLine(EVIL_DEVICE)),
    );
    await until(() => peer.text().includes('에코: early'));
    expect(peer.text().indexOf('"handshakeComplete"')).toBeLessThan(peer.text().indexOf('에코: early'));
    expect(await metricValue(a.tg.gateway.metrics.durability, { event: 'held-before-handshake' })).toBe(1);
    peer.close();

    const eager = await RawPeer.connect(a.tg.port);
    await eager.write(lines(analyzeLine({ deviceId: 'eager-phone', now: a.now() })));
    const held = () => metricValue(a.tg.gateway.metrics.durability, { event: 'held-before-handshake' });
    for (let i = 0; i < 200 && (await held()) < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await held()).toBe(2);
    expect(eager.closed).toBe(false);
    await a.tg.advance(a.tg.config.timers.handshakeMs);
    await eager.waitClosed();
    expect(eager.received).toEqual([]);
    expect(closeLogs(a.tg, 'handshake-timeout')[0]).toMatchObject({ state: 'handshaking', unprocessed: 1 });
    await expectRefused(a, lines('{"event":"analyze"'), 'handshake-invalid');
    await a.probe();
  });

  it('empty lines before the handshake are skipped', async () => {
    const a = await open();
    const peer = await RawPeer.connect(a.tg.port);
    await peer.write(`\n\r\n  \n${handshakeLine('late-phone')}\n`);
    await until(() => peer.text().includes('"handshakeComplete"'));
    peer.close();
  });
});

describe('signatures (PROTOCOL §3.4, §3.6 [REC]: never answered, counted by reason)', () => {
  it('wrong, empty, missing, stale, future outside ±5 min, of another bot: dropped', async () => {
    const a = await open();
    const now = a.now();
    const auth = validAuth(EVIL_DEVICE, now);
    const flipped = `${auth.signature?.slice(0, -1)}${auth.signature?.endsWith('0') ? '1' : '0'}`;
    const otherSecret = sign({ ...auth, timestamp: now }, { secret: 'not-the-secret', salt: KEYS.salt });
    await exchange(
      a,
      lines(
        evilLine(a, { auth: { ...auth, signature: flipped } }),
        evilLine(a, { auth: { ...auth, signature: otherSecret } }),
        evilLine(a, { auth: { ...auth, signature: '' } }),
        evilLine(a, { auth: {} }),
        evilLine(a, { auth: undefined }),
        evilLine(a, { auth: validAuth(EVIL_DEVICE, now - 300_001) }),
        evilLine(a, { auth: validAuth(EVIL_DEVICE, now + 300_001) }),
        evilLine(a, { auth: validAuth(EVIL_DEVICE, now - 3_600_000) }),
        evilLine(a, { auth: validAuth(EVIL_DEVICE, now, 'other-bot') }),
      ),
      {
        authFailures: {
          'reason=bad-signature': 2,
          'reason=malformed': 1,
          'reason=missing': 2,
          'reason=stale': 3,
          'reason=bot-mismatch': 1,
        },
      },
    );
    expect(a.evilReplies()).toEqual([]);
    expect(a.tg.logs.filter((l) => l.msg === 'packet dropped: auth failed')).toHaveLength(9);
  });

  it('past and future inside the window, up to exactly ±5 min, are accepted', async () => {
    const a = await open();
    const now = a.now();
    const at = (offset: number, text: string) => evilLine(a, { auth: validAuth(EVIL_DEVICE, now + offset) }, text);
    await exchange(
      a,
      lines(
        at(-300_000, '# echo -5m'),
        at(-240_000, '# echo -4m'),
        at(240_000, '# echo +4m'),
        at(300_000, '# echo +5m'),
      ),
      { accepted: 4 },
    );
    expect([...a.evilReplies()].sort()).toEqual(['에코: +4m', '에코: +5m', '에코: -4m', '에코: -5m']);
  });
});

describe('unknown events (PROTOCOL §1.4, §4.7)', () => {
  it('are ignored and counted as unknown-event', async () => {
    const a = await open();
    const names = ['frobnicate', 'scheduleMessage', 'messageResponse', 'handshakeComplete', '', 'ANALYZE', 'error'];
    await exchange(a, lines(...names.map((event) => JSON.stringify({ event, data: {} }))), {
      badLines: { 'reason=unknown-event': names.length },
    });
    expect(await metricValue(a.tg.gateway.metrics.packetsIn, { event: 'frobnicate' })).toBe(1);
  });
});

describe('v3.3 framing on a v3.2 connection (PROTOCOL §5.7)', () => {
  it('a JSON header followed by a raw payload is not JSON to a v3.2 connection: bad-json', async () => {
    const a = await open();
    const header = {
      event: 'message',
      data: {
        room: 'Evil Room',
        channel_id: EVIL_CHANNEL,
        sender: 'Mallory',
        content_encoding: 'base64',
        message_positions: [0, 12],
        auth: validAuth(EVIL_DEVICE, a.now()),
      },
    };
    const payload = Buffer.from('# echo v33').toString('base64');
    await exchange(a, lines(`${JSON.stringify(header)}${payload}`, `${JSON.stringify(header)}# echo raw`), {
      badLines: { 'reason=bad-json': 2 },
    });
    expect(a.evilReplies()).toEqual([]);
  });
});
