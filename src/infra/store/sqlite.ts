import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { type ChatHistoryEntry, type ChatHistoryQuery, chatHistorySqlite } from './chat-history.js';
import { SqliteDevices } from './devices-sqlite.js';
import { kstDateTime } from './kst.js';
import type { MigrationReport } from './migrations/report.js';
import { migrateSqlite } from './migrations/sqlite.js';
import { sqliteProcesses } from './processes-sqlite.js';
import { SqliteRooms } from './rooms-sqlite.js';
import type { ProcessStore, ScheduleStore } from './schedule-types.js';
import { sqliteSchedules } from './schedules-sqlite.js';
import { SqliteTelemetry } from './telemetry-sqlite.js';
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

/** The parts that prepare statements; each prepares its own on first use. */
interface Parts {
  devices: SqliteDevices;
  rooms: SqliteRooms;
  telemetry: SqliteTelemetry;
}

/** Assembles the store from its parts: devices-, rooms-, telemetry-, schedules-, processes-sqlite.ts. */
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
  private p: Parts;
  private readonly selectOne: Database.Statement;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.selectOne = db.prepare('SELECT 1');
    this.p = this.parts();
  }

  private parts(): Parts {
    const now = () => this.now();
    return {
      devices: new SqliteDevices(this.db, now),
      rooms: new SqliteRooms(this.db, now),
      telemetry: new SqliteTelemetry(this.db, now),
    };
  }

  private now(): string {
    return kstDateTime(this.clock.now());
  }

  async migrate(): Promise<void> {
    this.lastMigration = migrateSqlite(this.db);
    this.p = this.parts(); // columns may have changed under the old statements
  }

  async ping(): Promise<void> {
    this.selectOne.get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  registerDevice(identity: HandshakeIdentity): Promise<{ device: DeviceRow; created: boolean }> {
    return this.p.devices.registerDevice(identity);
  }

  getDevice(key: DeviceKey): Promise<DeviceRow | undefined> {
    return this.p.devices.getDevice(key);
  }

  getDevices(keys: readonly DeviceKey[]): Promise<DeviceRow[]> {
    return this.p.devices.getDevices(keys);
  }

  listDevices(): Promise<DeviceRow[]> {
    return this.p.devices.listDevices();
  }

  setDeviceStatus(key: DeviceKey, status: KnownStatus, reason?: string): Promise<DeviceRow> {
    return this.p.devices.setDeviceStatus(key, status, reason);
  }

  getRoom(key: RoomKey): Promise<RoomRow | undefined> {
    return this.p.rooms.getRoom(key);
  }

  registerRoom(key: RoomKey, roomName: string, status: KnownStatus): Promise<{ room: RoomRow; created: boolean }> {
    return this.p.rooms.registerRoom(key, roomName, status);
  }

  listRooms(filter?: { botName?: string; status?: string }): Promise<RoomRow[]> {
    return this.p.rooms.listRooms(filter);
  }

  roomStatuses(botName: string): Promise<RoomStatusRow[]> {
    return this.p.rooms.roomStatuses(botName);
  }

  setRoomStatus(botName: string, roomId: string, status: KnownStatus, deviceId?: string): Promise<number> {
    return this.p.rooms.setRoomStatus(botName, roomId, status, deviceId);
  }

  insertChatLogs(rows: readonly ChatLogRow[]): Promise<void> {
    return this.p.telemetry.insertChatLogs(rows);
  }

  async chatHistory(q: ChatHistoryQuery): Promise<ChatHistoryEntry[]> {
    return chatHistorySqlite(this.db, q);
  }

  insertPings(rows: readonly PingRow[]): Promise<void> {
    return this.p.telemetry.insertPings(rows);
  }

  insertSystemSamples(rows: readonly SystemSampleRow[]): Promise<void> {
    return this.p.telemetry.insertSystemSamples(rows);
  }

  pruneTelemetry(before: number): Promise<{ pings: number; samples: number }> {
    return this.p.telemetry.pruneTelemetry(before);
  }
}
