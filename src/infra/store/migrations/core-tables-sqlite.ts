/** SQLite forms of the standing and telemetry tables (PROTOCOL §8.1–§8.5): devices, rooms, chat logs, monitors. */
import type { TableSpec } from './sqlite-table-spec.js';

// SQLite's CURRENT_TIMESTAMP is UTC; every default time here is KST like the rest (§8.0).
const KST_NOW = "(datetime('now', '+9 hours'))";

const botDevices: TableSpec = {
  name: 'kb_bot_devices',
  identity: ['bot_name', 'device_id'],
  columns: [
    { name: 'id', create: 'INTEGER PRIMARY KEY' },
    { name: 'bot_name', create: 'TEXT NOT NULL' },
    { name: 'device_id', create: 'TEXT NOT NULL' },
    { name: 'ip_address', create: 'TEXT', add: 'TEXT' },
    { name: 'client_type', create: 'TEXT', add: 'TEXT' },
    { name: 'client_version', create: 'TEXT', add: 'TEXT' },
    { name: 'status', create: "TEXT NOT NULL DEFAULT 'pending'", add: "TEXT NOT NULL DEFAULT 'pending'" },
    { name: 'approved_at', create: 'TEXT', add: 'TEXT' },
    { name: 'rejection_reason', create: 'TEXT', add: 'TEXT' },
    { name: 'max_message_size', create: 'INTEGER', add: 'INTEGER' },
    { name: 'description', create: 'TEXT' },
    { name: 'created_at', create: `TEXT NOT NULL DEFAULT ${KST_NOW}`, add: 'TEXT' },
    { name: 'updated_at', create: 'TEXT', add: 'TEXT' },
  ],
  constraints: ['UNIQUE (bot_name, device_id)'],
  indexes: [{ suffix: 'status', columns: ['status'] }],
  uniqueKey: {
    columns: ['bot_name', 'device_id'],
    narrowerWarning:
      'kb_bot_devices has a UNIQUE key on device_id alone: registering a second bot on a phone that already ' +
      'serves one fails with KeyConflictError (PROTOCOL §8.1, §9 item 45)',
  },
};

const rooms: TableSpec = {
  name: 'kb_rooms',
  identity: ['room_id', 'bot_name'],
  columns: [
    { name: 'room_id', create: 'TEXT NOT NULL' },
    { name: 'bot_name', create: 'TEXT NOT NULL' },
    { name: 'device_id', create: 'TEXT NOT NULL', add: "TEXT NOT NULL DEFAULT ''" },
    { name: 'room_name', create: "TEXT NOT NULL DEFAULT ''", add: "TEXT NOT NULL DEFAULT ''" },
    { name: 'room_concurrency', create: 'INTEGER DEFAULT 1', add: 'INTEGER DEFAULT 1' },
    { name: 'status', create: "TEXT NOT NULL DEFAULT 'pending'", add: "TEXT NOT NULL DEFAULT 'pending'" },
    { name: 'approved_at', create: 'TEXT', add: 'TEXT' },
    { name: 'rejection_reason', create: 'TEXT' },
    { name: 'description', create: 'TEXT', add: 'TEXT' },
    { name: 'created_at', create: `TEXT NOT NULL DEFAULT ${KST_NOW}`, add: 'TEXT' },
    { name: 'updated_at', create: 'TEXT', add: 'TEXT' },
  ],
  constraints: ['PRIMARY KEY (room_id, bot_name, device_id)'],
  indexes: [
    { suffix: 'status', columns: ['status'] },
    { suffix: 'bot_device', columns: ['bot_name', 'device_id'] },
  ],
  uniqueKey: {
    columns: ['room_id', 'bot_name', 'device_id'],
    narrowerWarning:
      'kb_rooms has a key narrower than (room_id, bot_name, device_id): a room relayed by a second bot or ' +
      'phone fails with KeyConflictError (PROTOCOL §8.2)',
  },
};

const chatLogs: TableSpec = {
  name: 'kb_chat_logs',
  identity: [],
  columns: [
    { name: 'id', create: 'INTEGER PRIMARY KEY' },
    { name: 'channel_id', create: "TEXT DEFAULT ''", add: "TEXT DEFAULT ''" },
    { name: 'user_hash', create: "TEXT DEFAULT ''", add: "TEXT DEFAULT ''" },
    { name: 'room_name', create: "TEXT DEFAULT ''", add: "TEXT DEFAULT ''" },
    { name: 'sender', create: "TEXT DEFAULT ''", add: "TEXT DEFAULT ''" },
    { name: 'message', create: 'TEXT', add: 'TEXT' },
    { name: 'directive', create: 'TEXT', add: 'TEXT' },
    { name: 'message_type', create: "TEXT NOT NULL DEFAULT 'text'", add: "TEXT NOT NULL DEFAULT 'text'" },
    { name: 'is_meaningful', create: 'INTEGER NOT NULL DEFAULT 0', add: 'INTEGER NOT NULL DEFAULT 0' },
    { name: 'bot_name', create: "TEXT DEFAULT ''", add: "TEXT DEFAULT ''" },
    { name: 'is_mention', create: 'INTEGER NOT NULL DEFAULT 0', add: 'INTEGER NOT NULL DEFAULT 0' },
    { name: 'is_group_chat', create: 'INTEGER NOT NULL DEFAULT 0', add: 'INTEGER NOT NULL DEFAULT 0' },
    { name: 'log_id', create: "TEXT DEFAULT ''", add: "TEXT DEFAULT ''" },
    { name: 'client_timestamp', create: 'TEXT', add: 'TEXT' },
    { name: 'server_timestamp', create: `TEXT DEFAULT ${KST_NOW}`, add: 'TEXT' },
    { name: 'is_bot', create: 'INTEGER DEFAULT 0' },
    { name: 'is_our_bot_response', create: 'INTEGER NOT NULL DEFAULT 0', add: 'INTEGER NOT NULL DEFAULT 0' }, // written for our own sends (PROTOCOL §8.3 [REC])
    { name: 'is_scheduled', create: 'INTEGER NOT NULL DEFAULT 0', add: 'INTEGER NOT NULL DEFAULT 0' }, // written for our own sends (PROTOCOL §8.3 [REC])
    { name: 'created_at', create: `TEXT DEFAULT ${KST_NOW}`, add: 'TEXT' },
  ],
  constraints: [],
  indexes: [
    { suffix: 'channel_id', columns: ['channel_id'] },
    { suffix: 'created_at', columns: ['created_at'] },
  ],
};

const pingMonitor: TableSpec = {
  name: 'kb_ping_monitor',
  identity: [],
  columns: [
    { name: 'id', create: 'INTEGER PRIMARY KEY' },
    { name: 'bot_name', create: 'TEXT NOT NULL', add: "TEXT NOT NULL DEFAULT ''" },
    { name: 'device_id', create: 'TEXT NOT NULL', add: "TEXT NOT NULL DEFAULT ''" },
    { name: 'client_ip', create: "TEXT NOT NULL DEFAULT ''", add: "TEXT DEFAULT ''" },
    { name: 'ping_time_ms', create: 'INTEGER NOT NULL DEFAULT 0', add: 'INTEGER DEFAULT 0' },
    { name: 'client_timestamp', create: 'TEXT', add: 'TEXT' },
    { name: 'server_timestamp', create: 'TEXT', add: 'TEXT' },
    { name: 'total_memory', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'memory_usage', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'memory_percent', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'message_queue_size', create: 'INTEGER DEFAULT 0', add: 'INTEGER DEFAULT 0' },
    { name: 'active_rooms', create: 'INTEGER DEFAULT 0', add: 'INTEGER DEFAULT 0' },
    { name: 'process_name', create: 'TEXT', add: 'TEXT' },
    { name: 'server_cpu_usage', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'server_cpu_max', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'server_memory_usage', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'server_memory_max', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'created_at', create: `TEXT NOT NULL DEFAULT ${KST_NOW}`, add: 'TEXT' },
  ],
  constraints: [],
  indexes: [
    { suffix: 'bot_device', columns: ['bot_name', 'device_id'] },
    { suffix: 'created_at', columns: ['created_at'] },
  ],
  timeColumn: 'created_at',
};

const systemMonitor: TableSpec = {
  name: 'kb_system_monitor',
  identity: [],
  columns: [
    { name: 'id', create: 'INTEGER PRIMARY KEY' },
    { name: 'server_name', create: "TEXT NOT NULL DEFAULT ''", add: "TEXT DEFAULT ''" },
    { name: 'cpu_percent', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'memory_total', create: 'INTEGER DEFAULT 0', add: 'INTEGER DEFAULT 0' },
    { name: 'memory_used', create: 'INTEGER DEFAULT 0', add: 'INTEGER DEFAULT 0' },
    { name: 'memory_percent', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'disk_usage_percent', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'active_connections', create: 'INTEGER DEFAULT 0', add: 'INTEGER DEFAULT 0' },
    { name: 'message_queue_size', create: 'INTEGER DEFAULT 0', add: 'INTEGER DEFAULT 0' },
    { name: 'created_at', create: `TEXT NOT NULL DEFAULT ${KST_NOW}`, add: 'TEXT' },
  ],
  constraints: [],
  indexes: [{ suffix: 'created_at', columns: ['created_at'] }],
  timeColumn: 'created_at',
};

export const CORE_SQLITE_TABLES: readonly TableSpec[] = [botDevices, rooms, chatLogs, pingMonitor, systemMonitor];
