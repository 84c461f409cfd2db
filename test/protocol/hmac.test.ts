import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { type HmacKeys, sign, signingString, verifyAuth } from '../../src/protocol/hmac.js';

const KEYS: HmacKeys = { secret: 'demo-shared-secret', salt: 'demo-salt' }; // §3.3 made-up values
const T = 1721800000000;
const WINDOW = 300_000;

// §3.3 test vector 1, as the auth object of the §4.1 example
const VECTOR1 = {
  clientType: 'MessengerBotR',
  botName: 'demo-bot',
  deviceUUID: 'a1b2c3',
  deviceID: 'a1b2c3',
  macAddress: '02:00:00:00:00:00',
  ipAddress: '192.168.0.23',
  timestamp: T,
  version: '3.2.1',
  signature: '913352daf416f7fe2ae9c3b703b27ba07bdaa6aa2715805a68e70af9ab64da3a',
};
// §3.3 test vector 2: macAddress null, ipAddress "unknown"
const VECTOR2 = {
  ...VECTOR1,
  macAddress: null,
  ipAddress: 'unknown',
  signature: '06e8664e93734c3dec0e1ea7e31c5fb67606c4b8365e58e02458a0b2f47d95ad',
};

describe('signingString / sign (§3.3)', () => {
  test('vector 1', () => {
    expect(signingString(VECTOR1, KEYS.salt)).toBe(
      'MessengerBotR|demo-bot|a1b2c3|02:00:00:00:00:00|192.168.0.23|1721800000000|demo-salt',
    );
    expect(sign(VECTOR1, KEYS)).toBe(VECTOR1.signature);
  });

  test('vector 2: null renders as the empty string ([REC] §3.4)', () => {
    expect(signingString(VECTOR2, KEYS.salt)).toBe('MessengerBotR|demo-bot|a1b2c3||unknown|1721800000000|demo-salt');
    expect(sign(VECTOR2, KEYS)).toBe(VECTOR2.signature);
    const { macAddress: _, ...missing } = VECTOR2;
    expect(sign(missing, KEYS)).toBe(VECTOR2.signature); // missing = null = ""
  });

  test('timestamp is a plain decimal integer, never an exponent', () => {
    expect(signingString({ timestamp: 1e21 }, 's')).toBe('|||||1000000000000000000000|s');
  });
});

describe('verifyAuth (§3.4, §3.6)', () => {
  test('both vectors verify', () => {
    expect(verifyAuth(VECTOR1, KEYS, T, WINDOW)).toEqual({ ok: true });
    expect(verifyAuth(VECTOR2, KEYS, T, WINDOW)).toEqual({ ok: true });
  });

  test('window edges: exactly ±window is accepted, one ms more is stale (past and future)', () => {
    expect(verifyAuth(VECTOR1, KEYS, T + WINDOW, WINDOW)).toEqual({ ok: true });
    expect(verifyAuth(VECTOR1, KEYS, T - WINDOW, WINDOW)).toEqual({ ok: true }); // auth from the future
    expect(verifyAuth(VECTOR1, KEYS, T + WINDOW + 1, WINDOW)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyAuth(VECTOR1, KEYS, T - WINDOW - 1, WINDOW)).toEqual({ ok: false, reason: 'stale' });
  });

  test('a queued packet 30 s old is fine (§6.5)', () => {
    expect(verifyAuth(VECTOR2, KEYS, T + 30_000, WINDOW)).toEqual({ ok: true });
  });

  test.each([undefined, null, 'auth', 5, [], {}])('missing: %j', (auth) => {
    expect(verifyAuth(auth, KEYS, T, WINDOW)).toEqual({ ok: false, reason: 'missing' });
  });

  test.each([
    ['no clientType', { clientType: undefined }],
    ['no botName', { botName: undefined }],
    ['no deviceUUID', { deviceUUID: undefined }],
    ['no timestamp', { timestamp: undefined }],
    ['no signature', { signature: undefined }],
    ['timestamp as a string', { timestamp: String(T) }],
    ['fractional timestamp', { timestamp: T + 0.5 }],
    ['timestamp NaN-ish', { timestamp: null }],
    ['uppercase signature', { signature: VECTOR1.signature.toUpperCase() }],
    ['short signature', { signature: VECTOR1.signature.slice(2) }],
    ['signature with a non-hex char', { signature: `${VECTOR1.signature.slice(1)}g` }],
    ['botName as a number', { botName: 7 }],
  ])('malformed: %s', (_, patch) => {
    const auth: Record<string, unknown> = { ...VECTOR1, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete auth[k];
    expect(verifyAuth(auth, KEYS, T, WINDOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  test('bad signature: any signed member changed, or the wrong secret or salt', () => {
    for (const patch of [
      { clientType: 'Other' },
      { botName: 'other-bot' },
      { deviceUUID: 'ffffff' },
      { macAddress: null },
      { ipAddress: '10.0.0.1' },
      { timestamp: T + 1 },
    ]) {
      expect(verifyAuth({ ...VECTOR1, ...patch }, KEYS, T, WINDOW)).toEqual({ ok: false, reason: 'bad-signature' });
    }
    expect(verifyAuth(VECTOR1, { ...KEYS, secret: 'x' }, T, WINDOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyAuth(VECTOR1, { ...KEYS, salt: 'x' }, T, WINDOW)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('unsigned members (deviceID, version) do not matter (§3.5)', () => {
    expect(verifyAuth({ ...VECTOR1, deviceID: 'zzz', version: '9' }, KEYS, T, WINDOW)).toEqual({ ok: true });
  });

  test('bot mismatch ([REC] §3.6): a valid auth for another bot than the handshake', () => {
    expect(verifyAuth(VECTOR1, KEYS, T, WINDOW, 'demo-bot')).toEqual({ ok: true });
    expect(verifyAuth(VECTOR1, KEYS, T, WINDOW, 'other-bot')).toEqual({ ok: false, reason: 'bot-mismatch' });
  });

  test.prop([fc.anything()])('never throws on anything', (auth) => {
    const r = verifyAuth(auth, KEYS, T, WINDOW, 'demo-bot');
    expect(r.ok).toBe(false);
  });

  test.prop([
    fc.record({
      clientType: fc.string(),
      botName: fc.string(),
      deviceUUID: fc.string(),
      macAddress: fc.option(fc.string()),
      ipAddress: fc.option(fc.string()),
      timestamp: fc.integer({ min: T - WINDOW, max: T + WINDOW }),
    }),
  ])('whatever sign() produces verifies', (fields) => {
    expect(verifyAuth({ ...fields, signature: sign(fields, KEYS) }, KEYS, T, WINDOW)).toEqual({ ok: true });
  });
});
