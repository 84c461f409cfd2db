import type { ClaimedSchedule, DueQuery, ScheduleLogEntry, ScheduleRow } from '../../actors/scheduler-ports.js';
import type { LastOutcome, NewSchedule, ProcessRow, ScheduleListFilter } from './schedule-types.js';

/**
 * SQL and row mapping shared by both dialects for kb_schedule, kb_schedule_logs and
 * kb_server_processes (PROTOCOL §8.6–§8.9). Plain `?` placeholders and standard SQL: the same
 * text runs on SQLite and MariaDB/MySQL. Times are KST text parameters (§8.0), never NOW().
 */

type Raw = Record<string, unknown>;
export type Param = string | number | null;

export const SCHEDULE_SELECT = `id, title, target_bot_name, target_device_id, target_room_id, message_text,
  message_images_1, message_images_2, image_storage_mode, send_interval_seconds, media_wait_time_1,
  media_wait_time_2, schedule_type, schedule_time, schedule_weekdays, status, next_send_at, last_sent_at, send_count`;

/** A JSON column: MariaDB and SQLite return text, MySQL a parsed value. Not-JSON text stays text. */
function jsonValue(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return String(value);
}

function int(value: unknown, fallback = 0): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
}

export function toScheduleRow(r: Raw): ScheduleRow {
  return {
    id: int(r.id),
    title: text(r.title) ?? '',
    targetBotName: text(r.target_bot_name) ?? '',
    targetDeviceId: text(r.target_device_id),
    targetRoomId: text(r.target_room_id) ?? '',
    messageText: text(r.message_text),
    messageImages1: jsonValue(r.message_images_1),
    messageImages2: jsonValue(r.message_images_2),
    imageStorageMode: text(r.image_storage_mode) ?? 'file',
    sendIntervalSeconds: int(r.send_interval_seconds, 1),
    mediaWaitTime1: int(r.media_wait_time_1),
    mediaWaitTime2: int(r.media_wait_time_2),
    scheduleType: text(r.schedule_type) ?? 'once',
    scheduleTime: text(r.schedule_time) ?? '00:00:00',
    scheduleWeekdays: text(r.schedule_weekdays),
    status: text(r.status) ?? '',
    nextSendAt: text(r.next_send_at),
    lastSentAt: text(r.last_sent_at),
    sendCount: int(r.send_count),
  };
}

/** PROTOCOL §7.12 candidates (and the catch-up pass's, with `since`). */
export function dueSql(q: DueQuery): { sql: string; params: Param[] } {
  const bots = q.bots.map(() => '?').join(', ');
  let sql = `SELECT ${SCHEDULE_SELECT} FROM kb_schedule
    WHERE status = 'active' AND target_bot_name IN (${bots})
      AND (valid_from IS NULL OR valid_from <= ?) AND (valid_until IS NULL OR valid_until >= ?)
      AND next_send_at IS NOT NULL AND next_send_at <= ?
      AND (last_sent_at IS NULL OR last_sent_at < next_send_at)`;
  const params: Param[] = [...q.bots, q.now, q.now, q.now];
  if (q.since !== undefined) {
    sql += ` AND next_send_at >= ? AND NOT EXISTS (SELECT 1 FROM kb_schedule_logs l
      WHERE l.schedule_id = kb_schedule.id AND l.scheduled_at = kb_schedule.next_send_at
        AND l.status IN ('success', 'partial'))`;
    params.push(q.since);
  }
  sql += ' ORDER BY next_send_at, id LIMIT ?';
  params.push(q.limit);
  return { sql, params };
}

export const CLAIM_SQL = `UPDATE kb_schedule SET last_sent_at = ?, updated_at = ?
  WHERE id = ? AND status = 'active' AND next_send_at = ? AND (last_sent_at IS NULL OR last_sent_at < next_send_at)`;

export function claimParams(id: number, scheduledAt: string, now: string): Param[] {
  return [now, now, id, scheduledAt];
}

/** Claimed active rows (a run started, not advanced) and whether their run was logged. */
export const CLAIMED_SQL = `SELECT ${SCHEDULE_SELECT}, CASE WHEN EXISTS (SELECT 1 FROM kb_schedule_logs l
    WHERE l.schedule_id = kb_schedule.id AND l.scheduled_at = kb_schedule.next_send_at) THEN 1 ELSE 0 END AS logged
  FROM kb_schedule
  WHERE status = 'active' AND next_send_at IS NOT NULL AND last_sent_at IS NOT NULL AND last_sent_at >= next_send_at
  ORDER BY next_send_at, id LIMIT ?`;

export function toClaimedSchedule(r: Raw): ClaimedSchedule {
  const row = toScheduleRow(r);
  return { ...row, nextSendAt: row.nextSendAt ?? '', lastSentAt: row.lastSentAt ?? '', logged: Number(r.logged) === 1 };
}

/** A take-over: only if the claim is still the one that was read (compare and set). */
export const RECLAIM_SQL = `UPDATE kb_schedule SET last_sent_at = ?, updated_at = ?
  WHERE id = ? AND status = 'active' AND next_send_at = ? AND last_sent_at = ?`;

export function reclaimParams(id: number, scheduledAt: string, claimedAt: string, now: string): Param[] {
  return [now, now, id, scheduledAt, claimedAt];
}

export const LOG_COLUMNS = [
  'schedule_id',
  'target_room_id',
  'target_device_id',
  'sent_message_text',
  'sent_images_1',
  'sent_images_2',
  'send_components',
  'status',
  'error_message',
  'api_response',
  'scheduled_at',
  'started_at',
  'completed_at',
  'duration_ms',
  'created_at',
] as const;

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

export const INSERT_LOG_SQL = `INSERT INTO kb_schedule_logs (${LOG_COLUMNS.join(', ')}) VALUES (${LOG_COLUMNS.map(() => '?').join(', ')})`;

export function logParams(e: ScheduleLogEntry): Param[] {
  return [
    e.scheduleId,
    e.targetRoomId,
    e.targetDeviceId,
    e.sentMessageText,
    json(e.sentImages1),
    json(e.sentImages2),
    e.sendComponents.slice(0, 50),
    e.status,
    e.errorMessage,
    json(e.apiResponse),
    e.scheduledAt,
    e.startedAt,
    e.completedAt,
    Math.round(e.durationMs),
    e.startedAt,
  ];
}

export function advanceSql(
  id: number,
  next: { status: 'completed' | 'error' } | { nextSendAt: string },
  now: string,
): { sql: string; params: Param[] } {
  if ('nextSendAt' in next) {
    return {
      sql: 'UPDATE kb_schedule SET next_send_at = ?, send_count = COALESCE(send_count, 0) + 1, updated_at = ? WHERE id = ?',
      params: [next.nextSendAt, now, id],
    };
  }
  return {
    sql: 'UPDATE kb_schedule SET status = ?, send_count = COALESCE(send_count, 0) + 1, updated_at = ? WHERE id = ?',
    params: [next.status, now, id],
  };
}

export function listSql(filter: ScheduleListFilter = {}): { sql: string; params: Param[] } {
  const where: string[] = [];
  const params: Param[] = [];
  if (filter.botName !== undefined) {
    where.push('target_bot_name = ?');
    params.push(filter.botName);
  }
  if (filter.status !== undefined) {
    where.push('status = ?');
    params.push(filter.status);
  }
  const clause = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  return { sql: `SELECT ${SCHEDULE_SELECT} FROM kb_schedule${clause} ORDER BY id`, params };
}

const ADD_COLUMNS = [
  'title',
  'message_type',
  'created_by_type',
  'created_by_id',
  'created_by_mb_id',
  'target_bot_name',
  'target_device_id',
  'target_room_id',
  'message_text',
  'message_images_1',
  'image_storage_mode',
  'send_interval_seconds',
  'media_wait_time_1',
  'media_wait_time_2',
  'schedule_type',
  'schedule_date',
  'schedule_time',
  'schedule_weekdays',
  'valid_from',
  'valid_until',
  'status',
  'next_send_at',
  'send_count',
  'created_at',
  'updated_at',
] as const;

export const ADD_SCHEDULE_SQL = `INSERT INTO kb_schedule (${ADD_COLUMNS.join(', ')}) VALUES (${ADD_COLUMNS.map(() => '?').join(', ')})`;

export function addParams(s: NewSchedule): Param[] {
  return [
    s.title,
    'schedule',
    'distributor',
    'msgbot-gateway',
    'cli',
    s.botName,
    s.deviceId,
    s.roomId,
    s.messageText,
    s.images1 === null ? null : JSON.stringify(s.images1),
    s.imageStorageMode,
    1,
    s.mediaWaitTime1,
    0,
    s.scheduleType,
    s.scheduleDate,
    s.scheduleTime,
    s.scheduleWeekdays,
    s.validFrom,
    s.validUntil,
    'active',
    s.nextSendAt,
    0,
    s.now,
    s.now,
  ];
}

export const PROCESS_SELECT =
  'process_name, server_id, port, type, pid, status, cpu_usage, memory_usage, last_heartbeat';

export function toProcessRow(r: Raw): ProcessRow {
  return {
    processName: text(r.process_name) ?? '',
    serverId: int(r.server_id),
    port: int(r.port),
    type: text(r.type) ?? 'test',
    pid: r.pid === null || r.pid === undefined ? null : int(r.pid),
    status: text(r.status) ?? '',
    cpuUsage: int(r.cpu_usage),
    memoryUsage: int(r.memory_usage),
    lastHeartbeat: text(r.last_heartbeat),
  };
}

/** DECIMAL(5,2) and DECIMAL(10,2) bounds of §8.9. */
export function usageParams(cpu: number, memory: number): [number, number] {
  const clamp = (v: number, max: number) => Math.min(max, Math.max(0, Math.round(v * 100) / 100));
  return [clamp(cpu, 999.99), clamp(memory, 99_999_999.99)];
}

export function statusSql(
  status: string,
  pid: number | null,
  now: string,
  name: string,
): { sql: string; params: Param[] } {
  const zero = status === 'stopped' ? ', cpu_usage = 0, memory_usage = 0' : '';
  return {
    sql: `UPDATE kb_server_processes SET status = ?, pid = ?, updated_at = ?${zero} WHERE process_name = ?`,
    params: [status, pid, now, name],
  };
}

export const HEARTBEAT_SQL =
  'UPDATE kb_server_processes SET cpu_usage = ?, memory_usage = ?, last_heartbeat = ?, updated_at = ? WHERE process_name = ?';

/** The newest kb_schedule_logs row of every schedule (the dashboard's "last outcome"). */
export const LAST_OUTCOMES_SQL = `SELECT l.schedule_id, l.status, l.completed_at, l.error_message FROM kb_schedule_logs l
  JOIN (SELECT schedule_id, MAX(id) AS id FROM kb_schedule_logs GROUP BY schedule_id) m ON m.id = l.id`;

export function toLastOutcome(r: Raw): [number, LastOutcome] {
  return [
    Number(r.schedule_id),
    {
      status: String(r.status),
      at: r.completed_at === null || r.completed_at === undefined ? null : String(r.completed_at),
      error: r.error_message === null || r.error_message === undefined ? null : String(r.error_message),
    },
  ];
}
