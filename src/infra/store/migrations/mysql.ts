import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { MigrationError } from '../errors.js';
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
const STATUS_ENUM = "ENUM('pending','approved','denied','revoked','blocked')";

const DATETIME_ADDED = 'DATETIME NULL DEFAULT NULL';

// PROTOCOL §8.1 (widths of the effective schema; [REC] UNIQUE(bot_name, device_id))
const botDevices: TableSpec = {
  name: 'kb_bot_devices',
  identity: ['bot_name', 'device_id'],
  columns: [
    { name: 'id', create: 'INT NOT NULL AUTO_INCREMENT' },
    { name: 'bot_name', create: 'VARCHAR(30) NOT NULL' },
    { name: 'device_id', create: 'VARCHAR(100) NOT NULL' },
    { name: 'ip_address', create: 'VARCHAR(45) NULL', add: 'VARCHAR(45) NULL' },
    { name: 'client_type', create: 'VARCHAR(50) NULL', add: 'VARCHAR(50) NULL' },
    { name: 'client_version', create: 'VARCHAR(20) NULL', add: 'VARCHAR(20) NULL' },
    {
      name: 'status',
      create: `${STATUS_ENUM} NOT NULL DEFAULT 'pending'`,
      add: `${STATUS_ENUM} NOT NULL DEFAULT 'pending'`,
    },
    { name: 'approved_at', create: 'DATETIME NULL', add: DATETIME_ADDED },
    { name: 'rejection_reason', create: 'TEXT NULL', add: 'TEXT NULL' },
    // §8.1 "(no DDL)": read at every handshake
    { name: 'max_message_size', create: 'INT NULL', add: 'INT NULL' },
    // back-office columns, created so the PHP back office works on a fresh database
    { name: 'image_resize_width', create: 'INT NULL DEFAULT 900' },
    { name: 'image_resize_enabled', create: 'TINYINT(1) NULL DEFAULT 1' },
    { name: 'description', create: 'TEXT NULL' },
    // §8.1: the back office writes this misspelt name
    { name: 'descryption', create: 'TEXT NULL' },
    { name: 'last_connected_at', create: 'DATETIME NULL' },
    { name: 'created_at', create: 'DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP', add: DATETIME_ADDED },
    { name: 'updated_at', create: 'DATETIME NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP', add: DATETIME_ADDED },
  ],
  keys: [
    'PRIMARY KEY (id)',
    'UNIQUE KEY uk_bot_device (bot_name, device_id)',
    'KEY idx_bot_name (bot_name)',
    'KEY idx_status (status)',
  ],
  uniqueKey: {
    name: 'uk_bot_device',
    columns: ['bot_name', 'device_id'],
    narrowerWarning:
      'kb_bot_devices keeps its UNIQUE key on device_id alone: registering a second bot on a phone that ' +
      'already serves one fails with KeyConflictError (no fail-open approval; PROTOCOL §8.1, §9 item 45). ' +
      'To allow it: ALTER TABLE kb_bot_devices DROP INDEX uk_device_id, ADD UNIQUE KEY uk_bot_device (bot_name, device_id)',
  },
};

// PROTOCOL §8.2
const rooms: TableSpec = {
  name: 'kb_rooms',
  identity: ['room_id', 'bot_name'],
  columns: [
    { name: 'room_id', create: 'VARCHAR(50) NOT NULL' },
    { name: 'bot_name', create: 'VARCHAR(30) NOT NULL' },
    // §8.2 note / §9 item 44: the reference bootstrap DDL lacks it
    { name: 'device_id', create: 'VARCHAR(255) NOT NULL', add: "VARCHAR(255) NOT NULL DEFAULT ''" },
    { name: 'room_name', create: 'VARCHAR(255) NOT NULL', add: "VARCHAR(255) NOT NULL DEFAULT ''" },
    { name: 'room_concurrency', create: 'INT NULL DEFAULT 1', add: 'INT NULL DEFAULT 1' },
    { name: 'room_owners', create: 'JSON NULL' },
    { name: 'owner_type', create: "ENUM('distributor','agency','branch') NULL" },
    { name: 'owner_id', create: 'VARCHAR(50) NULL' },
    {
      name: 'status',
      create: `${STATUS_ENUM} NOT NULL DEFAULT 'pending'`,
      add: `${STATUS_ENUM} NOT NULL DEFAULT 'pending'`,
    },
    { name: 'approved_at', create: 'DATETIME NULL', add: DATETIME_ADDED },
    { name: 'rejection_reason', create: 'TEXT NULL' },
    { name: 'description', create: 'TEXT NULL', add: 'TEXT NULL' },
    { name: 'log_settings', create: 'JSON NULL' },
    { name: 'created_at', create: 'DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP', add: DATETIME_ADDED },
    { name: 'updated_at', create: 'DATETIME NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP', add: DATETIME_ADDED },
  ],
  keys: [
    'PRIMARY KEY (room_id, bot_name, device_id)',
    'KEY idx_bot_name (bot_name)',
    'KEY idx_status (status)',
    'KEY idx_owner (owner_type, owner_id)',
    'KEY idx_device_id (device_id)',
    'KEY idx_bot_device (bot_name, device_id)',
    'KEY idx_room_bot (room_id, bot_name)',
    'KEY idx_room_device (room_id, device_id)',
  ],
  uniqueKey: {
    name: 'uk_room_bot_device',
    columns: ['room_id', 'bot_name', 'device_id'],
    narrowerWarning:
      'kb_rooms has a primary/unique key narrower than (room_id, bot_name, device_id): a room relayed by a ' +
      'second bot or phone cannot be registered and fails with KeyConflictError (PROTOCOL §8.2, §9 item 44)',
  },
};

// PROTOCOL §8.3. message is MEDIUMTEXT ([REC], §9 item 46); created_at is DATETIME rather than the
// reference TIMESTAMP so that it is naive KST like every other time (§8.0) and outlives 2038.
const chatLogs: TableSpec = {
  name: 'kb_chat_logs',
  identity: [],
  columns: [
    { name: 'id', create: 'INT NOT NULL AUTO_INCREMENT' },
    { name: 'channel_id', create: "VARCHAR(50) NULL DEFAULT ''", add: "VARCHAR(50) NULL DEFAULT ''" },
    { name: 'user_hash', create: "VARCHAR(100) NULL DEFAULT ''", add: "VARCHAR(100) NULL DEFAULT ''" },
    { name: 'room_name', create: "VARCHAR(255) NULL DEFAULT ''", add: "VARCHAR(255) NULL DEFAULT ''" },
    { name: 'sender', create: "VARCHAR(100) NULL DEFAULT ''", add: "VARCHAR(100) NULL DEFAULT ''" },
    { name: 'message', create: 'MEDIUMTEXT NULL', add: 'MEDIUMTEXT NULL' },
    { name: 'directive', create: 'VARCHAR(30) NULL', add: 'VARCHAR(30) NULL' },
    { name: 'message_type', create: "VARCHAR(20) NOT NULL DEFAULT 'text'", add: "VARCHAR(20) NOT NULL DEFAULT 'text'" },
    { name: 'is_meaningful', create: 'TINYINT(1) NOT NULL DEFAULT 0', add: 'TINYINT(1) NOT NULL DEFAULT 0' },
    { name: 'bot_name', create: "VARCHAR(30) NULL DEFAULT ''", add: "VARCHAR(30) NULL DEFAULT ''" },
    { name: 'is_mention', create: 'TINYINT(1) NOT NULL DEFAULT 0', add: 'TINYINT(1) NOT NULL DEFAULT 0' },
    { name: 'is_group_chat', create: 'TINYINT(1) NOT NULL DEFAULT 0', add: 'TINYINT(1) NOT NULL DEFAULT 0' },
    { name: 'log_id', create: "VARCHAR(50) NULL DEFAULT ''", add: "VARCHAR(50) NULL DEFAULT ''" },
    { name: 'client_timestamp', create: 'DATETIME NULL', add: DATETIME_ADDED },
    { name: 'server_timestamp', create: 'DATETIME NULL DEFAULT CURRENT_TIMESTAMP', add: DATETIME_ADDED },
    { name: 'is_bot', create: 'TINYINT(1) NULL DEFAULT 0' },
    { name: 'is_our_bot_response', create: 'TINYINT(1) NOT NULL DEFAULT 0', add: 'TINYINT(1) NOT NULL DEFAULT 0' }, // written for our own sends (PROTOCOL §8.3 [REC])
    { name: 'is_scheduled', create: 'TINYINT(1) NOT NULL DEFAULT 0', add: 'TINYINT(1) NOT NULL DEFAULT 0' }, // written for our own sends (PROTOCOL §8.3 [REC])
    { name: 'created_at', create: 'DATETIME NULL DEFAULT CURRENT_TIMESTAMP', add: DATETIME_ADDED },
  ],
  keys: [
    'PRIMARY KEY (id)',
    'KEY idx_channel_id (channel_id)',
    'KEY idx_user_hash (user_hash)',
    'KEY idx_room_name (room_name)',
    'KEY idx_created_at (created_at)',
  ],
};

// PROTOCOL §8.4: every column the server writes (several have no DDL in the reference sources)
const pingMonitor: TableSpec = {
  name: 'kb_ping_monitor',
  identity: [],
  columns: [
    { name: 'id', create: 'BIGINT NOT NULL AUTO_INCREMENT' },
    { name: 'bot_name', create: 'VARCHAR(50) NOT NULL', add: "VARCHAR(50) NOT NULL DEFAULT ''" },
    { name: 'device_id', create: 'VARCHAR(100) NOT NULL', add: "VARCHAR(100) NOT NULL DEFAULT ''" },
    { name: 'client_ip', create: "VARCHAR(45) NOT NULL DEFAULT ''", add: "VARCHAR(45) NULL DEFAULT ''" },
    { name: 'ping_time_ms', create: 'INT NOT NULL DEFAULT 0', add: 'INT NULL DEFAULT 0' },
    { name: 'client_timestamp', create: 'DATETIME NULL', add: DATETIME_ADDED },
    { name: 'server_timestamp', create: 'DATETIME NULL', add: DATETIME_ADDED },
    { name: 'total_memory', create: 'DECIMAL(10,2) NULL DEFAULT 0', add: 'DECIMAL(10,2) NULL DEFAULT 0' },
    { name: 'memory_usage', create: 'DECIMAL(10,2) NULL DEFAULT 0', add: 'DECIMAL(10,2) NULL DEFAULT 0' },
    { name: 'memory_percent', create: 'DECIMAL(5,2) NULL DEFAULT 0', add: 'DECIMAL(5,2) NULL DEFAULT 0' },
    { name: 'message_queue_size', create: 'INT NULL DEFAULT 0', add: 'INT NULL DEFAULT 0' },
    { name: 'active_rooms', create: 'INT NULL DEFAULT 0', add: 'INT NULL DEFAULT 0' },
    { name: 'process_name', create: 'VARCHAR(100) NULL', add: 'VARCHAR(100) NULL' },
    { name: 'server_cpu_usage', create: 'DECIMAL(5,2) NULL DEFAULT 0.00', add: 'DECIMAL(5,2) NULL DEFAULT 0.00' },
    { name: 'server_cpu_max', create: 'DECIMAL(5,2) NULL DEFAULT 0.00', add: 'DECIMAL(5,2) NULL DEFAULT 0.00' },
    {
      name: 'server_memory_usage',
      create: 'DECIMAL(10,2) NULL DEFAULT 0.00',
      add: 'DECIMAL(10,2) NULL DEFAULT 0.00',
    },
    { name: 'server_memory_max', create: 'DECIMAL(10,2) NULL DEFAULT 0.00', add: 'DECIMAL(10,2) NULL DEFAULT 0.00' },
    // read (optionally) by the back office
    { name: 'client_status', create: 'JSON NULL' },
    { name: 'created_at', create: 'DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP', add: DATETIME_ADDED },
  ],
  keys: ['PRIMARY KEY (id)', 'KEY idx_bot_device (bot_name, device_id)', 'KEY idx_created_at (created_at)'],
  timeIndex: { name: 'idx_created_at', column: 'created_at' },
};

// PROTOCOL §8.5 "(no DDL)": the columns the writer fills, plus an id and an insert time
const systemMonitor: TableSpec = {
  name: 'kb_system_monitor',
  identity: [],
  columns: [
    { name: 'id', create: 'BIGINT NOT NULL AUTO_INCREMENT' },
    { name: 'server_name', create: "VARCHAR(100) NOT NULL DEFAULT ''", add: "VARCHAR(100) NULL DEFAULT ''" },
    { name: 'cpu_percent', create: 'DECIMAL(5,2) NULL DEFAULT 0', add: 'DECIMAL(5,2) NULL DEFAULT 0' },
    { name: 'memory_total', create: 'BIGINT NULL DEFAULT 0', add: 'BIGINT NULL DEFAULT 0' },
    { name: 'memory_used', create: 'BIGINT NULL DEFAULT 0', add: 'BIGINT NULL DEFAULT 0' },
    { name: 'memory_percent', create: 'DECIMAL(5,2) NULL DEFAULT 0', add: 'DECIMAL(5,2) NULL DEFAULT 0' },
    { name: 'disk_usage_percent', create: 'DECIMAL(5,2) NULL DEFAULT 0', add: 'DECIMAL(5,2) NULL DEFAULT 0' },
    { name: 'active_connections', create: 'INT NULL DEFAULT 0', add: 'INT NULL DEFAULT 0' },
    { name: 'message_queue_size', create: 'INT NULL DEFAULT 0', add: 'INT NULL DEFAULT 0' },
    { name: 'created_at', create: 'DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP', add: DATETIME_ADDED },
  ],
  keys: ['PRIMARY KEY (id)', 'KEY idx_created_at (created_at)'],
  timeIndex: { name: 'idx_created_at', column: 'created_at' },
};

export const MYSQL_TABLES: readonly TableSpec[] = [
  botDevices,
  rooms,
  chatLogs,
  pingMonitor,
  systemMonitor,
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
