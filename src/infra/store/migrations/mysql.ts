import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { MigrationError } from '../errors.js';
import { CORE_MYSQL_TABLES } from './core-tables-mysql.js';
import type { TableSpec } from './mysql-table-spec.js';
import type { MigrationReport } from './report.js';
import { SCHEDULE_MYSQL_TABLES } from './schedule-tables-mysql.js';

/**
 * MariaDB/MySQL migration: creates the effective schema of PROTOCOL §8.1–§8.5 where a
 * table is missing and, in an operator's existing table, only ADDS what the server needs: a
 * missing column, the unique key we upsert on (when no narrower one exists), a time index for
 * retention. Nothing is dropped, retyped or rewritten. Every step first looks at
 * information_schema, so a second run issues no DDL at all, and plain `ADD COLUMN` works on
 * MySQL as well as MariaDB.
 */

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

export const MYSQL_TABLES: readonly TableSpec[] = [
  // PROTOCOL §8.1–§8.5
  ...CORE_MYSQL_TABLES,
  // PROTOCOL §8.6–§8.9
  ...SCHEDULE_MYSQL_TABLES,
];

/** A named lock so two gateways starting at once do not race their DDL. */
const LOCK_NAME = 'msgbot_gateway_migrate';
const LOCK_WAIT_S = 60;

interface ColumnInfo extends RowDataPacket {
  TABLE_NAME: string;
  COLUMN_NAME: string;
  DATA_TYPE: string;
  CHARACTER_SET_NAME: string | null;
}
interface IndexInfo extends RowDataPacket {
  INDEX_NAME: string;
  NON_UNIQUE: number | string;
  SEQ_IN_INDEX: number | string;
  COLUMN_NAME: string;
}

/** Runs on one dedicated connection (the lock belongs to the session). */
export async function migrateMysql(conn: PoolConnection): Promise<MigrationReport> {
  const report: MigrationReport = { createdTables: [], addedColumns: [], addedIndexes: [], warnings: [] };
  const [lock] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [LOCK_NAME, LOCK_WAIT_S]);
  if (Number(lock[0]?.got) !== 1) throw new MigrationError(`could not take the migration lock within ${LOCK_WAIT_S}s`);
  try {
    const [dbRows] = await conn.query<RowDataPacket[]>('SELECT DATABASE() AS db');
    if (!dbRows[0]?.db) throw new MigrationError('the MySQL URL names no database (mysql://user:pass@host:3306/<db>)');
    for (const spec of MYSQL_TABLES) await migrateTable(conn, spec, report);
  } finally {
    await conn.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]);
  }
  return report;
}

async function migrateTable(conn: PoolConnection, spec: TableSpec, report: MigrationReport): Promise<void> {
  const columns = await readColumns(conn, spec.name);
  if (columns.size === 0) {
    const body = [...spec.columns.map((c) => `\`${c.name}\` ${c.create}`), ...spec.keys].join(',\n  ');
    await conn.query(`CREATE TABLE IF NOT EXISTS \`${spec.name}\` (\n  ${body}\n) ${TABLE_OPTIONS}`);
    report.createdTables.push(spec.name);
    return;
  }

  const missingIdentity = spec.identity.filter((c) => !columns.has(c));
  if (missingIdentity.length > 0) {
    throw new MigrationError(
      `${spec.name} exists but has no ${missingIdentity.join(', ')} column: it is not a table this server can use`,
    );
  }

  // One ALTER for all missing columns: a single table rebuild at most.
  const toAdd = spec.columns.filter((c) => c.add !== undefined && !columns.has(c.name));
  if (toAdd.length > 0) {
    const clauses = toAdd.map((c) => `ADD COLUMN \`${c.name}\` ${c.add}`).join(', ');
    await conn.query(`ALTER TABLE \`${spec.name}\` ${clauses}`);
    for (const c of toAdd) report.addedColumns.push(`${spec.name}.${c.name}`);
  }

  if (spec.uniqueKey || spec.timeIndex) {
    const indexes = await readIndexes(conn, spec.name);
    if (spec.uniqueKey) await ensureUniqueKey(conn, spec.name, spec.uniqueKey, indexes, report);
    if (spec.timeIndex && ![...indexes.values()].some((ix) => ix.columns[0] === spec.timeIndex?.column)) {
      await conn.query(
        `ALTER TABLE \`${spec.name}\` ADD INDEX \`${spec.timeIndex.name}\` (\`${spec.timeIndex.column}\`)`,
      );
      report.addedIndexes.push(`${spec.name}.${spec.timeIndex.name}`);
    }
  }

  warnAboutColumns(spec.name, columns, report);
}

async function readColumns(conn: PoolConnection, table: string): Promise<Map<string, ColumnInfo>> {
  const [rows] = await conn.query<ColumnInfo[]>(
    `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  );
  return new Map(rows.map((r) => [r.COLUMN_NAME, r]));
}

async function readIndexes(
  conn: PoolConnection,
  table: string,
): Promise<Map<string, { unique: boolean; columns: string[] }>> {
  const [rows] = await conn.query<IndexInfo[]>(
    `SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [table],
  );
  const out = new Map<string, { unique: boolean; columns: string[] }>();
  for (const r of rows) {
    let ix = out.get(r.INDEX_NAME);
    if (!ix) {
      ix = { unique: Number(r.NON_UNIQUE) === 0, columns: [] };
      out.set(r.INDEX_NAME, ix);
    }
    ix.columns.push(r.COLUMN_NAME);
  }
  return out;
}

/**
 * The upserts need a unique key over the row identity. A unique key over a strict subset of it
 * (the old `uk_device_id`) is left alone — dropping an operator's key is not ours to do — and the
 * store reports the resulting conflicts loudly (KeyConflictError) instead.
 */
async function ensureUniqueKey(
  conn: PoolConnection,
  table: string,
  key: NonNullable<TableSpec['uniqueKey']>,
  indexes: Map<string, { unique: boolean; columns: string[] }>,
  report: MigrationReport,
): Promise<void> {
  const within = [...indexes.values()].filter((ix) => ix.unique && ix.columns.every((c) => key.columns.includes(c)));
  if (within.some((ix) => ix.columns.length === key.columns.length)) return;
  if (within.length > 0) {
    report.warnings.push(key.narrowerWarning);
    return;
  }
  const cols = key.columns.map((c) => `\`${c}\``).join(', ');
  try {
    await conn.query(`ALTER TABLE \`${table}\` ADD UNIQUE KEY \`${key.name}\` (${cols})`);
    report.addedIndexes.push(`${table}.${key.name}`);
  } catch (err) {
    // ER_DUP_ENTRY: the operator's rows already repeat an identity; keep them, say so.
    if ((err as { errno?: number }).errno !== 1062) throw err;
    report.warnings.push(
      `${table} has rows repeating (${key.columns.join(', ')}), so no unique key could be added: ` +
        'concurrent first registrations of one identity may insert duplicates until they are merged',
    );
  }
}

/** Things we must not fix ourselves (no retyping) but an operator should know about. */
function warnAboutColumns(table: string, columns: Map<string, ColumnInfo>, report: MigrationReport): void {
  const message = columns.get('message');
  if (table === 'kb_chat_logs' && message && ['text', 'tinytext', 'varchar'].includes(message.DATA_TYPE)) {
    report.warnings.push(
      `kb_chat_logs.message is ${message.DATA_TYPE.toUpperCase()}: a 65,000-character Hangul message (about 195 KB) ` +
        'is stored cut to the column size (PROTOCOL §8.3, §9 item 46). To keep it whole: ' +
        'ALTER TABLE kb_chat_logs MODIFY message MEDIUMTEXT',
    );
  }
  const narrow = [...columns.values()]
    .filter((c) => c.CHARACTER_SET_NAME !== null && c.CHARACTER_SET_NAME !== 'utf8mb4')
    .map((c) => c.COLUMN_NAME);
  if (narrow.length > 0) {
    report.warnings.push(
      `${table}: columns ${narrow.join(', ')} are not utf8mb4, so emoji in them cannot be stored (PROTOCOL §8.0)`,
    );
  }
}
