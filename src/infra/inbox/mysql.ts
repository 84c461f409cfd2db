import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Inbox, InboxKey, InboxStatus, UnfinishedMessage } from '../../actors/inbox.js';
import type { ChatMessage } from '../../actors/job.js';
import { DELETE_CHUNK, deleteInChunks, openSidePool } from '../mysql-side-pool.js';
import { decodeMessage, encodeMessage, type InboxOp } from './codec.js';

/**
 * The durable mailbox in MySQL/MariaDB (DESIGN.md §2): our own table beside the kb_* ones (whose
 * shape it never touches), on a small pool of its own. One flush = one transaction: a multi-row
 * INSERT for the appends, then one UPDATE … WHERE trace_id IN (…) per outcome; a reply count
 * (rare: a handler that answers and keeps working) is one UPDATE of its own.
 */
export const MYSQL_INBOX_DDL = `CREATE TABLE IF NOT EXISTS msgbot_inbox (
  seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  trace_id VARCHAR(32) NOT NULL,
  bot_name VARCHAR(255) NOT NULL,
  device_id VARCHAR(255) NOT NULL,
  channel_id VARCHAR(32) NULL,
  log_id VARCHAR(32) NULL,
  received_at BIGINT NOT NULL,
  message MEDIUMTEXT NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'pending',
  finished_at BIGINT NULL,
  replies_written INT UNSIGNED NOT NULL DEFAULT 0,
  KEY msgbot_inbox_trace (trace_id),
  KEY msgbot_inbox_received (received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`;

/** Added after the first release: a table created before it gets the column at `migrate`. */
const MYSQL_REPLIES_WRITTEN = 'ALTER TABLE msgbot_inbox ADD COLUMN replies_written INT UNSIGNED NOT NULL DEFAULT 0';

export interface MysqlInboxOptions {
  connectTimeoutMs?: number;
  onBadRow?: (seq: number, error: string) => void;
}

export function openMysqlInbox(url: string, opts: MysqlInboxOptions = {}): MysqlInbox {
  const pool = openSidePool(url, opts.connectTimeoutMs);
  return new MysqlInbox(pool, opts);
}

export class MysqlInbox implements Inbox {
  private ops: InboxOp[] = [];

  constructor(
    readonly pool: Pool,
    private readonly opts: MysqlInboxOptions = {},
  ) {}

  get buffered(): number {
    return this.ops.length;
  }

  append(message: ChatMessage): void {
    this.ops.push({ kind: 'append', message });
  }

  replied(traceId: string, count: number): void {
    this.ops.push({ kind: 'replied', traceId, count });
  }

  finish(traceId: string, status: InboxStatus, at: number): void {
    this.ops.push({ kind: 'finish', traceId, status, at });
  }

  async flush(): Promise<void> {
    if (this.ops.length === 0) return;
    const ops = this.ops;
    this.ops = [];
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      // consecutive appends go in one INSERT, consecutive finishes in one UPDATE per outcome;
      // runs are written in call order, so a finish never precedes its append
      let i = 0;
      while (i < ops.length) {
        const op = ops[i]!;
        if (op.kind === 'replied') {
          i++;
          await conn.query("UPDATE msgbot_inbox SET replies_written = ? WHERE status = 'pending' AND trace_id = ?", [
            op.count,
            op.traceId,
          ]);
          continue;
        }
        const rows: unknown[][] = [];
        while (i < ops.length && ops[i]!.kind === 'append') {
          const m = (ops[i++] as Extract<InboxOp, { kind: 'append' }>).message;
          rows.push([m.traceId, m.botName, m.deviceId, m.channelId, m.logId, m.receivedAt, encodeMessage(m)]);
        }
        if (rows.length > 0) {
          await conn.query(
            'INSERT INTO msgbot_inbox (trace_id, bot_name, device_id, channel_id, log_id, received_at, message) VALUES ?',
            [rows],
          );
        }
        const finishes = new Map<string, { ids: string[]; at: number }>();
        while (i < ops.length && ops[i]!.kind === 'finish') {
          const f = ops[i++] as Extract<InboxOp, { kind: 'finish' }>;
          const group = finishes.get(f.status) ?? { ids: [], at: f.at };
          group.ids.push(f.traceId);
          group.at = Math.max(group.at, f.at);
          finishes.set(f.status, group);
        }
        for (const [status, group] of finishes) {
          await conn.query(
            "UPDATE msgbot_inbox SET status = ?, finished_at = ? WHERE status = 'pending' AND trace_id IN (?)",
            [status, group.at, group.ids],
          );
        }
      }
      await conn.commit();
    } catch (error) {
      await conn.rollback().catch(() => {});
      throw error;
    } finally {
      conn.release();
    }
  }

  async unfinished(): Promise<UnfinishedMessage[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      "SELECT seq, message, replies_written FROM msgbot_inbox WHERE status = 'pending' ORDER BY seq",
    );
    const out: UnfinishedMessage[] = [];
    for (const row of rows) {
      const decoded = decodeMessage(String(row.message));
      if (decoded.ok) {
        out.push({ message: decoded.message, repliesWritten: Number(row.replies_written) });
        continue;
      }
      this.opts.onBadRow?.(Number(row.seq), decoded.error);
      await this.pool.query("UPDATE msgbot_inbox SET status = 'failed', finished_at = ? WHERE seq = ?", [
        Date.now(),
        row.seq,
      ]);
    }
    return out;
  }

  async recent(since: number): Promise<InboxKey[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT bot_name, device_id, channel_id, log_id, received_at FROM msgbot_inbox WHERE received_at >= ?',
      [since],
    );
    return rows.map((r) => ({
      botName: String(r.bot_name),
      deviceId: String(r.device_id),
      channelId: r.channel_id === null ? null : String(r.channel_id),
      logId: r.log_id === null ? null : String(r.log_id),
      receivedAt: Number(r.received_at),
    }));
  }

  prune(before: number): Promise<number> {
    return deleteInChunks(
      this.pool,
      `DELETE FROM msgbot_inbox WHERE status <> 'pending' AND finished_at < ? ORDER BY seq LIMIT ${DELETE_CHUNK}`,
      [before],
    );
  }

  async migrate(): Promise<void> {
    await this.pool.query(MYSQL_INBOX_DDL);
    const [columns] = await this.pool.query<RowDataPacket[]>(
      "SELECT 1 FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'msgbot_inbox' AND column_name = 'replies_written'",
    );
    if (columns.length === 0) await this.pool.query(MYSQL_REPLIES_WRITTEN);
  }

  async close(): Promise<void> {
    await this.flush().catch(() => {});
    await this.pool.end();
  }
}
