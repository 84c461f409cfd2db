import type Database from 'better-sqlite3';
import type { Pool, RowDataPacket } from 'mysql2/promise';

/**
 * A room's recent chat log (PROTOCOL §8.3 kb_chat_logs), newest last, for the operator's
 * dashboard. Only columns every kb_chat_logs has (also an operator's older table) are read.
 */

export interface ChatHistoryEntry {
  id: string;
  channelId: string;
  roomName: string;
  sender: string;
  message: string;
  botName: string;
  /** server_timestamp (created_at when absent), KST `YYYY-MM-DD HH:MM:SS` */
  at: string | null;
}

export interface ChatHistoryQuery {
  botName: string;
  roomId: string;
  /** at most this many rows (the newest) */
  limit: number;
}

const SQL = `SELECT id, channel_id, room_name, sender, message, bot_name,
  COALESCE(server_timestamp, created_at) AS at
  FROM kb_chat_logs WHERE bot_name = ? AND channel_id = ? ORDER BY id DESC LIMIT ?`;

function entryOf(row: Record<string, unknown>): ChatHistoryEntry {
  const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
  return {
    id: text(row.id),
    channelId: text(row.channel_id),
    roomName: text(row.room_name),
    sender: text(row.sender),
    message: text(row.message),
    botName: text(row.bot_name),
    at: row.at === null || row.at === undefined ? null : String(row.at),
  };
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  return limit;
}

export function chatHistorySqlite(db: Database.Database, q: ChatHistoryQuery): ChatHistoryEntry[] {
  const rows = db.prepare(SQL).all(q.botName, q.roomId, checkLimit(q.limit)) as Record<string, unknown>[];
  return rows.map(entryOf).reverse();
}

export async function chatHistoryMysql(pool: Pool, q: ChatHistoryQuery): Promise<ChatHistoryEntry[]> {
  // LIMIT as a literal: mysql2's prepared LIMIT ? needs a string on some servers
  const sql = SQL.replace('LIMIT ?', `LIMIT ${checkLimit(q.limit)}`);
  const [rows] = await pool.query<RowDataPacket[]>(sql, [q.botName, q.roomId]);
  return (rows as Record<string, unknown>[]).map(entryOf).reverse();
}
