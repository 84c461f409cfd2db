import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Outbox, OutboxEntry, OutboxOutcome, OutboxRecord } from '../../actors/outbox.js';
import { DELETE_CHUNK, deleteInChunks, openSidePool } from '../mysql-side-pool.js';
import {
  decodeRow,
  deliveredOfSql,
  entryParams,
  OUTBOX_COLUMNS,
  PRUNABLE,
  SELECT_COLUMNS,
  SETTLE_SQL,
  settleParams,
  TRACE_CHUNK,
} from './codec.js';
import type { OutboxOpenOptions } from './sqlite.js';

/**
 * The durable send record in MySQL/MariaDB (DESIGN.md §2 outbound path): our own table beside
 * the kb_* ones (whose shape it never touches), on a small pool of its own. Writes are chained so
 * they run in call order (an outcome never overtakes its send's insert on another connection).
 */
export const MYSQL_OUTBOX_DDL = `CREATE TABLE IF NOT EXISTS msgbot_outbox (
  seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id VARCHAR(64) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  bot_name VARCHAR(255) NOT NULL,
  device_id VARCHAR(255) NOT NULL,
  channel_id VARCHAR(64) NOT NULL,
  trace_id VARCHAR(64) NOT NULL,
  accepted_at BIGINT NOT NULL,
  owner VARCHAR(255) NOT NULL,
  content LONGTEXT NULL,
  schedule_id BIGINT NULL,
  scheduled_at VARCHAR(32) NULL,
  component VARCHAR(16) NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'queued',
  reason VARCHAR(32) NULL,
  detail TEXT NULL,
  settled_at BIGINT NULL,
  UNIQUE KEY msgbot_outbox_id (id),
  KEY msgbot_outbox_status (status),
  KEY msgbot_outbox_run (schedule_id, scheduled_at),
  KEY msgbot_outbox_trace (trace_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`;

/** Added after the first release: a table created before it gets the index at `migrate`. */
const MYSQL_TRACE_INDEX = 'ALTER TABLE msgbot_outbox ADD INDEX msgbot_outbox_trace (trace_id)';

const ADD_SQL = `INSERT INTO msgbot_outbox (${OUTBOX_COLUMNS.join(', ')}) VALUES (${OUTBOX_COLUMNS.map(() => '?').join(', ')})
  ON DUPLICATE KEY UPDATE ${OUTBOX_COLUMNS.filter((c) => c !== 'id')
    .map((c) => `${c} = VALUES(${c})`)
    .join(', ')}, status = 'queued', reason = NULL, detail = NULL, settled_at = NULL`;

export function openMysqlOutbox(
  url: string,
  opts: OutboxOpenOptions & { connectTimeoutMs?: number } = {},
): MysqlOutbox {
  const pool = openSidePool(url, opts.connectTimeoutMs);
  return new MysqlOutbox(pool, opts);
}

export class MysqlOutbox implements Outbox {
  /** the last write: the next one starts after it (call order) */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly pool: Pool,
    private readonly opts: OutboxOpenOptions = {},
  ) {}

  add(entry: OutboxEntry): Promise<void> {
    return this.chain(ADD_SQL, entryParams(entry));
  }

  settle(id: string, outcome: OutboxOutcome): Promise<void> {
    return this.chain(SETTLE_SQL, settleParams(id, outcome));
  }

  async queued(): Promise<OutboxRecord[]> {
    return this.select(`SELECT ${SELECT_COLUMNS} FROM msgbot_outbox WHERE status = 'queued' ORDER BY seq`, []);
  }

  async get(id: string): Promise<OutboxRecord | undefined> {
    return (await this.select(`SELECT ${SELECT_COLUMNS} FROM msgbot_outbox WHERE id = ?`, [id]))[0];
  }

  async ofRun(scheduleId: number, scheduledAt: string): Promise<OutboxRecord[]> {
    return this.select(
      `SELECT ${SELECT_COLUMNS} FROM msgbot_outbox WHERE schedule_id = ? AND scheduled_at = ? ORDER BY seq`,
      [scheduleId, scheduledAt],
    );
  }

  async deliveredOf(traceIds: readonly string[]): Promise<OutboxRecord[]> {
    const out: OutboxRecord[] = [];
    for (let i = 0; i < traceIds.length; i += TRACE_CHUNK) {
      const chunk = traceIds.slice(i, i + TRACE_CHUNK);
      out.push(...(await this.select(deliveredOfSql(chunk.length), chunk)));
    }
    return out;
  }

  prune(before: number): Promise<number> {
    return deleteInChunks(this.pool, `DELETE FROM msgbot_outbox WHERE ${PRUNABLE} ORDER BY seq LIMIT ${DELETE_CHUNK}`, [
      before,
      before,
    ]);
  }

  async migrate(): Promise<void> {
    await this.pool.query(MYSQL_OUTBOX_DDL);
    const [indexes] = await this.pool.query<RowDataPacket[]>(
      "SELECT 1 FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'msgbot_outbox' AND index_name = 'msgbot_outbox_trace'",
    );
    if (indexes.length === 0) await this.pool.query(MYSQL_TRACE_INDEX);
  }

  async close(): Promise<void> {
    await this.tail;
    await this.pool.end();
  }

  private chain(sql: string, params: unknown[]): Promise<void> {
    const write = this.tail.then(async () => {
      await this.pool.query(sql, params);
    });
    // a failed write does not stop the ones after it; the caller sees its own failure
    this.tail = write.catch(() => {});
    return write;
  }

  private async select(sql: string, params: unknown[]): Promise<OutboxRecord[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(sql, params);
    const out: OutboxRecord[] = [];
    for (const row of rows) {
      const decoded = decodeRow({ ...row });
      if (decoded.ok) {
        out.push(decoded.record);
        continue;
      }
      this.opts.onBadRow?.(String(row.id), decoded.error);
      await this.pool.query("UPDATE msgbot_outbox SET status = 'failed', detail = ?, settled_at = ? WHERE id = ?", [
        `unreadable row: ${decoded.error}`.slice(0, 500),
        Date.now(),
        row.id,
      ]);
    }
    return out;
  }
}
