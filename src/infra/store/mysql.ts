import mysql, { type Pool, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import type { Clock } from '../clock.js';
import { type ChatHistoryEntry, type ChatHistoryQuery, chatHistoryMysql } from './chat-history.js';
import { DEVICE_KEY_HINT, KeyConflictError, ROOM_KEY_HINT } from './errors.js';
import { kstDateTime } from './kst.js';
import { migrateMysql } from './migrations/mysql.js';
import type { MigrationReport } from './migrations/report.js';
import { mysqlProcesses } from './processes-mysql.js';
import {
  CHAT_LOG_COLUMNS,
  type ChatLogNullability,
  chatLogValues,
  DEVICE_SELECT,
  PING_COLUMNS,
  pingValues,
  ROOM_SELECT,
  roomAutoDescription,
  type SqlValue,
  SYSTEM_SAMPLE_COLUMNS,
  systemSampleValues,
  toDeviceRow,
  toRoomRow,
  toRoomStatusRows,
} from './rows.js';
import type { ProcessStore, ScheduleStore } from './schedule-types.js';
import { mysqlSchedules } from './schedules-mysql.js';
import type {
  ChatLogRow,
  DeviceKey,
  DeviceRow,
  HandshakeIdentity,
  KnownStatus,
  PingRow,
  RoomKey,
  RoomRow,
  RoomStatusRow,
  Store,
  SystemSampleRow,
} from './types.js';

export interface MysqlStoreOptions {
  connectTimeoutMs?: number;
  poolSize?: number;
  /** time source for created_at/updated_at and the like (tests pass a fake) */
  clock?: Pick<Clock, 'now'>;
}

export interface MysqlStore extends Store {
  readonly dialect: 'mysql';
  /** what the last migrate() did, including warnings for the operator */
  readonly lastMigration: MigrationReport | undefined;
  /** PROTOCOL §7.12, §8.6–§8.7 */
  readonly schedules: ScheduleStore;
  /** PROTOCOL §7.13, §8.8–§8.9 */
  readonly processes: ProcessStore;
}

/** Rows per multi-row INSERT. */
const BATCH_ROWS = 500;
/** Rows per DELETE in retention, so a big backlog never holds one long lock. */
const PRUNE_CHUNK = 5_000;
const KEY_CHUNK = 500;
const ER_LOCK_DEADLOCK = 1213;
const ER_LOCK_WAIT_TIMEOUT = 1205;

/**
 * MariaDB/MySQL store over the operators' kb_* tables (PROTOCOL §8). Opening only builds the
 * pool: nothing connects until the first query, so a gateway can start while the database is
 * down and migrate() (or the first write) tells the caller.
 */
export async function openMysqlStore(url: string, opts: MysqlStoreOptions = {}): Promise<MysqlStore> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'mysql:') throw new Error(`not a mysql:// URL: ${redact(parsed)}`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`the MySQL URL names no database: ${redact(parsed)} (mysql://user:pass@host:3306/db)`);
  const pool = mysql.createPool({
    host: decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, '')) || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    // PROTOCOL §8.0: utf8mb4 / utf8mb4_unicode_ci on the connection
    charset: 'UTF8MB4_UNICODE_CI',
    // §8.0: DATETIMEs are naive KST text; we write formatted strings and read strings back
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    // affectedRows = rows really changed, so an upsert tells insert (1) from update (2, or 0)
    flags: ['-FOUND_ROWS'],
    connectTimeout: opts.connectTimeoutMs ?? 10_000,
    connectionLimit: opts.poolSize ?? 10,
    waitForConnections: true,
    queueLimit: 0,
    enableKeepAlive: true,
    resetOnRelease: false,
  });
  // Defaults (CURRENT_TIMESTAMP, ON UPDATE) and any operator TIMESTAMP column then agree with the
  // KST text we write ourselves (§0.2: the database session is assumed to run on KST). The
  // 'connection' event fires before the connection is handed out, so this runs first on it.
  // (The core pool's event: it hands out the callback connection the promise typings hide.)
  pool.pool.on('connection', (conn) => {
    conn.query("SET time_zone = '+09:00'", () => {
      // A failure here surfaces on the connection's next query; nothing to do in the callback.
    });
  });
  return new MysqlStoreImpl(pool, opts.clock ?? { now: Date.now });
}

function redact(u: URL): string {
  const copy = new URL(u.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}

interface SchemaFacts {
  chatNullability: ChatLogNullability;
  /** bytes one INSERT may carry (half of max_allowed_packet leaves room for escaping) */
  packetBudget: number;
}

class MysqlStoreImpl implements MysqlStore {
  private scheduleStore: ScheduleStore | undefined;
  private processStore: ProcessStore | undefined;
  get schedules(): ScheduleStore {
    this.scheduleStore ??= mysqlSchedules(this.pool);
    return this.scheduleStore;
  }
  get processes(): ProcessStore {
    this.processStore ??= mysqlProcesses(this.pool);
    return this.processStore;
  }
  readonly dialect = 'mysql' as const;
  lastMigration: MigrationReport | undefined;
  private facts: Promise<SchemaFacts> | undefined;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  private now(): string {
    return kstDateTime(this.clock.now());
  }

  private async run(sql: string, params: unknown[]): Promise<ResultSetHeader> {
    const [res] = await this.pool.query<ResultSetHeader>(sql, params);
    return res;
  }

  /**
   * For the upserts: InnoDB may pick one of several concurrent inserts of the same new key as a
   * deadlock victim; the statement is idempotent, so running it again is the whole fix.
   */
  private async upsert(sql: string, params: unknown[]): Promise<ResultSetHeader> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.run(sql, params);
      } catch (err) {
        const errno = (err as { errno?: number }).errno;
        if (attempt >= 3 || (errno !== ER_LOCK_DEADLOCK && errno !== ER_LOCK_WAIT_TIMEOUT)) throw err;
      }
    }
  }

  private async rows(sql: string, params: unknown[]): Promise<RowDataPacket[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(sql, params);
    return rows;
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

  async migrate(): Promise<void> {
    const conn = await this.pool.getConnection();
    try {
      this.lastMigration = await migrateMysql(conn);
    } finally {
      conn.release();
    }
    this.facts = undefined;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async selectDevice(bot: string, dev: string): Promise<DeviceRow | undefined> {
    const [raw] = await this.rows(`SELECT ${DEVICE_SELECT} FROM kb_bot_devices WHERE bot_name = ? AND device_id = ?`, [
      bot,
      dev,
    ]);
    return raw === undefined ? undefined : toDeviceRow(raw);
  }

  /** The row of our key after an upsert; its absence means a narrower unique key swallowed it. */
  private async deviceOrConflict(bot: string, dev: string): Promise<DeviceRow> {
    const row = await this.selectDevice(bot, dev);
    if (row) return row;
    const [holder] = await this.rows('SELECT bot_name, device_id FROM kb_bot_devices WHERE device_id = ? LIMIT 1', [
      dev,
    ]);
    throw new KeyConflictError(
      'kb_bot_devices',
      { bot_name: bot, device_id: dev },
      holder as Record<string, string> | undefined,
      DEVICE_KEY_HINT,
    );
  }

  async registerDevice(identity: HandshakeIdentity): Promise<{ device: DeviceRow; created: boolean }> {
    const { botName: bot, deviceId: dev, ipAddress: ip, clientType: type, clientVersion: version } = identity;
    const now = this.now();
    // PROTOCOL §7.3. The common case (a known phone reconnecting) is one UPDATE.
    const touched = await this.run(
      'UPDATE kb_bot_devices SET ip_address = ?, client_version = ?, updated_at = ? WHERE bot_name = ? AND device_id = ?',
      [ip, version, now, bot, dev],
    );
    if (touched.affectedRows > 0) return { device: await this.deviceOrConflict(bot, dev), created: false };
    // New (or unchanged within the same second): an upsert, so two concurrent first handshakes
    // both succeed. The update is guarded by the full identity: when an old UNIQUE(device_id)
    // catches another bot's row, that row is left alone and deviceOrConflict reports it.
    const res = await this.upsert(
      `INSERT INTO kb_bot_devices
         (bot_name, device_id, status, ip_address, client_type, client_version, created_at, updated_at)
       VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE
         ip_address = IF(bot_name = VALUES(bot_name) AND device_id = VALUES(device_id), VALUES(ip_address), ip_address),
         client_version = IF(bot_name = VALUES(bot_name) AND device_id = VALUES(device_id),
                             VALUES(client_version), client_version),
         updated_at = IF(bot_name = VALUES(bot_name) AND device_id = VALUES(device_id), VALUES(updated_at), updated_at)`,
      [bot, dev, ip, type, version, now, now],
    );
    return { device: await this.deviceOrConflict(bot, dev), created: res.affectedRows === 1 };
  }

  async getDevice(key: DeviceKey): Promise<DeviceRow | undefined> {
    return this.selectDevice(key.botName, key.deviceId);
  }

  async getDevices(keys: readonly DeviceKey[]): Promise<DeviceRow[]> {
    const out: DeviceRow[] = [];
    for (let i = 0; i < keys.length; i += KEY_CHUNK) {
      const chunk = keys.slice(i, i + KEY_CHUNK);
      const rows = await this.rows(
        `SELECT ${DEVICE_SELECT} FROM kb_bot_devices WHERE (bot_name, device_id) IN (${chunk.map(() => '(?, ?)').join(', ')})`,
        chunk.flatMap((k) => [k.botName, k.deviceId]),
      );
      for (const raw of rows) out.push(toDeviceRow(raw));
    }
    return out;
  }

  async listDevices(): Promise<DeviceRow[]> {
    return (await this.rows(`SELECT ${DEVICE_SELECT} FROM kb_bot_devices ORDER BY bot_name, device_id`, [])).map(
      toDeviceRow,
    );
  }

  async setDeviceStatus(key: DeviceKey, status: KnownStatus, reason?: string): Promise<DeviceRow> {
    const { botName: bot, deviceId: dev } = key;
    const now = this.now();
    const approvedAt = status === 'approved' ? now : null;
    // MySQL evaluates SET left to right: approved_at must look at the status before it changes.
    const updated = await this.run(
      `UPDATE kb_bot_devices SET
         approved_at = IF(? = 'approved' AND (status <> 'approved' OR approved_at IS NULL), ?, approved_at),
         status = ?, rejection_reason = COALESCE(?, rejection_reason), updated_at = ?
       WHERE bot_name = ? AND device_id = ?`,
      [status, now, status, reason ?? null, now, bot, dev],
    );
    if (updated.affectedRows === 0) {
      await this.upsert(
        `INSERT INTO kb_bot_devices (bot_name, device_id, status, approved_at, rejection_reason, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE
           status = IF(bot_name = VALUES(bot_name) AND device_id = VALUES(device_id), VALUES(status), status)`,
        [bot, dev, status, approvedAt, reason ?? null, now, now],
      );
    }
    return this.deviceOrConflict(bot, dev);
  }

  private async selectRoom(key: RoomKey): Promise<RoomRow | undefined> {
    const [raw] = await this.rows(
      `SELECT ${ROOM_SELECT} FROM kb_rooms WHERE room_id = ? AND bot_name = ? AND device_id = ?`,
      [key.roomId, key.botName, key.deviceId],
    );
    return raw === undefined ? undefined : toRoomRow(raw);
  }

  private async roomOrConflict(key: RoomKey): Promise<RoomRow> {
    const row = await this.selectRoom(key);
    if (row) return row;
    const [holder] = await this.rows('SELECT room_id, bot_name, device_id FROM kb_rooms WHERE room_id = ? LIMIT 1', [
      key.roomId,
    ]);
    throw new KeyConflictError(
      'kb_rooms',
      { room_id: key.roomId, bot_name: key.botName, device_id: key.deviceId },
      holder as Record<string, string> | undefined,
      ROOM_KEY_HINT,
    );
  }

  /** Inserts the room unless a row holds its key; the no-op update leaves that row untouched. */
  private async insertRoom(
    key: RoomKey,
    v: { name: string; status: KnownStatus; description: string | null; now: string },
  ): Promise<boolean> {
    const res = await this.upsert(
      `INSERT INTO kb_rooms
         (room_id, bot_name, device_id, room_name, room_concurrency, status, approved_at, description,
          created_at, updated_at)
       VALUES (?, ?, ?, ?, 2, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE room_id = room_id`,
      [
        key.roomId,
        key.botName,
        key.deviceId,
        v.name,
        v.status,
        v.status === 'approved' ? v.now : null,
        v.description,
        v.now,
        v.now,
      ],
    );
    return res.affectedRows === 1;
  }

  getRoom(key: RoomKey): Promise<RoomRow | undefined> {
    return this.selectRoom(key);
  }

  async registerRoom(
    key: RoomKey,
    roomName: string,
    status: KnownStatus,
  ): Promise<{ room: RoomRow; created: boolean }> {
    // PROTOCOL §7.8: insert if new (room_concurrency 2, auto-registration note); an existing row
    // is returned as it is — the title is never refreshed.
    const created = await this.insertRoom(key, {
      name: roomName,
      status,
      description: roomAutoDescription(key.botName, key.deviceId),
      now: this.now(),
    });
    return { room: await this.roomOrConflict(key), created };
  }

  async listRooms(filter: { botName?: string; status?: string } = {}): Promise<RoomRow[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.botName !== undefined) {
      where.push('bot_name = ?');
      params.push(filter.botName);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    const sql = `SELECT ${ROOM_SELECT} FROM kb_rooms${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY bot_name, room_id, device_id`;
    return (await this.rows(sql, params)).map(toRoomRow);
  }

  async roomStatuses(botName: string): Promise<RoomStatusRow[]> {
    const [rows] = await this.pool.query({
      sql: 'SELECT room_id, device_id, status FROM kb_rooms WHERE bot_name = ?',
      values: [botName],
      rowsAsArray: true,
    });
    return toRoomStatusRows(rows);
  }

  async setRoomStatus(botName: string, roomId: string, status: KnownStatus, deviceId?: string): Promise<number> {
    const now = this.now();
    // Only rows whose status really changes count and get updated_at (and approved_at when approving).
    const set = `UPDATE kb_rooms SET approved_at = IF(? = 'approved', ?, approved_at), status = ?, updated_at = ?
                 WHERE bot_name = ? AND room_id = ? AND status <> ?`;
    const params: unknown[] = [status, now, status, now, botName, roomId, status];
    if (deviceId === undefined) return (await this.run(set, params)).affectedRows;
    const changed = (await this.run(`${set} AND device_id = ?`, [...params, deviceId])).affectedRows;
    if (changed > 0) return changed;
    const key = { roomId, botName, deviceId };
    // Set before the phone ever relayed the room: the title is not known yet.
    const created = await this.insertRoom(key, { name: '', status, description: null, now });
    await this.roomOrConflict(key);
    return created ? 1 : 0;
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

  async chatHistory(q: ChatHistoryQuery): Promise<ChatHistoryEntry[]> {
    return await chatHistoryMysql(this.pool, q);
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
