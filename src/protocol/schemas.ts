import { z } from 'zod';

/**
 * zod schemas of every packet and the parse functions the connection uses. Inbound schemas are
 * lenient where the reference server is (missing → default) and strict where being lenient would
 * corrupt data (big ids as JSON numbers, PROTOCOL §1.6).
 */

// ---------------------------------------------------------------------------------------------
// helpers

/** First zod issue as "<field>: <message>", so a log line says which member was wrong. */
function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** null and missing both mean "not given" (the client's JSON has either) */
const optionalString = (fallback: string) =>
  z
    .string()
    .nullish()
    .transform((v) => v ?? fallback);
const optionalBoolean = z
  .boolean()
  .nullish()
  .transform((v) => v ?? false);

const DIGITS = /^-?\d+$/;

/**
 * PROTOCOL §1.6 [WIRE]: channelId/logId are 64-bit ids sent as digit strings. A JSON number has
 * already lost precision above 2^53 when JSON.parse is done, so it is refused, never "fixed".
 * An empty string is taken as "not given" (null): the client treats an empty channel id like a
 * missing one (§4.5), and refusing would lose the whole chat message.
 */
const idString = z
  .string({
    error: (issue) =>
      typeof issue.input === 'number'
        ? 'a 64-bit id must be a digit string; a JSON number has lost precision (PROTOCOL §1.6)'
        : `expected a digit string or null, got ${typeof issue.input}`,
  })
  .nullish()
  .transform((v, ctx) => {
    if (v === undefined || v === null || v === '') return null;
    if (!DIGITS.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'expected a digit string' });
      return z.NEVER;
    }
    return v;
  });

// ---------------------------------------------------------------------------------------------
// handshake (PROTOCOL §2.2, §2.3, §5.3.1)

const handshakeFieldsSchema = z.object({
  clientType: optionalString('MessengerBotR'),
  botName: z.string().min(1, 'required non-empty string'),
  version: z.string().min(1, 'required non-empty string'),
  deviceID: z.string().min(1, 'required non-empty string'),
  deviceIP: optionalString('unknown'),
  deviceInfo: optionalString(''),
  // PROTOCOL §2.3: only the v3.3.0 draft sends it; its presence picks v3.3 framing (§5.7).
  protocolVersion: z
    .number()
    .nullish()
    .transform((v) => v ?? undefined),
});

export interface Handshake {
  /** legacy = bare object (v3.1.4, v3.2.x, v3.3.0 draft); enveloped = v3.3.2+ (PROTOCOL §2.3) */
  form: 'legacy' | 'enveloped';
  clientType: string;
  botName: string;
  version: string;
  deviceId: string;
  deviceIp: string;
  deviceInfo: string;
  protocolVersion?: number;
}

export type HandshakeResult = { ok: true; handshake: Handshake } | { ok: false; reason: string };

export function parseHandshake(obj: Record<string, unknown>): HandshakeResult {
  // PROTOCOL §2.3: enveloped only if event is "handshake" and data is an object; else top level.
  const enveloped = obj.event === 'handshake' && isPlainObject(obj.data);
  const source = enveloped ? (obj.data as Record<string, unknown>) : obj;
  const parsed = handshakeFieldsSchema.safeParse(source);
  if (!parsed.success) return { ok: false, reason: describe(parsed.error) };
  const f = parsed.data;
  const handshake: Handshake = {
    form: enveloped ? 'enveloped' : 'legacy',
    clientType: f.clientType,
    botName: f.botName,
    version: f.version,
    deviceId: f.deviceID,
    deviceIp: f.deviceIP,
    deviceInfo: f.deviceInfo,
  };
  if (f.protocolVersion !== undefined) handshake.protocolVersion = f.protocolVersion;
  return { ok: true, handshake };
}

// ---------------------------------------------------------------------------------------------
// envelope (PROTOCOL §1.4)

export const envelopeSchema = z.object({
  event: z.string(),
  data: z.custom<Record<string, unknown>>(isPlainObject, 'data must be an object'),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export type EnvelopeResult = { ok: true; event: string; data: Record<string, unknown> } | { ok: false; reason: string };

/** Hot path: checked by hand (same rules as envelopeSchema) and `data` is returned as is, uncopied. */
export function parseEnvelope(obj: Record<string, unknown>): EnvelopeResult {
  const { event, data } = obj;
  if (typeof event !== 'string') return { ok: false, reason: 'event: expected a string' };
  if (!isPlainObject(data)) return { ok: false, reason: 'data: must be an object' };
  return { ok: true, event, data };
}

// ---------------------------------------------------------------------------------------------
// auth (PROTOCOL §3.2) — verified by hmac.ts; this schema documents the shape and types it.

export const authSchema = z.object({
  clientType: z.string().nullish(),
  botName: z.string().nullish(),
  deviceUUID: z.string().nullish(),
  deviceID: z.string().nullish(),
  macAddress: z.string().nullish(),
  ipAddress: z.string().nullish(),
  timestamp: z.number().nullish(),
  version: z.string().nullish(),
  signature: z.string().nullish(),
});
export type Auth = z.infer<typeof authSchema>;

// ---------------------------------------------------------------------------------------------
// analyze (PROTOCOL §4.1: listener form and legacy-callback form)

export const analyzeDataSchema = z.object({
  room: z.string(),
  // §4.1: 1…65,000 UTF-16 units from the listener; the legacy callback may send "".
  text: z.string(),
  sender: optionalString(''),
  isGroupChat: optionalBoolean,
  channelId: idString,
  logId: idString,
  userHash: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  isMention: optionalBoolean,
  timestamp: optionalString(''),
  botName: optionalString(''),
  clientType: optionalString(''),
  /** legacy-callback form only (§4.1) */
  packageName: z
    .string()
    .nullish()
    .transform((v) => v ?? undefined),
  /** verified separately (hmac.ts verifyAuth) */
  auth: z.unknown().optional(),
});
export type AnalyzeData = z.infer<typeof analyzeDataSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export function parseAnalyze(data: Record<string, unknown>): ParseResult<AnalyzeData> {
  const parsed = analyzeDataSchema.safeParse(data);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: describe(parsed.error) };
}

// ---------------------------------------------------------------------------------------------
// ping reply (PROTOCOL §4.2, §5.3.3, §5.5)

const monitoringNumber = z
  .number()
  .nullish()
  .transform((v) => v ?? undefined);

const monitoringSchema = z.object({
  total_memory: monitoringNumber,
  memory_usage: monitoringNumber,
  memory_percent: monitoringNumber,
  message_queue_size: monitoringNumber,
  active_rooms: monitoringNumber,
});
export type Monitoring = z.infer<typeof monitoringSchema>;

export const pingReplyDataSchema = z
  .object({
    /** verbatim echo of the server's bot_name (§4.2) */
    bot_name: z.unknown().optional(),
    /** verbatim echo of the server's server_timestamp: number (v3.2 era) or string (v3.3 era) */
    server_timestamp: z.unknown().optional(),
    // Statistics are a nice-to-have: broken ones are dropped, the reply (a liveness sign) is kept.
    monitoring: monitoringSchema.optional().catch(undefined),
    auth: z.unknown().optional(),
    // §5.5: the v3.3.0 draft puts these flat into data.
    total_memory: monitoringNumber.catch(undefined),
    memory_usage: monitoringNumber.catch(undefined),
    memory_percent: monitoringNumber.catch(undefined),
    queue_size: monitoringNumber.catch(undefined),
    active_rooms: monitoringNumber.catch(undefined),
  })
  .transform(({ bot_name, server_timestamp, monitoring, auth, ...flat }) => {
    const reply: { bot_name: unknown; server_timestamp: unknown; monitoring?: Monitoring; auth?: unknown } = {
      bot_name,
      server_timestamp,
    };
    if (monitoring !== undefined) {
      reply.monitoring = monitoring;
    } else if (Object.values(flat).some((v) => v !== undefined)) {
      reply.monitoring = {
        total_memory: flat.total_memory,
        memory_usage: flat.memory_usage,
        memory_percent: flat.memory_percent,
        message_queue_size: flat.queue_size,
        active_rooms: flat.active_rooms,
      };
    }
    if (auth !== undefined) reply.auth = auth;
    return reply;
  });
export type PingReplyData = z.infer<typeof pingReplyDataSchema>;

// ---------------------------------------------------------------------------------------------
// server → client (used by the simulated bridge client and by tests of what we send)

const messagePositions = z.array(z.number().int().nonnegative());

/** PROTOCOL §2.5 (+ the v3.3-era extras) */
export const handshakeCompleteDataSchema = z.object({
  success: z.boolean(),
  approved: z.boolean(),
  message: z.string(),
  server_version: z.string(),
  timestamp: z.string().optional(),
  timezone: z.string().optional(),
  message_positions: messagePositions.optional(),
});
export type HandshakeCompleteData = z.infer<typeof handshakeCompleteDataSchema>;

/** PROTOCOL §4.6 [REC] form */
export const serverPingDataSchema = z.object({
  bot_name: z.string(),
  server_timestamp: z.union([z.number().int(), z.string()]),
  message_positions: messagePositions.optional(),
});
export type ServerPingData = z.infer<typeof serverPingDataSchema>;

/** PROTOCOL §4.4 (v3.2 form) */
export const messageResponseDataSchema = z.object({
  room: z.string(),
  text: z.string(),
  channel_id: z.string().regex(DIGITS, 'expected a digit string').optional(),
  bot_name: z.string().optional(),
  media_wait_time: z.number().positive().optional(),
});
export type MessageResponseData = z.infer<typeof messageResponseDataSchema>;

// ---------------------------------------------------------------------------------------------
// text limits (PROTOCOL §0.2: "characters" are code points; §1.5, §6.6)

const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

/** Number of Unicode code points (a lone surrogate counts as one). */
export function textLength(s: string): number {
  // Fast path: without a high surrogate every UTF-16 unit is one code point (ASCII/BMP).
  if (!HIGH_SURROGATE.test(s)) return s.length;
  let pairs = 0;
  const last = s.length - 1;
  for (let i = 0; i < last; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return s.length - pairs;
}

/** The first `maxChars` code points of `s`; never splits a surrogate pair. */
export function truncateText(s: string, maxChars: number): string {
  if (s.length <= maxChars) return s; // code points ≤ UTF-16 units
  if (maxChars <= 0) return '';
  let units = 0;
  for (let points = 0; points < maxChars && units < s.length; points++) {
    const c = s.charCodeAt(units);
    if (c >= 0xd800 && c <= 0xdbff && units + 1 < s.length) {
      const d = s.charCodeAt(units + 1);
      units += d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
    } else {
      units++;
    }
  }
  return s.slice(0, units);
}
