import type Database from 'better-sqlite3';
import type { Outbox, OutboxEntry, OutboxOutcome, OutboxRecord } from '../../actors/outbox.js';
import { openSideDatabase } from '../sqlite-side-db.js';
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

/**
 * The durable send record in SQLite (DESIGN.md §2 outbound path), its own table of the gateway's
 * database file on its own connection (WAL, like the durable mailbox). Writes are synchronous:
 * API and scheduled sends are few, and a send's row is committed before its packet leaves the
 * process (the connection's writes leave after the turn), so a crash cannot deliver it twice.
 */
export const SQLITE_OUTBOX_DDL = `CREATE TABLE IF NOT EXISTS msgbot_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  bot_name TEXT NOT NULL,
  device_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  accepted_at INTEGER NOT NULL,
  owner TEXT NOT NULL,
  content TEXT,
  schedule_id INTEGER,
  scheduled_at TEXT,
  component TEXT,
  status TEXT NOT NULL DEFAULT 'queued',
  reason TEXT,
  detail TEXT,
  settled_at INTEGER
);
CREATE INDEX IF NOT EXISTS msgbot_outbox_status ON msgbot_outbox (status);
CREATE INDEX IF NOT EXISTS msgbot_outbox_run ON msgbot_outbox (schedule_id, scheduled_at);
CREATE INDEX IF NOT EXISTS msgbot_outbox_trace ON msgbot_outbox (trace_id)`;

export interface OutboxOpenOptions {
  /** a stored row that cannot be read back (it is marked failed, never re-submitted) */
  onBadRow?: (id: string, error: string) => void;
}

export function openSqliteOutbox(file: string, opts: OutboxOpenOptions = {}): SqliteOutbox {
  const db = openSideDatabase(file);
  return new SqliteOutbox(db, opts);
}

type Statements = ReturnType<typeof prepare>;

const PRUNE_CHUNK = 2_000;
const updates = OUTBOX_COLUMNS.filter((c) => c !== 'id')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

function prepare(db: Database.Database) {
  return {
    add: db.prepare(
      `INSERT INTO msgbot_outbox (${OUTBOX_COLUMNS.join(', ')}) VALUES (${OUTBOX_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (id) DO UPDATE SET ${updates}, status = 'queued', reason = NULL, detail = NULL, settled_at = NULL`,
    ),
    settle: db.prepare(SETTLE_SQL),
    queued: db.prepare(`SELECT ${SELECT_COLUMNS} FROM msgbot_outbox WHERE status = 'queued' ORDER BY seq`),
    get: db.prepare(`SELECT ${SELECT_COLUMNS} FROM msgbot_outbox WHERE id = ?`),
    ofRun: db.prepare(
      `SELECT ${SELECT_COLUMNS} FROM msgbot_outbox WHERE schedule_id = ? AND scheduled_at = ? ORDER BY seq`,
    ),
    bad: db.prepare(
      "UPDATE msgbot_outbox SET status = 'failed', reason = NULL, detail = ?, settled_at = ? WHERE id = ?",
    ),
    prune: db.prepare(
      `DELETE FROM msgbot_outbox WHERE seq IN (SELECT seq FROM msgbot_outbox WHERE ${PRUNABLE} LIMIT ?)`,
    ),
  };
}

export class SqliteOutbox implements Outbox {
  private statements: Statements | undefined;

  constructor(
    readonly db: Database.Database,
    private readonly opts: OutboxOpenOptions = {},
  ) {}

  add(entry: OutboxEntry): void {
    this.stmts().add.run(...entryParams(entry));
  }

  settle(id: string, outcome: OutboxOutcome): void {
    this.stmts().settle.run(...settleParams(id, outcome));
  }

  async queued(): Promise<OutboxRecord[]> {
    return this.decodeAll(this.stmts().queued.all());
  }

  async get(id: string): Promise<OutboxRecord | undefined> {
    const row = this.stmts().get.get(id);
    return row === undefined ? undefined : this.decodeAll([row])[0];
  }

  async ofRun(scheduleId: number, scheduledAt: string): Promise<OutboxRecord[]> {
    return this.decodeAll(this.stmts().ofRun.all(scheduleId, scheduledAt));
  }

  async deliveredOf(traceIds: readonly string[]): Promise<OutboxRecord[]> {
    const rows: unknown[] = [];
    for (let i = 0; i < traceIds.length; i += TRACE_CHUNK) {
      const chunk = traceIds.slice(i, i + TRACE_CHUNK);
      rows.push(...this.db.prepare(deliveredOfSql(chunk.length)).all(...chunk));
    }
    return this.decodeAll(rows);
  }

  async prune(before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const changes = this.stmts().prune.run(before, before, PRUNE_CHUNK).changes;
      total += changes;
      if (changes < PRUNE_CHUNK) return total;
      await new Promise((r) => setImmediate(r)); // let the message path run between chunks
    }
  }

  async migrate(): Promise<void> {
    this.db.exec(SQLITE_OUTBOX_DDL);
    this.statements = prepare(this.db);
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private decodeAll(rows: unknown[]): OutboxRecord[] {
    const out: OutboxRecord[] = [];
    for (const row of rows) {
      const decoded = decodeRow(row);
      if (decoded.ok) {
        out.push(decoded.record);
        continue;
      }
      const id = String((row as { id?: unknown }).id);
      this.opts.onBadRow?.(id, decoded.error);
      this.stmts().bad.run(`unreadable row: ${decoded.error}`.slice(0, 500), Date.now(), id);
    }
    return out;
  }

  private stmts(): Statements {
    this.statements ??= prepare(this.db);
    return this.statements;
  }
}
