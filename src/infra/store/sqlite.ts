import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { type ChatHistoryEntry, type ChatHistoryQuery, chatHistorySqlite } from './chat-history.js';
import { DEVICE_KEY_HINT, KeyConflictError, ROOM_KEY_HINT } from './errors.js';
import { kstDateTime } from './kst.js';
import type { MigrationReport } from './migrations/report.js';
import { migrateSqlite } from './migrations/sqlite.js';
import { sqliteProcesses } from './processes-sqlite.js';
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
import { sqliteSchedules } from './schedules-sqlite.js';
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

export interface StoreOptions {
  /** time source for created_at/updated_at and the like (tests pass a fake) */
  clock?: Pick<Clock, 'now'>;
}

export interface SqliteStore extends Store {
  readonly dialect: 'sqlite';
  /** what the last migrate() did, including warnings for the operator */
  readonly lastMigration: MigrationReport | undefined;
  /** PROTOCOL §7.12, §8.6–§8.7 */
  readonly schedules: ScheduleStore;
  /** PROTOCOL §7.13, §8.8–§8.9 */
  readonly processes: ProcessStore;
}

/**
 * The embedded default store (better-sqlite3). Calls are synchronous underneath and wrapped in
 * promises for the Store contract; statements are prepared once, after migrate() has made sure
 * the tables exist. WAL lets the admin CLI read while the daemon writes.
 */
export function openSqliteStore(file: string, opts: StoreOptions = {}): SqliteStore {
  if (file !== ':memory:' && !file.startsWith('file:')) mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = OFF');
  return new SqliteStoreImpl(db, opts.clock ?? { now: Date.now });
}

type Statements = ReturnType<typeof prepare>;

const CHAT_ROWS_PER_INSERT = 25;

function prepare(db: Database.Database) {
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
    getDevice: db.prepare(`SELECT ${DEVICE_SELECT} FROM kb_bot_devices WHERE bot_name = ? AND device_id = ?`),
    listDevices: db.prepare(`SELECT ${DEVICE_SELECT} FROM kb_bot_devices ORDER BY bot_name, device_id`),
    deviceHolder: db.prepare('SELECT bot_name, device_id FROM kb_bot_devices WHERE device_id = ? LIMIT 1'),
    // PROTOCOL §7.3: every handshake refreshes ip_address, client_version and updated_at
    touchDevice: db.prepare(
      `UPDATE kb_bot_devices SET ip_address = @ip, client_version = @version, updated_at = @now
       WHERE bot_name = @bot AND device_id = @dev`,
    ),
    insertDevice: db.prepare(
      `INSERT INTO kb_bot_devices
         (bot_name, device_id, status, ip_address, client_type, client_version, approved_at, rejection_reason,
          created_at, updated_at)
       VALUES (@bot, @dev, @status, @ip, @type, @version, @approvedAt, @reason, @now, @now)`,
    ),
    setDeviceStatus: db.prepare(
      `UPDATE kb_bot_devices SET
         approved_at = CASE WHEN @status = 'approved' AND (status <> 'approved' OR approved_at IS NULL)
                            THEN @now ELSE approved_at END,
         status = @status,
         rejection_reason = COALESCE(@reason, rejection_reason),
         updated_at = @now
       WHERE bot_name = @bot AND device_id = @dev`,
    ),
    getRoom: db.prepare(`SELECT ${ROOM_SELECT} FROM kb_rooms WHERE room_id = ? AND bot_name = ? AND device_id = ?`),
    // rows as arrays: no per-row object or date parsing on the 5 s refresh of every cached room
    roomStatuses: db.prepare('SELECT room_id, device_id, status FROM kb_rooms WHERE bot_name = ?').raw(),
    roomHolder: db.prepare('SELECT room_id, bot_name, device_id FROM kb_rooms WHERE room_id = ? LIMIT 1'),
    insertRoom: db.prepare(
      `INSERT INTO kb_rooms
         (room_id, bot_name, device_id, room_name, room_concurrency, status, approved_at, description,
          created_at, updated_at)
       VALUES (@room, @bot, @dev, @name, 2, @status, @approvedAt, @description, @now, @now)`,
    ),
    // Only rows whose status really changes count and get updated_at (and approved_at when approving).
    setRoomStatusAll: db.prepare(
      `UPDATE kb_rooms SET
         approved_at = CASE WHEN @status = 'approved' THEN @now ELSE approved_at END,
         status = @status, updated_at = @now
       WHERE bot_name = @bot AND room_id = @room AND status <> @status`,
    ),
    setRoomStatusOne: db.prepare(
      `UPDATE kb_rooms SET
         approved_at = CASE WHEN @status = 'approved' THEN @now ELSE approved_at END,
         status = @status, updated_at = @now
       WHERE bot_name = @bot AND room_id = @room AND device_id = @dev AND status <> @status`,
    ),
    insertChatLog: insertInto('kb_chat_logs', CHAT_LOG_COLUMNS),
    // one statement step per CHAT_ROWS_PER_INSERT rows: a chat log row per message is the busiest write
    insertChatLogMany: insertInto('kb_chat_logs', CHAT_LOG_COLUMNS, CHAT_ROWS_PER_INSERT),
    insertPing: insertInto('kb_ping_monitor', PING_COLUMNS),
    insertSystemSample: insertInto('kb_system_monitor', SYSTEM_SAMPLE_COLUMNS),
    prunePings: db.prepare('DELETE FROM kb_ping_monitor WHERE created_at < ?'),
    pruneSamples: db.prepare('DELETE FROM kb_system_monitor WHERE created_at < ?'),
  };
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

class SqliteStoreImpl implements SqliteStore {
  private scheduleStore: ScheduleStore | undefined;
  private processStore: ProcessStore | undefined;
  get schedules(): ScheduleStore {
    this.scheduleStore ??= sqliteSchedules(this.db);
    return this.scheduleStore;
  }
  get processes(): ProcessStore {
    this.processStore ??= sqliteProcesses(this.db);
    return this.processStore;
  }
  readonly dialect = 'sqlite' as const;
  lastMigration: MigrationReport | undefined;
  private stmts: Statements | undefined;
  private readonly selectOne: Database.Statement;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.selectOne = db.prepare('SELECT 1');
  }

  /** Prepared on first use: preparing needs the tables, which migrate() creates. */
  private get s(): Statements {
    this.stmts ??= prepare(this.db);
    return this.stmts;
  }

  private now(): string {
    return kstDateTime(this.clock.now());
  }

  async migrate(): Promise<void> {
    this.lastMigration = migrateSqlite(this.db);
    this.stmts = undefined; // columns may have changed under the old statements
  }

  async ping(): Promise<void> {
    this.selectOne.get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  async registerDevice(identity: HandshakeIdentity): Promise<{ device: DeviceRow; created: boolean }> {
    const s = this.s;
    const p = {
      bot: identity.botName,
      dev: identity.deviceId,
      ip: identity.ipAddress,
      version: identity.clientVersion,
      type: identity.clientType,
      status: 'pending',
      approvedAt: null,
      reason: null,
      now: this.now(),
    };
    // One immediate transaction: two handshakes of one new device cannot both insert.
    const created = this.db
      .transaction(() => {
        if (s.touchDevice.run(p).changes > 0) return false;
        this.insertDeviceOrConflict(p);
        return true;
      })
      .immediate();
    return { device: toDeviceRow(s.getDevice.get(p.bot, p.dev)), created };
  }

  private insertDeviceOrConflict(p: Record<string, string | null>): void {
    try {
      this.s.insertDevice.run(p);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const holder = this.s.deviceHolder.get(p.dev) as { bot_name: string; device_id: string } | undefined;
      throw new KeyConflictError(
        'kb_bot_devices',
        { bot_name: p.bot ?? '', device_id: p.dev ?? '' },
        holder,
        DEVICE_KEY_HINT,
      );
    }
  }

  async getDevice(key: DeviceKey): Promise<DeviceRow | undefined> {
    const raw = this.s.getDevice.get(key.botName, key.deviceId);
    return raw === undefined ? undefined : toDeviceRow(raw);
  }

  async getDevices(keys: readonly DeviceKey[]): Promise<DeviceRow[]> {
    const s = this.s;
    const out: DeviceRow[] = [];
    // A local point lookup per key is cheaper here than building an IN list.
    for (const key of keys) {
      const raw = s.getDevice.get(key.botName, key.deviceId);
      if (raw !== undefined) out.push(toDeviceRow(raw));
    }
    return out;
  }

  async listDevices(): Promise<DeviceRow[]> {
    return this.s.listDevices.all().map(toDeviceRow);
  }

  async setDeviceStatus(key: DeviceKey, status: KnownStatus, reason?: string): Promise<DeviceRow> {
    const s = this.s;
    const now = this.now();
    const p = {
      bot: key.botName,
      dev: key.deviceId,
      status,
      reason: reason ?? null,
      now,
      ip: null,
      type: null,
      version: null,
      approvedAt: status === 'approved' ? now : null,
    };
    this.db
      .transaction(() => {
        if (s.setDeviceStatus.run(p).changes === 0) this.insertDeviceOrConflict(p);
      })
      .immediate();
    return toDeviceRow(s.getDevice.get(p.bot, p.dev));
  }

  async getRoom(key: RoomKey): Promise<RoomRow | undefined> {
    const raw = this.s.getRoom.get(key.roomId, key.botName, key.deviceId);
    return raw === undefined ? undefined : toRoomRow(raw);
  }

  async registerRoom(
    key: RoomKey,
    roomName: string,
    status: KnownStatus,
  ): Promise<{ room: RoomRow; created: boolean }> {
    const s = this.s;
    const now = this.now();
    const created = this.db
      .transaction(() => {
        // PROTOCOL §7.8: an existing row is returned as it is (the title is never refreshed)
        if (s.getRoom.get(key.roomId, key.botName, key.deviceId) !== undefined) return false;
        this.insertRoomOrConflict(key, {
          name: roomName,
          status,
          description: roomAutoDescription(key.botName, key.deviceId),
          now,
        });
        return true;
      })
      .immediate();
    return { room: toRoomRow(s.getRoom.get(key.roomId, key.botName, key.deviceId)), created };
  }

  private insertRoomOrConflict(
    key: RoomKey,
    v: { name: string; status: KnownStatus; description: string | null; now: string },
  ): void {
    try {
      this.s.insertRoom.run({
        room: key.roomId,
        bot: key.botName,
        dev: key.deviceId,
        name: v.name,
        status: v.status,
        approvedAt: v.status === 'approved' ? v.now : null,
        description: v.description,
        now: v.now,
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const holder = this.s.roomHolder.get(key.roomId) as Record<string, string> | undefined;
      throw new KeyConflictError(
        'kb_rooms',
        { room_id: key.roomId, bot_name: key.botName, device_id: key.deviceId },
        holder,
        ROOM_KEY_HINT,
      );
    }
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
    // Admin path, not hot: prepared per call (the filter shape varies).
    const sql = `SELECT ${ROOM_SELECT} FROM kb_rooms${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY bot_name, room_id, device_id`;
    return this.db
      .prepare(sql)
      .all(...params)
      .map(toRoomRow);
  }

  async roomStatuses(botName: string): Promise<RoomStatusRow[]> {
    return toRoomStatusRows(this.s.roomStatuses.all(botName));
  }

  async setRoomStatus(botName: string, roomId: string, status: KnownStatus, deviceId?: string): Promise<number> {
    const s = this.s;
    const now = this.now();
    const p = { bot: botName, room: roomId, dev: deviceId ?? null, status, now };
    if (deviceId === undefined) return s.setRoomStatusAll.run(p).changes;
    return this.db
      .transaction(() => {
        const changed = s.setRoomStatusOne.run(p).changes;
        if (changed > 0 || s.getRoom.get(roomId, botName, deviceId) !== undefined) return changed;
        // Set before the phone ever relayed the room: the title is not known yet.
        this.insertRoomOrConflict({ roomId, botName, deviceId }, { name: '', status, description: null, now });
        return 1;
      })
      .immediate();
  }

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

  async chatHistory(q: ChatHistoryQuery): Promise<ChatHistoryEntry[]> {
    return chatHistorySqlite(this.db, q);
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
