/** kb_chat_logs, kb_ping_monitor, kb_system_monitor on MariaDB/MySQL: the telemetry writer's batches, retention. */
import { kstDateTime } from './kst.js';
import { MysqlPart } from './part-mysql.js';
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

/** Rows per multi-row INSERT. */
const BATCH_ROWS = 500;
/** Rows per DELETE in retention, so a big backlog never holds one long lock. */
const PRUNE_CHUNK = 5_000;

interface SchemaFacts {
  chatNullability: ChatLogNullability;
  /** bytes one INSERT may carry (half of max_allowed_packet leaves room for escaping) */
  packetBudget: number;
}

/** Log and telemetry writes for the MySQL store (mysql.ts). */
export class MysqlTelemetry extends MysqlPart implements TelemetryWrites {
  private facts: Promise<SchemaFacts> | undefined;

  /** After migrate(): the tables may have changed, so the facts are read again on next need. */
  forgetSchemaFacts(): void {
    this.facts = undefined;
  }

  /** Read once per migrate (or on first need): what the operator's tables accept. */
  private schemaFacts(): Promise<SchemaFacts> {
    this.facts ??= (async () => {
      const cols = await this.rows(
        `SELECT COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'kb_chat_logs'`,
        [],
      );
      const nullable = (name: string) => cols.some((c) => c.COLUMN_NAME === name && c.IS_NULLABLE === 'YES');
      const [packet] = await this.rows('SELECT @@max_allowed_packet AS max', []);
      return {
        chatNullability: {
          user_hash: nullable('user_hash'),
          log_id: nullable('log_id'),
          directive: nullable('directive'),
        },
        packetBudget: Math.max(1_048_576, Math.floor(Number(packet?.max ?? 4_194_304) / 2)),
      };
    })().catch((err: unknown) => {
      this.facts = undefined; // retry on the next call (the database may have been down)
      throw err;
    });
    return this.facts;
  }

  /**
   * One multi-row INSERT per 500 rows (and per half max_allowed_packet: 500 maximal Hangul
   * messages are ~100 MB). IGNORE because in strict mode one row that does not fit an operator's
   * column (a 195 KB message in a TEXT column, a NOT NULL column without default in an old table)
   * would fail the whole batch; with IGNORE that row is stored clipped and the others are kept.
   */
  private async insertBatched(
    table: string,
    columns: readonly string[],
    values: SqlValue[][],
    packetBudget: number,
  ): Promise<void> {
    const sql = `INSERT IGNORE INTO ${table} (${columns.join(', ')}) VALUES ?`;
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < values.length; i++) {
      const size = estimateBytes(values[i] ?? []);
      if (i > start && (i - start >= BATCH_ROWS || bytes + size > packetBudget)) {
        await this.pool.query(sql, [values.slice(start, i)]);
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    if (start < values.length) await this.pool.query(sql, [values.slice(start)]);
  }

  async insertChatLogs(rows: readonly ChatLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    const facts = await this.schemaFacts();
    const now = this.now();
    const values = rows.map((r) => chatLogValues(r, now, facts.chatNullability));
    await this.insertBatched('kb_chat_logs', CHAT_LOG_COLUMNS, values, facts.packetBudget);
  }

  async insertPings(rows: readonly PingRow[]): Promise<void> {
    if (rows.length === 0) return;
    const facts = await this.schemaFacts();
    const now = this.now();
    await this.insertBatched(
      'kb_ping_monitor',
      PING_COLUMNS,
      rows.map((r) => pingValues(r, now)),
      facts.packetBudget,
    );
  }

  async insertSystemSamples(rows: readonly SystemSampleRow[]): Promise<void> {
    if (rows.length === 0) return;
    const facts = await this.schemaFacts();
    const now = this.now();
    await this.insertBatched(
      'kb_system_monitor',
      SYSTEM_SAMPLE_COLUMNS,
      rows.map((r) => systemSampleValues(r, now)),
      facts.packetBudget,
    );
  }

  async pruneTelemetry(before: number): Promise<{ pings: number; samples: number }> {
    const cutoff = kstDateTime(before);
    return {
      pings: await this.pruneTable('kb_ping_monitor', cutoff),
      samples: await this.pruneTable('kb_system_monitor', cutoff),
    };
  }

  private async pruneTable(table: string, cutoff: string): Promise<number> {
    let total = 0;
    for (;;) {
      const res = await this.run(`DELETE FROM ${table} WHERE created_at < ? LIMIT ${PRUNE_CHUNK}`, [cutoff]);
      total += res.affectedRows;
      if (res.affectedRows < PRUNE_CHUNK) return total;
    }
  }
}

/** Upper bound of a row's size on the wire: 3 UTF-8 bytes per UTF-16 unit, plus separators. */
function estimateBytes(row: readonly SqlValue[]): number {
  let n = 16;
  for (const v of row) n += typeof v === 'string' ? v.length * 3 + 4 : 24;
  return n;
}
