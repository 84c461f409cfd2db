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
import { PartsStore, type StoreParts } from './store-parts.js';
import { SqliteTelemetry } from './telemetry-sqlite.js';
import type { Store } from './types.js';

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

/** Assembles the store from its parts: devices-, rooms-, telemetry-, schedules-, processes-sqlite.ts. */
class SqliteStoreImpl extends PartsStore implements SqliteStore {
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
  /** each part prepares its statements on first use */
  protected parts: StoreParts;
  private readonly selectOne: Database.Statement;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    super();
    this.selectOne = db.prepare('SELECT 1');
    this.parts = this.buildParts();
  }

  private buildParts(): StoreParts {
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
    this.parts = this.buildParts(); // columns may have changed under the old statements
  }

  async ping(): Promise<void> {
    this.selectOne.get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  async chatHistory(q: ChatHistoryQuery): Promise<ChatHistoryEntry[]> {
    return chatHistorySqlite(this.db, q);
  }
}
