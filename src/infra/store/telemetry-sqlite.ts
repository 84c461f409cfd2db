/** kb_chat_logs, kb_ping_monitor and kb_system_monitor on SQLite: the telemetry writer's batches and retention. */
import type Database from 'better-sqlite3';
import { kstDateTime } from './kst.js';
import { SqlitePart, type Statements } from './part-sqlite.js';
import {
  CHAT_LOG_COLUMNS,
  type ChatLogNullability,
  chatLogValues,
  PING_COLUMNS,
  pingValues,
  type SqlValue,
  SYSTEM_SAMPLE_COLUMNS,
  systemSampleValues,
} from './rows.js';
import type { TelemetryWrites } from './store-parts.js';
import type { ChatLogRow, PingRow, SystemSampleRow } from './types.js';

const CHAT_ROWS_PER_INSERT = 25;

type TelemetryStatements = Statements<
  'insertChatLog' | 'insertChatLogMany' | 'insertPing' | 'insertSystemSample' | 'prunePings' | 'pruneSamples'
> & { chatNullability: ChatLogNullability };

function prepareTelemetry(db: Database.Database): TelemetryStatements {
  const nullable = (column: string): boolean =>
    (
      db.prepare('SELECT "notnull" FROM pragma_table_info(?) WHERE name = ?').get('kb_chat_logs', column) as
        | { notnull: number }
        | undefined
    )?.notnull !== 1;
  const chatNullability: ChatLogNullability = {
    user_hash: nullable('user_hash'),
    log_id: nullable('log_id'),
    directive: nullable('directive'),
  };
  const insertInto = (table: string, columns: readonly string[], rows = 1) => {
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    return db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array(rows).fill(tuple).join(', ')}`);
  };
  return {
    chatNullability,
    insertChatLog: insertInto('kb_chat_logs', CHAT_LOG_COLUMNS),
    // one statement step per CHAT_ROWS_PER_INSERT rows: a chat log row per message is the busiest write
    insertChatLogMany: insertInto('kb_chat_logs', CHAT_LOG_COLUMNS, CHAT_ROWS_PER_INSERT),
    insertPing: insertInto('kb_ping_monitor', PING_COLUMNS),
    insertSystemSample: insertInto('kb_system_monitor', SYSTEM_SAMPLE_COLUMNS),
    prunePings: db.prepare('DELETE FROM kb_ping_monitor WHERE created_at < ?'),
    pruneSamples: db.prepare('DELETE FROM kb_system_monitor WHERE created_at < ?'),
  };
}

/** Log and telemetry writes for the SQLite store (sqlite.ts). */
export class SqliteTelemetry extends SqlitePart<TelemetryStatements> implements TelemetryWrites {
  protected readonly prepare = prepareTelemetry;

  /**
   * Batches are one transaction around a prepared single-row insert: in SQLite that is one
   * fsync per batch, as fast as a multi-row VALUES list and without a statement per batch size.
   */
  async insertChatLogs(rows: readonly ChatLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    const s = this.s;
    const now = this.now();
    this.db.transaction(() => {
      let i = 0;
      for (; i + CHAT_ROWS_PER_INSERT <= rows.length; i += CHAT_ROWS_PER_INSERT) {
        const values: SqlValue[] = [];
        for (let j = i; j < i + CHAT_ROWS_PER_INSERT; j++)
          values.push(...chatLogValues(rows[j]!, now, s.chatNullability));
        s.insertChatLogMany.run(values);
      }
      for (; i < rows.length; i++) s.insertChatLog.run(chatLogValues(rows[i]!, now, s.chatNullability));
    })();
  }

  async insertPings(rows: readonly PingRow[]): Promise<void> {
    if (rows.length === 0) return;
    const s = this.s;
    const now = this.now();
    this.db.transaction(() => {
      for (const row of rows) s.insertPing.run(pingValues(row, now));
    })();
  }

  async insertSystemSamples(rows: readonly SystemSampleRow[]): Promise<void> {
    if (rows.length === 0) return;
    const s = this.s;
    const now = this.now();
    this.db.transaction(() => {
      for (const row of rows) s.insertSystemSample.run(systemSampleValues(row, now));
    })();
  }

  async pruneTelemetry(before: number): Promise<{ pings: number; samples: number }> {
    const cutoff = kstDateTime(before);
    const s = this.s;
    return { pings: s.prunePings.run(cutoff).changes, samples: s.pruneSamples.run(cutoff).changes };
  }
}
