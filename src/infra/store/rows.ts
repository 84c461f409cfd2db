import { z } from 'zod';
import { kstDateTime } from './kst.js';
import type { ChatLogRow, DeviceRow, PingRow, RoomRow, RoomStatusRow, SystemSampleRow } from './types.js';

/**
 * What both dialects share: the columns we select and insert, and the mapping between the
 * kb_* rows and the Store types. Rows read back are validated here (zod at the boundary): the
 * back office and operators write these tables too.
 */

/** Scalar a driver hands us; the SQL placeholders accept exactly these. */
export type SqlValue = string | number | null;

export const DEVICE_SELECT =
  'bot_name, device_id, status, ip_address, client_type, client_version, max_message_size, created_at, updated_at';
export const ROOM_SELECT = 'room_id, bot_name, device_id, room_name, status, created_at, updated_at';

const text = z.string();
const optionalText = z.string().nullable();
/** INT reads as a number; an operator's BIGINT/DECIMAL column reads as a string (bigNumberStrings). */
const optionalInt = z
  .union([z.number(), z.string(), z.null()])
  .transform((v) => (v === null || v === '' ? null : Number.isFinite(Number(v)) ? Math.trunc(Number(v)) : null));
/** DATETIME/TIMESTAMP come back as strings (dateStrings on MySQL, TEXT on SQLite). */
const optionalTime = z.union([z.string(), z.null()]);

const deviceRecord = z.object({
  bot_name: text,
  device_id: text,
  status: z.string(),
  ip_address: optionalText,
  client_type: optionalText,
  client_version: optionalText,
  max_message_size: optionalInt,
  created_at: optionalTime,
  updated_at: optionalTime,
});

const roomRecord = z.object({
  room_id: text,
  bot_name: text,
  device_id: text,
  room_name: z.string().nullable(),
  status: z.string(),
  created_at: optionalTime,
  updated_at: optionalTime,
});

export function toDeviceRow(raw: unknown): DeviceRow {
  const r = deviceRecord.parse(raw);
  return {
    botName: r.bot_name,
    deviceId: r.device_id,
    status: r.status,
    ipAddress: r.ip_address,
    clientType: r.client_type,
    clientVersion: r.client_version,
    // PROTOCOL §7.3: NULL (or a nonsense value) means the configured default
    maxMessageSize: r.max_message_size !== null && r.max_message_size > 0 ? r.max_message_size : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** `SELECT room_id, device_id, status` rows read as arrays (the lean standing-refresh read). */
const roomStatusTuples = z.array(z.tuple([text, text, text]));

export function toRoomStatusRows(raw: unknown): RoomStatusRow[] {
  return roomStatusTuples.parse(raw).map(([roomId, deviceId, status]) => ({ roomId, deviceId, status }));
}

export function toRoomRow(raw: unknown): RoomRow {
  const r = roomRecord.parse(raw);
  return {
    roomId: r.room_id,
    botName: r.bot_name,
    deviceId: r.device_id,
    roomName: r.room_name ?? '',
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** PROTOCOL §7.8: the note written into kb_rooms.description on auto-registration. */
export function roomAutoDescription(botName: string, deviceId: string): string {
  return `자동 등록: ${botName} / ${deviceId.slice(0, 8)}`;
}

/** The admin room list, optionally narrowed to one bot and/or one status (both dialects). */
export function roomListSql(filter: { botName?: string; status?: string }): { sql: string; params: string[] } {
  const where: string[] = [];
  const params: string[] = [];
  if (filter.botName !== undefined) {
    where.push('bot_name = ?');
    params.push(filter.botName);
  }
  if (filter.status !== undefined) {
    where.push('status = ?');
    params.push(filter.status);
  }
  // (the second line's indentation is part of the SQL text both stores have always sent)
  const sql = `SELECT ${ROOM_SELECT} FROM kb_rooms${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY bot_name, room_id, device_id`;
  return { sql, params };
}

/** A NaN or Infinity would make the whole batch fail; telemetry numbers degrade to 0 instead. */
function num(v: number): number {
  return Number.isFinite(v) ? v : 0;
}
function int(v: number): number {
  return Number.isFinite(v) ? Math.trunc(v) : 0;
}

/** Which nullable-in-Store chat log columns accept NULL in this database (PROTOCOL §8.3). */
export interface ChatLogNullability {
  user_hash: boolean;
  log_id: boolean;
  directive: boolean;
}

export const CHAT_LOG_COLUMNS = [
  'channel_id',
  'user_hash',
  'room_name',
  'sender',
  'message',
  'directive',
  'message_type',
  'is_meaningful',
  'bot_name',
  'is_mention',
  'is_group_chat',
  'log_id',
  'client_timestamp',
  'server_timestamp',
  'created_at',
  'is_our_bot_response',
  'is_scheduled',
] as const;

/**
 * PROTOCOL §8.3 [REC]: '' for a missing string; NULL only where the operator's column allows it
 * (the second DDL variant makes user_hash NOT NULL and a NULL there fails the insert).
 * `client_timestamp` holds the server's processing time, as in the reference server.
 */
export function chatLogValues(row: ChatLogRow, nowKst: string, nullable: ChatLogNullability): SqlValue[] {
  return [
    row.channelId,
    row.userHash ?? (nullable.user_hash ? null : ''),
    row.roomName,
    row.sender,
    row.message,
    row.directive ?? (nullable.directive ? null : ''),
    row.messageType,
    row.isMeaningful ? 1 : 0,
    row.botName,
    row.isMention ? 1 : 0,
    row.isGroupChat ? 1 : 0,
    row.logId ?? (nullable.log_id ? null : ''),
    kstDateTime(row.clientTimestamp),
    nowKst,
    nowKst,
    row.isOurBotResponse === true ? 1 : 0,
    row.isScheduled === true ? 1 : 0,
  ];
}

export const PING_COLUMNS = [
  'bot_name',
  'device_id',
  'client_ip',
  'ping_time_ms',
  'client_timestamp',
  'server_timestamp',
  'total_memory',
  'memory_usage',
  'memory_percent',
  'message_queue_size',
  'active_rooms',
  'process_name',
  'server_cpu_usage',
  'server_cpu_max',
  'server_memory_usage',
  'server_memory_max',
  'created_at',
] as const;

/** PROTOCOL §8.4 */
export function pingValues(row: PingRow, nowKst: string): SqlValue[] {
  return [
    row.botName,
    row.deviceId,
    row.clientIp,
    int(row.pingTimeMs),
    row.clientTimestamp === null ? null : kstDateTime(row.clientTimestamp),
    row.serverTimestamp === null ? null : kstDateTime(row.serverTimestamp),
    num(row.totalMemory),
    num(row.memoryUsage),
    num(row.memoryPercent),
    int(row.messageQueueSize),
    int(row.activeRooms),
    row.processName,
    num(row.serverCpuUsage),
    num(row.serverCpuMax),
    num(row.serverMemoryUsage),
    num(row.serverMemoryMax),
    nowKst,
  ];
}

export const SYSTEM_SAMPLE_COLUMNS = [
  'server_name',
  'cpu_percent',
  'memory_total',
  'memory_used',
  'memory_percent',
  'disk_usage_percent',
  'active_connections',
  'message_queue_size',
  'created_at',
] as const;

/** PROTOCOL §8.5 */
export function systemSampleValues(row: SystemSampleRow, nowKst: string): SqlValue[] {
  return [
    row.serverName,
    num(row.cpuPercent),
    int(row.memoryTotal),
    int(row.memoryUsed),
    num(row.memoryPercent),
    num(row.diskUsagePercent),
    int(row.activeConnections),
    int(row.messageQueueSize),
    nowKst,
  ];
}
