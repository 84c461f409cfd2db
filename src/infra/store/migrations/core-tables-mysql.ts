/** MariaDB/MySQL forms of the standing and telemetry tables (PROTOCOL §8.1–§8.5): devices, rooms, logs, monitors. */
import type { TableSpec } from './mysql-table-spec.js';

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

export const CORE_MYSQL_TABLES: readonly TableSpec[] = [botDevices, rooms, chatLogs, pingMonitor, systemMonitor];
