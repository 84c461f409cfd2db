import { z } from 'zod';
import type { ChatMessage } from '../../actors/job.js';
import type { ChatLogRow, PingRow } from '../store/types.js';
import type { ProcessStats } from './process-stats.js';

/**
 * Pure builders of the telemetry rows. They take what the connection already parsed and
 * produce exactly what PROTOCOL §8.3 / §8.4 say is written, so the writer and the stores never
 * interpret packets themselves.
 */

/** kb_chat_logs.directive is VARCHAR(30); a longer first token must not make the whole batch fail. */
const DIRECTIVE_MAX_CHARS = 30;
/** Leading token up to the first whitespace (Python's `str.split()[0]`). */
const FIRST_TOKEN = /^\S+/u;

/** PROTOCOL §8.3: one row per received analyze, whatever the approval state. */
export function chatLogRow(message: ChatMessage, now: number): ChatLogRow {
  const text = message.text;
  // PROTOCOL §8.3: "command" means the text starts with '#', with no leading whitespace.
  const isCommand = text.startsWith('#');
  let directive: string | null = null;
  if (isCommand) {
    // PROTOCOL §8.3, §9.47: for `# echo …` this is just '#' — kept for back-office parity.
    const token = FIRST_TOKEN.exec(text)?.[0] ?? '#';
    directive = token.length > DIRECTIVE_MAX_CHARS ? Array.from(token).slice(0, DIRECTIVE_MAX_CHARS).join('') : token;
  }
  return {
    // PROTOCOL §9 item 21: a missing channel id is '', never the string "None".
    channelId: message.channelId ?? '',
    // PROTOCOL §8.3 [REC]: the store writes '' for null.
    userHash: message.userHash,
    roomName: message.room,
    sender: message.sender,
    message: text,
    directive,
    messageType: isCommand ? 'command' : 'text',
    isMeaningful: isCommand,
    // PROTOCOL §8.3: the packet's botName, not the handshake one.
    botName: message.packetBotName,
    isMention: message.isMention,
    isGroupChat: message.isGroupChat,
    logId: message.logId,
    // PROTOCOL §8.3, §9.18: server time of processing; the phone's timestamp is not stored.
    clientTimestamp: now,
  };
}

/** Largest epoch ms a DATETIME can hold (9999-12-31T23:59:59.999Z). */
const MAX_DATETIME_MS = 253_402_300_799_999;
const INT32_MAX = 2_147_483_647;
/** DECIMAL(10,2) and DECIMAL(5,2) bounds of kb_ping_monitor (PROTOCOL §8.4). */
const DECIMAL_10_2_MAX = 99_999_999.99;
const DECIMAL_5_2_MAX = 999.99;

/** A wrong or missing member of a ping reply counts as 0 (PROTOCOL §8.4 "0 if absent"). */
const num = z.number().catch(0);
const monitoringSchema = z
  .object({
    total_memory: num,
    memory_usage: num,
    memory_percent: num,
    message_queue_size: num,
    active_rooms: num,
  })
  .catch({ total_memory: 0, memory_usage: 0, memory_percent: 0, message_queue_size: 0, active_rooms: 0 });

const authSchema = z
  .object({
    ipAddress: z.string().catch(''),
    timestamp: z.number().int().min(0).max(MAX_DATETIME_MS).nullable().catch(null),
  })
  .catch({ ipAddress: '', timestamp: null });

interface PingRowCommon {
  /** handshake identity of the connection (PROTOCOL §4.2: overrides the echoed bot_name) */
  botName: string;
  deviceId: string;
  /** the reply's `data` as received; every member is checked here */
  reply: { server_timestamp?: unknown; monitoring?: unknown; auth?: unknown };
  now: number;
  processName: string;
  server: ProcessStats;
}

/**
 * Either the ping timestamps this connection sent (the row decides whether the echo is one of
 * them), or the round trip the connection already computed under the same rule (null = the echo
 * was not a ping it issued).
 */
export type PingRowArgs = PingRowCommon &
  (
    | { issuedTimestamps: ReadonlySet<number> | ((ts: number) => boolean); rttMs?: undefined }
    | { rttMs: number | null; issuedTimestamps?: undefined }
  );

function issuedEcho(args: PingRowArgs): number | null {
  const echo = args.reply.server_timestamp;
  if (typeof echo !== 'number') return null;
  if (args.issuedTimestamps === undefined) return args.rttMs === null || args.rttMs === undefined ? null : echo;
  const issued = args.issuedTimestamps;
  return (typeof issued === 'function' ? issued(echo) : issued.has(echo)) ? echo : null;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** PROTOCOL §4.2, §7.11, §8.4: one kb_ping_monitor row per ping reply. */
export function pingRow(args: PingRowArgs): PingRow {
  // PROTOCOL §7.11 [REC]: RTT only for a number this connection issued, else 0 and NULL.
  // A seconds-sized or string echo is therefore never interpreted.
  const known = issuedEcho(args);
  const measured = args.issuedTimestamps === undefined ? (args.rttMs ?? 0) : known === null ? 0 : args.now - known;
  // A clock step backwards must not store a negative round trip.
  const rtt = known === null ? 0 : clamp(Math.round(measured), 0, INT32_MAX);
  const monitoring = monitoringSchema.parse(args.reply.monitoring);
  const auth = authSchema.parse(args.reply.auth);
  return {
    botName: args.botName,
    deviceId: args.deviceId,
    clientIp: auth.ipAddress,
    pingTimeMs: rtt,
    clientTimestamp: auth.timestamp,
    serverTimestamp: known,
    // PROTOCOL §8.4: memory values truncated to integers. Clamped so one odd phone value cannot
    // make a whole batch fail on the DECIMAL column bounds.
    totalMemory: clamp(Math.trunc(monitoring.total_memory), 0, Math.trunc(DECIMAL_10_2_MAX)),
    memoryUsage: clamp(Math.trunc(monitoring.memory_usage), 0, Math.trunc(DECIMAL_10_2_MAX)),
    memoryPercent: clamp(round2(monitoring.memory_percent), 0, DECIMAL_5_2_MAX),
    messageQueueSize: clamp(Math.trunc(monitoring.message_queue_size), 0, INT32_MAX),
    activeRooms: clamp(Math.trunc(monitoring.active_rooms), 0, INT32_MAX),
    processName: args.processName,
    serverCpuUsage: clamp(args.server.cpuAvg, 0, DECIMAL_5_2_MAX),
    serverCpuMax: clamp(args.server.cpuMax, 0, DECIMAL_5_2_MAX),
    serverMemoryUsage: clamp(args.server.rssAvgMb, 0, DECIMAL_10_2_MAX),
    serverMemoryMax: clamp(args.server.rssMaxMb, 0, DECIMAL_10_2_MAX),
  };
}
