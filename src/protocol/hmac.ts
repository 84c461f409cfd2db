import { createHmac, timingSafeEqual } from 'node:crypto';

/** Per-deployment shared secret (HMAC key, UTF-8 bytes as is) and salt (PROTOCOL §3.3). */
export interface HmacKeys {
  secret: string;
  salt: string;
}

/** The signed members of an auth object (PROTOCOL §3.2), as received: anything may be anywhere. */
export interface SignedFields {
  clientType?: unknown;
  botName?: unknown;
  deviceUUID?: unknown;
  macAddress?: unknown;
  ipAddress?: unknown;
  timestamp?: unknown;
}

export type AuthFailure = 'missing' | 'malformed' | 'stale' | 'bad-signature' | 'bot-mismatch';
export type AuthVerdict = { ok: true } | { ok: false; reason: AuthFailure };

// Shared, frozen verdicts: verification allocates nothing for the answer.
const OK: AuthVerdict = Object.freeze({ ok: true });
const MISSING: AuthVerdict = Object.freeze({ ok: false, reason: 'missing' });
const MALFORMED: AuthVerdict = Object.freeze({ ok: false, reason: 'malformed' });
const STALE: AuthVerdict = Object.freeze({ ok: false, reason: 'stale' });
const BAD_SIGNATURE: AuthVerdict = Object.freeze({ ok: false, reason: 'bad-signature' });
const BOT_MISMATCH: AuthVerdict = Object.freeze({ ok: false, reason: 'bot-mismatch' });

const SIGNATURE = /^[0-9a-f]{64}$/;

/** How the client's join renders one value: null/missing → "" (PROTOCOL §3.4 [REC]). */
function render(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return renderInteger(value);
  return String(value);
}

/** PROTOCOL §3.3: a plain decimal integer, no fraction, no exponent. */
function renderInteger(n: number): string {
  // String() switches to exponent notation at 1e21; BigInt never does.
  return Number.isInteger(n) && Math.abs(n) >= 1e21 ? BigInt(n).toString() : String(n);
}

/** PROTOCOL §3.3 step 1: clientType|botName|deviceUUID|macAddress|ipAddress|timestamp|salt */
export function signingString(fields: SignedFields, salt: string): string {
  return `${render(fields.clientType)}|${render(fields.botName)}|${render(fields.deviceUUID)}|${render(
    fields.macAddress,
  )}|${render(fields.ipAddress)}|${render(fields.timestamp)}|${salt}`;
}

/** PROTOCOL §3.3 steps 2–4: HMAC-SHA256, key = secret's UTF-8 bytes, lowercase hex. */
export function sign(fields: SignedFields, keys: HmacKeys): string {
  return digest(fields, keys).toString('hex');
}

function digest(fields: SignedFields, keys: HmacKeys): Buffer {
  return createHmac('sha256', keys.secret).update(signingString(fields, keys.salt), 'utf8').digest();
}

function isStringOrNothing(value: unknown): boolean {
  return value === undefined || value === null || typeof value === 'string';
}

/**
 * PROTOCOL §3.4, with the [REC]s of §3.4 (null → "") and §3.6 (auth.botName must be the
 * handshake bot name when `expectedBotName` is given). Checks run cheapest first; the HMAC is
 * computed only for a well-formed, fresh auth object.
 */
export function verifyAuth(
  auth: unknown,
  keys: HmacKeys,
  now: number,
  windowMs: number,
  expectedBotName?: string,
): AuthVerdict {
  if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) return MISSING;
  const a = auth as Record<string, unknown>;
  // "non-empty auth object" (§3.4): {} counts as missing.
  let empty = true;
  for (const _ in a) {
    empty = false;
    break;
  }
  if (empty) return MISSING;

  // §3.4 step 1: these members must be present.
  const { clientType, botName, deviceUUID, macAddress, ipAddress, timestamp, signature } = a;
  if (clientType === undefined || botName === undefined || deviceUUID === undefined) return MALFORMED;
  // Signed values are strings in every client; anything else would be rendered differently by
  // the phone's join than here, so it cannot verify anyway.
  if (
    !isStringOrNothing(clientType) ||
    !isStringOrNothing(botName) ||
    !isStringOrNothing(deviceUUID) ||
    !isStringOrNothing(macAddress) ||
    !isStringOrNothing(ipAddress)
  ) {
    return MALFORMED;
  }
  if (typeof timestamp !== 'number' || !Number.isInteger(timestamp)) return MALFORMED; // §3.2: integer epoch ms
  if (typeof signature !== 'string' || !SIGNATURE.test(signature)) return MALFORMED; // §3.2: 64 lowercase hex

  // §3.4 step 2: ±window, future timestamps included.
  if (Math.abs(now - timestamp) > windowMs) return STALE;

  // §3.4 step 3: constant-time comparison of the raw 32-byte MACs (both are exactly 32 bytes here).
  const expected = digest({ clientType, botName, deviceUUID, macAddress, ipAddress, timestamp }, keys);
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return BAD_SIGNATURE;

  // §3.6 [REC]: the signed bot name must be the connection's.
  if (expectedBotName !== undefined && (botName ?? '') !== expectedBotName) return BOT_MISMATCH;
  return OK;
}
