import type Database from 'better-sqlite3';
import type { Inbox, InboxKey, InboxStatus, UnfinishedMessage } from '../../actors/inbox.js';
import type { ChatMessage } from '../../actors/job.js';
import { openSideDatabase } from '../sqlite-side-db.js';
import { decodeMessage, encodeMessage, type InboxOp } from './codec.js';

/**
 * The durable mailbox in SQLite (DESIGN.md §2), in its own table of the gateway's database file,
 * on its own connection (WAL lets it write beside the store's). `seq` is AUTOINCREMENT so a pruned
 * rowid is never handed out again. A finish updates by primary key: the seq of every unfinished
 * message is remembered from its insert (or from `unfinished()` after a restart).
 */
export const SQLITE_INBOX_DDL = `CREATE TABLE IF NOT EXISTS msgbot_inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  trace_id TEXT NOT NULL,
  bot_name TEXT NOT NULL,
  device_id TEXT NOT NULL,
  channel_id TEXT,
  log_id TEXT,
  received_at INTEGER NOT NULL,
  message TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  finished_at INTEGER,
  replies_written INTEGER NOT NULL DEFAULT 0
)`;

/** Added after the first release: a table created before it gets the column at `migrate`. */
const SQLITE_REPLIES_WRITTEN = 'ALTER TABLE msgbot_inbox ADD COLUMN replies_written INTEGER NOT NULL DEFAULT 0';

export interface SqliteInboxOptions {
  /** called for a stored row that cannot be read back (it is marked failed, never replayed) */
  onBadRow?: (seq: number, error: string) => void;
}

export function openSqliteInbox(file: string, opts: SqliteInboxOptions = {}): SqliteInbox {
  const db = openSideDatabase(file);
  return new SqliteInbox(db, opts);
}

type Statements = ReturnType<typeof prepare>;

const PRUNE_CHUNK = 2_000;

function prepare(db: Database.Database) {
  return {
    insert: db.prepare(
      'INSERT INTO msgbot_inbox (trace_id, bot_name, device_id, channel_id, log_id, received_at, message) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    finish: db.prepare('UPDATE msgbot_inbox SET status = ?, finished_at = ? WHERE seq = ?'),
    replied: db.prepare('UPDATE msgbot_inbox SET replies_written = ? WHERE seq = ?'),
    unfinished: db.prepare(
      "SELECT seq, message, replies_written FROM msgbot_inbox WHERE status = 'pending' ORDER BY seq",
    ),
    recent: db
      .prepare('SELECT bot_name, device_id, channel_id, log_id, received_at FROM msgbot_inbox WHERE received_at >= ?')
      .raw(),
    // in chunks, oldest first (rowid order), so a prune never blocks the event loop for long
    prune: db.prepare(
      "DELETE FROM msgbot_inbox WHERE seq IN (SELECT seq FROM msgbot_inbox WHERE status <> 'pending' AND finished_at < ? LIMIT ?)",
    ),
  };
}

export class SqliteInbox implements Inbox {
  private ops: InboxOp[] = [];
  private statements: Statements | undefined;
  /** trace id → seq of every message appended or read back and not finished yet */
  private readonly seqOf = new Map<string, number | bigint>();
  private readonly write: (ops: InboxOp[]) => void;

  constructor(
    readonly db: Database.Database,
    private readonly opts: SqliteInboxOptions = {},
  ) {
    this.write = db.transaction((ops: InboxOp[]) => {
      const s = this.stmts();
      for (const op of ops) {
        if (op.kind === 'append') {
          const m = op.message;
          const info = s.insert.run(
            m.traceId,
            m.botName,
            m.deviceId,
            m.channelId,
            m.logId,
            m.receivedAt,
            encodeMessage(m),
          );
          this.seqOf.set(m.traceId, info.lastInsertRowid);
        } else if (op.kind === 'replied') {
          const seq = this.seqOf.get(op.traceId);
          if (seq !== undefined) s.replied.run(op.count, seq);
        } else {
          const seq = this.seqOf.get(op.traceId);
          if (seq === undefined) continue; // never appended (e.g. a job of limited standing)
          this.seqOf.delete(op.traceId);
          s.finish.run(op.status, op.at, seq);
        }
      }
    });
  }

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

  flush(): void {
    if (this.ops.length === 0) return;
    const ops = this.ops;
    this.ops = [];
    this.write(ops);
  }

  async unfinished(): Promise<UnfinishedMessage[]> {
    const out: UnfinishedMessage[] = [];
    const rows = this.stmts().unfinished.all() as { seq: number; message: string; replies_written: number }[];
    const bad: number[] = [];
    for (const row of rows) {
      const decoded = decodeMessage(row.message);
      if (decoded.ok) {
        this.seqOf.set(decoded.message.traceId, row.seq);
        out.push({ message: decoded.message, repliesWritten: row.replies_written });
      } else {
        bad.push(row.seq);
        this.opts.onBadRow?.(row.seq, decoded.error);
      }
    }
    for (const seq of bad) this.stmts().finish.run('failed', Date.now(), seq);
    return out;
  }

  async recent(since: number): Promise<InboxKey[]> {
    const rows = this.stmts().recent.all(since) as [string, string, string | null, string | null, number][];
    return rows.map(([botName, deviceId, channelId, logId, receivedAt]) => ({
      botName,
      deviceId,
      channelId,
      logId,
      receivedAt,
    }));
  }

  async prune(before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const changes = this.stmts().prune.run(before, PRUNE_CHUNK).changes;
      total += changes;
      if (changes < PRUNE_CHUNK) return total;
      await new Promise((r) => setImmediate(r)); // let the message path run between chunks
    }
  }

  async migrate(): Promise<void> {
    this.db.exec(SQLITE_INBOX_DDL);
    const columns = this.db.prepare('PRAGMA table_info(msgbot_inbox)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'replies_written')) this.db.exec(SQLITE_REPLIES_WRITTEN);
    this.statements = prepare(this.db);
  }

  async close(): Promise<void> {
    this.flush();
    this.db.close();
  }

  private stmts(): Statements {
    this.statements ??= prepare(this.db);
    return this.statements;
  }
}
