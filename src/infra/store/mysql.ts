import mysql, { type Pool } from 'mysql2/promise';
import type { Clock } from '../clock.js';
import { mysqlTarget } from '../mysql-url.js';
import { type ChatHistoryEntry, type ChatHistoryQuery, chatHistoryMysql } from './chat-history.js';
import { MysqlDevices } from './devices-mysql.js';
import { kstDateTime } from './kst.js';
import { migrateMysql } from './migrations/mysql.js';
import type { MigrationReport } from './migrations/report.js';
import { mysqlProcesses } from './processes-mysql.js';
import { MysqlRooms } from './rooms-mysql.js';
import type { ProcessStore, ScheduleStore } from './schedule-types.js';
import { mysqlSchedules } from './schedules-mysql.js';
import { PartsStore } from './store-parts.js';
import { MysqlTelemetry } from './telemetry-mysql.js';
import type { Store } from './types.js';

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

/**
 * MariaDB/MySQL store over the operators' kb_* tables (PROTOCOL §8). Opening only builds the
 * pool: nothing connects until the first query, so a gateway can start while the database is
 * down and migrate() (or the first write) tells the caller.
 */
export async function openMysqlStore(url: string, opts: MysqlStoreOptions = {}): Promise<MysqlStore> {
  const pool = mysql.createPool({
    ...mysqlTarget(url),
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

/** Assembles the store from its parts: devices-, rooms-, telemetry-, schedules-, processes-mysql.ts. */
class MysqlStoreImpl extends PartsStore implements MysqlStore {
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
  protected readonly parts: { devices: MysqlDevices; rooms: MysqlRooms; telemetry: MysqlTelemetry };
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    super();
    const now = () => this.now();
    this.parts = {
      devices: new MysqlDevices(pool, now),
      rooms: new MysqlRooms(pool, now),
      telemetry: new MysqlTelemetry(pool, now),
    };
  }

  private now(): string {
    return kstDateTime(this.clock.now());
  }

  async migrate(): Promise<void> {
    const conn = await this.pool.getConnection();
    try {
      this.lastMigration = await migrateMysql(conn);
    } finally {
      conn.release();
    }
    this.parts.telemetry.forgetSchemaFacts();
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  async chatHistory(q: ChatHistoryQuery): Promise<ChatHistoryEntry[]> {
    return await chatHistoryMysql(this.pool, q);
  }
}
