import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyConflictError, MigrationError } from '../../src/infra/store/errors.js';
import { type MysqlStore, openMysqlStore } from '../../src/infra/store/mysql.js';
import { createScratchDatabase, describeMysql, mysqlSchema, type ScratchDatabase } from './mysql-scratch.js';
import type { RawRow } from './store.suite.js';

/**
 * An operator's database as the reference server left it (PROTOCOL §8.1–§8.4 notes): the
 * kb_bot_devices DDL with UNIQUE uk_device_id and no max_message_size, the "documentation dump"
 * kb_chat_logs (NOT NULL channel_id/user_hash/bot_name, TEXT message, no created_at,
 * utf8mb4_general_ci), kb_rooms with back-office extras, the older kb_ping_monitor
 * (device_uuid/mac_address/…/ping_timestamp), and no kb_system_monitor.
 */
const LEGACY_DDL = `
CREATE TABLE kb_bot_devices (
  id INT NOT NULL AUTO_INCREMENT,
  bot_name VARCHAR(30) NOT NULL,
  device_id VARCHAR(100) NOT NULL,
  ip_address VARCHAR(45) NULL,
  client_type VARCHAR(50) NULL,
  client_version VARCHAR(20) NULL,
  status ENUM('pending','approved','denied','revoked','blocked') NOT NULL DEFAULT 'pending',
  approved_at DATETIME NULL,
  rejection_reason TEXT NULL,
  image_resize_width INT DEFAULT 900,
  image_resize_enabled TINYINT(1) DEFAULT 1,
  descryption TEXT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NULL ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY uk_device_id (device_id),
  KEY idx_bot_name (bot_name),
  KEY idx_status (status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE kb_chat_logs (
  id int(11) NOT NULL AUTO_INCREMENT COMMENT '기본키',
  channel_id varchar(50) NOT NULL,
  user_hash varchar(100) NOT NULL,
  room_name varchar(255) DEFAULT NULL,
  sender varchar(100) DEFAULT NULL,
  message text CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
  directive varchar(30) DEFAULT NULL,
  message_type varchar(20) NOT NULL,
  is_meaningful tinyint(1) NOT NULL DEFAULT 0,
  bot_name varchar(30) NOT NULL,
  is_mention tinyint(1) NOT NULL DEFAULT 0,
  is_group_chat tinyint(1) NOT NULL DEFAULT 0,
  log_id varchar(50) DEFAULT NULL,
  client_timestamp datetime DEFAULT NULL,
  server_timestamp datetime DEFAULT current_timestamp(),
  is_bot tinyint(1) DEFAULT 0,
  is_our_bot_response tinyint(1) NOT NULL DEFAULT 0,
  is_scheduled tinyint(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY idx_channel_user_time (channel_id, user_hash, server_timestamp),
  KEY idx_meaningful (is_meaningful)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE kb_rooms (
  room_id VARCHAR(50) NOT NULL,
  bot_name VARCHAR(30) NOT NULL,
  device_id VARCHAR(255) NOT NULL,
  room_name VARCHAR(255) NOT NULL,
  room_concurrency INT DEFAULT 1,
  room_owners JSON NULL,
  owner_type ENUM('distributor','agency','branch') NULL,
  owner_id VARCHAR(50) NULL,
  status ENUM('pending','approved','denied','revoked','blocked') NOT NULL DEFAULT 'pending',
  approved_at DATETIME NULL,
  rejection_reason TEXT NULL,
  description TEXT NULL,
  log_settings JSON NULL,
  bot_nickname VARCHAR(50) NULL,
  schedule_enabled TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NULL ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (room_id, bot_name, device_id),
  KEY idx_bot_name (bot_name),
  KEY idx_status (status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE kb_ping_monitor (
  id int(11) NOT NULL AUTO_INCREMENT,
  bot_name varchar(50) NOT NULL,
  device_id varchar(100) DEFAULT NULL,
  device_uuid varchar(100) DEFAULT NULL,
  mac_address varchar(50) DEFAULT NULL,
  ip_address varchar(50) DEFAULT NULL,
  client_version varchar(20) DEFAULT NULL,
  total_memory decimal(10,2) DEFAULT NULL,
  memory_usage decimal(10,2) DEFAULT NULL,
  memory_percent decimal(5,2) DEFAULT NULL,
  message_queue_size int(11) DEFAULT NULL,
  active_rooms int(11) DEFAULT NULL,
  ping_timestamp datetime DEFAULT NULL,
  server_timestamp datetime DEFAULT current_timestamp(),
  PRIMARY KEY (id),
  KEY idx_bot_device (bot_name, device_id),
  KEY idx_ping_time (ping_timestamp)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

INSERT INTO kb_bot_devices
  (bot_name, device_id, ip_address, client_type, client_version, status, approved_at, rejection_reason,
   image_resize_width, descryption, created_at, updated_at)
VALUES
  ('loa-bot', 'dev-approved', '10.0.0.1', 'MessengerBotR', '3.2.1', 'approved', '2025-12-01 10:00:00', NULL,
   1200, '관리자 메모 🙂', '2025-11-30 09:00:00', '2025-12-01 10:00:00'),
  ('loa-bot', 'dev-pending', '10.0.0.2', 'MessengerBotR', '3.1.4', 'pending', NULL, NULL,
   900, NULL, '2025-11-30 09:05:00', NULL),
  ('loa-bot', 'dev-blocked', 'unknown', 'MessengerBotR', '3.2.1', 'blocked', NULL, '분실 단말',
   900, NULL, '2025-11-30 09:10:00', '2025-11-30 09:11:00');

INSERT INTO kb_chat_logs
  (channel_id, user_hash, room_name, sender, message, directive, message_type, is_meaningful, bot_name,
   log_id, client_timestamp, server_timestamp)
VALUES
  ('18469710452305870', 'h1', '옛방', '철수', '옛날 메시지 😀', NULL, 'normal', 0, 'loa-bot', NULL,
   '2025-11-30 09:00:00', '2025-11-30 09:00:01'),
  ('18469710452305870', 'h2', '옛방', '영희', '# echo 안녕', '#', 'command', 1, 'loa-bot', '123',
   '2025-11-30 09:01:00', '2025-11-30 09:01:01');

INSERT INTO kb_rooms
  (room_id, bot_name, device_id, room_name, room_concurrency, room_owners, status, description, log_settings,
   bot_nickname, schedule_enabled, created_at, updated_at)
VALUES
  ('18469710452305870', 'loa-bot', 'dev-approved', '옛방 🎉', 2, '["owner-1"]', 'approved', '수동 등록',
   '{"keep_days": 30}', '로아', 1, '2025-11-30 09:00:00', '2025-12-02 08:00:00');

INSERT INTO kb_ping_monitor
  (bot_name, device_id, device_uuid, mac_address, ip_address, client_version, total_memory, memory_usage,
   memory_percent, message_queue_size, active_rooms, ping_timestamp, server_timestamp)
VALUES
  ('loa-bot', 'dev-approved', 'uuid-1', '00:11:22:33:44:55', '10.0.0.1', '3.1.4', 512.00, 128.50, 25.10, 3, 5,
   '2025-11-30 09:00:00', '2025-11-30 09:00:00');
`;

const LEGACY_TABLES = ['kb_bot_devices', 'kb_chat_logs', 'kb_rooms', 'kb_ping_monitor'];

/** 2026-01-15 12:04:05 KST */
const T0 = Date.UTC(2026, 0, 15, 3, 4, 5);

async function columns(db: ScratchDatabase, table: string): Promise<RawRow[]> {
  return db.query(
    `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, COLLATION_NAME FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [table],
  );
}

async function snapshot(db: ScratchDatabase): Promise<Record<string, { cols: RawRow[]; rows: RawRow[] }>> {
  const out: Record<string, { cols: RawRow[]; rows: RawRow[] }> = {};
  for (const table of LEGACY_TABLES) {
    const cols = await columns(db, table);
    const names = cols.map((c) => `\`${String(c.COLUMN_NAME)}\``).join(', ');
    out[table] = { cols, rows: await db.query(`SELECT ${names} FROM \`${table}\` ORDER BY 1, 2, 3`) };
  }
  return out;
}

describeMysql('MariaDB migration of the reference server’s tables', () => {
  let db: ScratchDatabase;
  let store: MysqlStore;
  let now = T0;

  beforeEach(async () => {
    now = T0;
    db = await createScratchDatabase();
    await db.query(LEGACY_DDL);
    store = await openMysqlStore(db.url, { clock: { now: () => now } });
  });
  afterEach(async () => {
    await store.close();
    await db.drop();
  });

  it('keeps every table, column and row, adds only what the server needs, and says what it did', async () => {
    const before = await snapshot(db);
    await store.migrate();

    expect(store.lastMigration?.createdTables).toEqual([
      'kb_system_monitor',
      'kb_schedule',
      'kb_schedule_logs',
      'kb_servers',
      'kb_server_processes',
    ]);
    expect(store.lastMigration?.addedColumns).toEqual([
      'kb_bot_devices.max_message_size',
      'kb_chat_logs.created_at',
      'kb_ping_monitor.client_ip',
      'kb_ping_monitor.ping_time_ms',
      'kb_ping_monitor.client_timestamp',
      'kb_ping_monitor.process_name',
      'kb_ping_monitor.server_cpu_usage',
      'kb_ping_monitor.server_cpu_max',
      'kb_ping_monitor.server_memory_usage',
      'kb_ping_monitor.server_memory_max',
      'kb_ping_monitor.created_at',
    ]);
    expect(store.lastMigration?.addedIndexes).toEqual(['kb_ping_monitor.idx_created_at']);
    const warnings = store.lastMigration?.warnings.join('\n') ?? '';
    expect(warnings).toMatch(/uk_device_id/);
    expect(warnings).toMatch(/kb_chat_logs\.message is TEXT/);

    // Every old column keeps its type, nullability, default and collation; every row its values.
    for (const table of LEGACY_TABLES) {
      const after = await columns(db, table);
      const old = before[table];
      expect(after.slice(0, old?.cols.length)).toEqual(old?.cols);
      const names = (old?.cols ?? []).map((c) => `\`${String(c.COLUMN_NAME)}\``).join(', ');
      expect(await db.query(`SELECT ${names} FROM \`${table}\` ORDER BY 1, 2, 3`)).toEqual(old?.rows);
    }
    // Added columns are empty for old rows (no invented creation time).
    expect(await db.query('SELECT created_at, client_ip FROM kb_ping_monitor')).toEqual([
      { created_at: null, client_ip: '' },
    ]);
    const uniques = await db.query(
      `SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'kb_bot_devices' AND NON_UNIQUE = 0 ORDER BY 1`,
    );
    expect(uniques.map((u) => u.name)).toEqual(['PRIMARY', 'uk_device_id']);
  });

  it('is idempotent: a second run adds nothing and leaves the schema as it was', async () => {
    await store.migrate();
    const schema = await mysqlSchema(db);
    await store.migrate();
    expect(store.lastMigration).toMatchObject({ createdTables: [], addedColumns: [], addedIndexes: [] });
    expect(await mysqlSchema(db)).toBe(schema);
  });

  it('then serves the operator’s devices: known rows refreshed, new ones pending', async () => {
    await store.migrate();
    const known = await store.registerDevice({
      botName: 'loa-bot',
      deviceId: 'dev-approved',
      ipAddress: '10.0.0.99',
      clientType: 'MessengerBotR',
      clientVersion: '3.2.2',
    });
    expect(known.created).toBe(false);
    expect(known.device).toMatchObject({
      status: 'approved',
      ipAddress: '10.0.0.99',
      clientVersion: '3.2.2',
      maxMessageSize: null,
      createdAt: '2025-11-30 09:00:00',
      updatedAt: '2026-01-15 12:04:05',
    });
    const [kept] = await db.query(
      "SELECT descryption, image_resize_width, approved_at FROM kb_bot_devices WHERE device_id = 'dev-approved'",
    );
    expect(kept).toEqual({
      descryption: '관리자 메모 🙂',
      image_resize_width: 1200,
      approved_at: '2025-12-01 10:00:00',
    });

    expect((await store.getDevice({ botName: 'loa-bot', deviceId: 'dev-blocked' }))?.status).toBe('blocked');
    await db.query("UPDATE kb_bot_devices SET max_message_size = 4194304 WHERE device_id = 'dev-pending'");
    expect((await store.getDevice({ botName: 'loa-bot', deviceId: 'dev-pending' }))?.maxMessageSize).toBe(4_194_304);

    const fresh = await store.registerDevice({
      botName: 'loa-bot',
      deviceId: 'dev-new',
      ipAddress: '10.0.0.5',
      clientType: 'MessengerBotR',
      clientVersion: '3.2.1',
    });
    expect(fresh).toMatchObject({ created: true, device: { status: 'pending' } });
  });

  it('with the old uk_device_id, a second bot on the same phone fails loudly and approves nothing', async () => {
    await store.migrate();
    const second = {
      botName: 'other-bot',
      deviceId: 'dev-approved',
      ipAddress: '10.0.0.50',
      clientType: 'MessengerBotR',
      clientVersion: '3.2.1',
    };
    const err = await store.registerDevice(second).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyConflictError);
    expect((err as KeyConflictError).holder).toEqual({ bot_name: 'loa-bot', device_id: 'dev-approved' });
    expect((err as Error).message).toMatch(/uk_device_id/);
    await expect(store.setDeviceStatus(second, 'approved')).rejects.toBeInstanceOf(KeyConflictError);
    // the first bot's row is exactly as it was
    expect(await store.getDevice({ botName: 'loa-bot', deviceId: 'dev-approved' })).toMatchObject({
      status: 'approved',
      ipAddress: '10.0.0.1',
      clientVersion: '3.2.1',
      updatedAt: '2025-12-01 10:00:00',
    });
    expect(await store.getDevice(second)).toBeUndefined();
  });

  it('then logs chat into the second-variant kb_chat_logs: NULL hash as empty text, emoji intact', async () => {
    await store.migrate();
    const base = {
      channelId: '18469710452305870',
      roomName: '옛방 🎉',
      sender: '민수 😎',
      directive: null,
      messageType: 'text' as const,
      isMeaningful: false,
      botName: 'loa-bot',
      isMention: false,
      isGroupChat: true,
      clientTimestamp: T0,
    };
    const long = '한'.repeat(65_000);
    await store.insertChatLogs([
      { ...base, userHash: null, logId: null, message: '새 메시지 👍🏽' },
      { ...base, userHash: 'h9', logId: '77', message: long },
      { ...base, userHash: 'h9', logId: '78', message: '그 다음 메시지' },
    ]);
    const rows = await db.query(
      'SELECT user_hash, log_id, message, room_name, sender, created_at FROM kb_chat_logs WHERE id > 2 ORDER BY id',
    );
    expect(rows[0]).toEqual({
      user_hash: '',
      log_id: null,
      message: '새 메시지 👍🏽',
      room_name: '옛방 🎉',
      sender: '민수 😎',
      created_at: '2026-01-15 12:04:05',
    });
    // TEXT is not retyped: the maximal message is kept cut to the column, and the batch survives
    const kept = String(rows[1]?.message);
    expect(kept.length).toBeGreaterThan(20_000);
    expect(long.startsWith(kept)).toBe(true);
    expect(rows[2]?.message).toBe('그 다음 메시지');
  });

  it('then keeps rooms and back-office columns, and writes pings into the older kb_ping_monitor', async () => {
    await store.migrate();
    const key = { roomId: '18469710452305870', botName: 'loa-bot', deviceId: 'dev-approved' };
    const existing = await store.registerRoom(key, '새 제목', 'pending');
    expect(existing).toMatchObject({ created: false, room: { roomName: '옛방 🎉', status: 'approved' } });
    const [extras] = await db.query('SELECT bot_nickname, schedule_enabled, room_owners, log_settings FROM kb_rooms');
    expect(extras).toEqual({
      bot_nickname: '로아',
      schedule_enabled: 1,
      room_owners: ['owner-1'],
      log_settings: { keep_days: 30 },
    });
    const fresh = await store.registerRoom({ ...key, deviceId: 'dev-pending' }, '옛방 🎉', 'pending');
    expect(fresh.created).toBe(true);

    await store.insertPings([
      {
        botName: 'loa-bot',
        deviceId: 'dev-approved',
        clientIp: '10.0.0.1',
        pingTimeMs: 35,
        clientTimestamp: T0,
        serverTimestamp: T0 - 35,
        totalMemory: 512,
        memoryUsage: 130,
        memoryPercent: 25.4,
        messageQueueSize: 0,
        activeRooms: 4,
        processName: 'msgbot',
        serverCpuUsage: 3.5,
        serverCpuMax: 9,
        serverMemoryUsage: 80,
        serverMemoryMax: 82,
      },
    ]);
    const pings = await db.query('SELECT device_uuid, ping_time_ms, created_at FROM kb_ping_monitor ORDER BY id');
    expect(pings).toEqual([
      { device_uuid: 'uuid-1', ping_time_ms: 0, created_at: null },
      { device_uuid: null, ping_time_ms: 35, created_at: '2026-01-15 12:04:05' },
    ]);
    // retention only removes rows it can date; the undated old row stays
    expect(await store.pruneTelemetry(T0 + 1_000)).toEqual({ pings: 1, samples: 0 });
    expect(await db.query('SELECT device_uuid FROM kb_ping_monitor')).toEqual([{ device_uuid: 'uuid-1' }]);
  });
});

describeMysql('MariaDB migration of other table shapes', () => {
  let db: ScratchDatabase;
  let store: MysqlStore;

  beforeEach(async () => {
    db = await createScratchDatabase();
    store = await openMysqlStore(db.url);
  });
  afterEach(async () => {
    await store.close();
    await db.drop();
  });

  it('the stale kb_rooms bootstrap (no device_id, key on room_id): device_id is added, conflicts are loud', async () => {
    await db.query(`
      CREATE TABLE kb_rooms (
        room_id VARCHAR(50) NOT NULL PRIMARY KEY,
        bot_name VARCHAR(30) NOT NULL,
        room_name VARCHAR(255) NOT NULL,
        status ENUM('pending','approved','denied','revoked','blocked') NOT NULL DEFAULT 'pending',
        created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
      INSERT INTO kb_rooms (room_id, bot_name, room_name, status) VALUES ('100', 'b', '방', 'approved');`);
    await store.migrate();
    expect(store.lastMigration?.addedColumns).toEqual(
      expect.arrayContaining(['kb_rooms.device_id', 'kb_rooms.room_concurrency', 'kb_rooms.updated_at']),
    );
    expect(store.lastMigration?.warnings.join('\n')).toMatch(/kb_rooms has a primary\/unique key narrower/);
    // the old row is found under device_id '' and a new room registers fine
    expect((await store.getRoom({ roomId: '100', botName: 'b', deviceId: '' }))?.status).toBe('approved');
    expect((await store.registerRoom({ roomId: '200', botName: 'b', deviceId: 'd1' }, '새방', 'pending')).created).toBe(
      true,
    );
    await expect(
      store.registerRoom({ roomId: '200', botName: 'b', deviceId: 'd2' }, '새방', 'pending'),
    ).rejects.toThrow(KeyConflictError);
  });

  it('a kb_bot_devices without any unique key gets UNIQUE(bot_name, device_id)', async () => {
    await db.query(`
      CREATE TABLE kb_bot_devices (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        bot_name VARCHAR(64) NOT NULL,
        device_id VARCHAR(128) NOT NULL,
        status ENUM('pending','approved','denied','revoked','blocked') NOT NULL DEFAULT 'pending'
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
      INSERT INTO kb_bot_devices (bot_name, device_id, status) VALUES ('b', 'd', 'approved');`);
    await store.migrate();
    expect(store.lastMigration?.addedIndexes).toContain('kb_bot_devices.uk_bot_device');
    const identity = { botName: 'b', deviceId: 'd', ipAddress: 'x', clientType: 'MessengerBotR', clientVersion: '3' };
    await Promise.all([store.registerDevice(identity), store.registerDevice({ ...identity, deviceId: 'e' })]);
    await Promise.all([store.registerDevice({ ...identity, deviceId: 'e' }), store.registerDevice(identity)]);
    expect(await db.query('SELECT device_id, status FROM kb_bot_devices ORDER BY device_id')).toEqual([
      { device_id: 'd', status: 'approved' },
      { device_id: 'e', status: 'pending' },
    ]);
  });

  it('refuses a kb_bot_devices that has no device_id instead of guessing', async () => {
    await db.query(
      'CREATE TABLE kb_bot_devices (id INT AUTO_INCREMENT PRIMARY KEY, bot_name VARCHAR(30) NOT NULL) ENGINE=InnoDB',
    );
    await expect(store.migrate()).rejects.toBeInstanceOf(MigrationError);
    const cols = await db.query(
      "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'kb_bot_devices'",
    );
    expect(Number(cols[0]?.n)).toBe(2);
  });
});

describe('nothing here needs a database', () => {
  it('KeyConflictError names both identities and the fix', () => {
    const err = new KeyConflictError('kb_bot_devices', { bot_name: 'b2', device_id: 'd' }, { bot_name: 'b1' }, 'hint');
    expect(err.message).toBe(
      'kb_bot_devices: cannot store bot_name="b2", device_id="d" because bot_name="b1" holds the same unique key. hint',
    );
    expect(err.code).toBe('STORE_KEY_CONFLICT');
  });
});
