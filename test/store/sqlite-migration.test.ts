import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyConflictError, MigrationError } from '../../src/infra/store/errors.js';
import { openSqliteStore, type SqliteStore } from '../../src/infra/store/sqlite.js';
import { sqliteDb, sqliteQuery, sqliteSchema } from './sqlite-harness.js';
import type { RawRow } from './store.suite.js';

/**
 * The SQLite side of "never drop, never retype, add what is missing": tables shaped like the
 * reference server's older variants (narrow device key, NOT NULL user_hash, no created_at, the
 * older ping columns) with rows in them.
 */
const LEGACY = `
CREATE TABLE kb_bot_devices (
  id INTEGER PRIMARY KEY,
  bot_name TEXT NOT NULL,
  device_id TEXT NOT NULL UNIQUE,
  ip_address TEXT,
  client_type TEXT,
  client_version TEXT,
  status TEXT NOT NULL DEFAULT 'pending',
  note TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT
);
CREATE TABLE kb_chat_logs (
  id INTEGER PRIMARY KEY,
  channel_id TEXT NOT NULL,
  user_hash TEXT NOT NULL,
  room_name TEXT,
  sender TEXT,
  message TEXT NOT NULL,
  directive TEXT,
  message_type TEXT NOT NULL,
  is_meaningful INTEGER NOT NULL DEFAULT 0,
  bot_name TEXT NOT NULL,
  is_mention INTEGER NOT NULL DEFAULT 0,
  is_group_chat INTEGER NOT NULL DEFAULT 0,
  log_id TEXT,
  client_timestamp TEXT,
  server_timestamp TEXT
);
CREATE TABLE kb_ping_monitor (
  id INTEGER PRIMARY KEY,
  bot_name TEXT NOT NULL,
  device_id TEXT,
  device_uuid TEXT,
  total_memory REAL,
  memory_usage REAL,
  memory_percent REAL,
  message_queue_size INTEGER,
  active_rooms INTEGER,
  ping_timestamp TEXT,
  server_timestamp TEXT
);
INSERT INTO kb_bot_devices (bot_name, device_id, ip_address, client_type, client_version, status, note, created_at)
  VALUES ('loa-bot', 'dev-1', '10.0.0.1', 'MessengerBotR', '3.2.1', 'approved', '메모 🙂', '2025-11-30 09:00:00');
INSERT INTO kb_chat_logs (channel_id, user_hash, room_name, sender, message, message_type, bot_name)
  VALUES ('1', 'h1', '옛방', '철수', '옛날 메시지', 'normal', 'loa-bot');
INSERT INTO kb_ping_monitor (bot_name, device_id, device_uuid, total_memory, ping_timestamp)
  VALUES ('loa-bot', 'dev-1', 'uuid-1', 512, '2025-11-30 09:00:00');
`;

const T0 = Date.UTC(2026, 0, 15, 3, 4, 5);

function tableRows(db: Database.Database, table: string): { cols: RawRow[]; rows: RawRow[] } {
  const cols = sqliteQuery(db, 'SELECT name, type, "notnull", dflt_value FROM pragma_table_info(?)', [table]);
  return { cols, rows: sqliteQuery(db, `SELECT * FROM ${table} ORDER BY rowid`) };
}

describe('SQLite migration of older tables', () => {
  let store: SqliteStore;
  let db: Database.Database;

  beforeEach(() => {
    store = openSqliteStore(':memory:', { clock: { now: () => T0 } });
    db = sqliteDb(store);
    db.exec(LEGACY);
  });
  afterEach(async () => {
    await store.close();
  });

  it('keeps every column and row, adds what the server needs, and is idempotent', async () => {
    const before = Object.fromEntries(
      ['kb_bot_devices', 'kb_chat_logs', 'kb_ping_monitor'].map((t) => [t, tableRows(db, t)]),
    );
    await store.migrate();
    expect(store.lastMigration?.createdTables).toEqual([
      'kb_rooms',
      'kb_system_monitor',
      'kb_schedule',
      'kb_schedule_logs',
      'kb_servers',
      'kb_server_processes',
    ]);
    expect(store.lastMigration?.addedColumns).toEqual(
      expect.arrayContaining([
        'kb_bot_devices.approved_at',
        'kb_bot_devices.max_message_size',
        'kb_chat_logs.created_at',
        'kb_ping_monitor.client_ip',
        'kb_ping_monitor.ping_time_ms',
        'kb_ping_monitor.created_at',
      ]),
    );
    expect(store.lastMigration?.addedIndexes).toEqual(['kb_ping_monitor.idx_kb_ping_monitor_created_at']);
    expect(store.lastMigration?.warnings.join('\n')).toMatch(/UNIQUE key on device_id alone/);
    for (const [table, old] of Object.entries(before)) {
      const now = tableRows(db, table);
      expect(now.cols.slice(0, old.cols.length)).toEqual(old.cols);
      expect(now.rows.map((r) => Object.fromEntries(Object.keys(old.rows[0] ?? {}).map((k) => [k, r[k]])))).toEqual(
        old.rows,
      );
    }

    const schema = sqliteSchema(db);
    await store.migrate();
    expect(store.lastMigration).toMatchObject({ createdTables: [], addedColumns: [], addedIndexes: [] });
    expect(sqliteSchema(db)).toBe(schema);
  });

  it('then works: devices refreshed, a second bot on the phone refused loudly, NULL hash logged as empty', async () => {
    await store.migrate();
    const identity = {
      botName: 'loa-bot',
      deviceId: 'dev-1',
      ipAddress: '10.0.0.9',
      clientType: 'MessengerBotR',
      clientVersion: '3.2.2',
    };
    expect(await store.registerDevice(identity)).toMatchObject({
      created: false,
      device: { status: 'approved', ipAddress: '10.0.0.9', createdAt: '2025-11-30 09:00:00', maxMessageSize: null },
    });
    const err = await store.registerDevice({ ...identity, botName: 'other-bot' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyConflictError);
    expect((err as KeyConflictError).holder).toEqual({ bot_name: 'loa-bot', device_id: 'dev-1' });
    await expect(store.setDeviceStatus({ botName: 'other-bot', deviceId: 'dev-1' }, 'approved')).rejects.toThrow(
      KeyConflictError,
    );
    expect((await store.getDevice(identity))?.status).toBe('approved');
    expect(sqliteQuery(db, 'SELECT note FROM kb_bot_devices')).toEqual([{ note: '메모 🙂' }]);

    await store.insertChatLogs([
      {
        channelId: '1',
        userHash: null,
        roomName: '옛방',
        sender: '영희',
        message: '새 메시지 👍',
        directive: null,
        messageType: 'text',
        isMeaningful: false,
        botName: 'loa-bot',
        isMention: false,
        isGroupChat: true,
        logId: null,
        clientTimestamp: T0,
      },
    ]);
    expect(sqliteQuery(db, 'SELECT user_hash, log_id, message, created_at FROM kb_chat_logs WHERE id = 2')).toEqual([
      { user_hash: '', log_id: null, message: '새 메시지 👍', created_at: '2026-01-15 12:04:05' },
    ]);

    await store.insertPings([
      {
        botName: 'loa-bot',
        deviceId: 'dev-1',
        clientIp: '10.0.0.9',
        pingTimeMs: 20,
        clientTimestamp: null,
        serverTimestamp: null,
        totalMemory: 512,
        memoryUsage: 100,
        memoryPercent: 19.5,
        messageQueueSize: 0,
        activeRooms: 1,
        processName: 'msgbot',
        serverCpuUsage: 1,
        serverCpuMax: 2,
        serverMemoryUsage: 3,
        serverMemoryMax: 4,
      },
    ]);
    expect(await store.pruneTelemetry(T0 + 1_000)).toEqual({ pings: 1, samples: 0 });
    expect(sqliteQuery(db, 'SELECT device_uuid FROM kb_ping_monitor')).toEqual([{ device_uuid: 'uuid-1' }]);
  });

  it('refuses a kb_rooms without bot_name instead of guessing', async () => {
    db.exec('CREATE TABLE kb_rooms (room_id TEXT PRIMARY KEY, room_name TEXT)');
    await expect(store.migrate()).rejects.toBeInstanceOf(MigrationError);
    // one transaction: nothing of the run is left behind
    expect(sqliteQuery(db, "SELECT name FROM sqlite_master WHERE name = 'kb_system_monitor'")).toEqual([]);
    expect(
      sqliteQuery(db, "SELECT name FROM pragma_table_info('kb_bot_devices') WHERE name = 'max_message_size'"),
    ).toEqual([]);
  });
});

describe('SQLite unique keys', () => {
  it('adds UNIQUE(bot_name, device_id) to a device table without one', async () => {
    const store = openSqliteStore(':memory:');
    const db = sqliteDb(store);
    db.exec('CREATE TABLE kb_bot_devices (id INTEGER PRIMARY KEY, bot_name TEXT NOT NULL, device_id TEXT NOT NULL)');
    await store.migrate();
    expect(store.lastMigration?.addedIndexes).toContain('kb_bot_devices.uk_kb_bot_devices_bot_name_device_id');
    const identity = { botName: 'b', deviceId: 'd', ipAddress: 'x', clientType: 'MessengerBotR', clientVersion: '3' };
    await store.registerDevice(identity);
    await store.registerDevice({ ...identity, botName: 'c' });
    await store.registerDevice(identity);
    expect(sqliteQuery(db, 'SELECT COUNT(*) AS n FROM kb_bot_devices')).toEqual([{ n: 2 }]);
    await store.close();
  });
});
