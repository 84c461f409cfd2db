import type { TableSpec } from './sqlite-table-spec.js';

/**
 * SQLite forms of the scheduler and process tables (PROTOCOL §8.6–§8.9). Times are KST text like
 * every other time (§8.0); JSON columns are TEXT holding JSON; ENUM/SET columns are TEXT.
 */

const KST_NOW = "(datetime('now', '+9 hours'))";

// PROTOCOL §8.6
export const scheduleTable: TableSpec = {
  name: 'kb_schedule',
  identity: ['id'],
  columns: [
    { name: 'id', create: 'INTEGER PRIMARY KEY' },
    { name: 'title', create: "TEXT NOT NULL DEFAULT ''", add: "TEXT NOT NULL DEFAULT ''" },
    { name: 'description', create: 'TEXT' },
    { name: 'message_type', create: "TEXT DEFAULT 'schedule'" },
    { name: 'reference_type', create: 'TEXT' },
    { name: 'reference_id', create: 'TEXT' },
    { name: 'template_variables', create: 'TEXT' },
    { name: 'processed_message', create: 'TEXT' },
    { name: 'created_by_type', create: "TEXT NOT NULL DEFAULT 'distributor'" },
    { name: 'created_by_id', create: "TEXT NOT NULL DEFAULT ''" },
    { name: 'created_by_mb_id', create: "TEXT NOT NULL DEFAULT ''" },
    { name: 'target_bot_name', create: 'TEXT NOT NULL', add: "TEXT NOT NULL DEFAULT ''" },
    { name: 'target_device_id', create: 'TEXT', add: 'TEXT' },
    { name: 'target_room_id', create: 'TEXT NOT NULL', add: "TEXT NOT NULL DEFAULT ''" },
    { name: 'message_text', create: 'TEXT', add: 'TEXT' },
    { name: 'message_images_1', create: 'TEXT', add: 'TEXT' },
    { name: 'message_images_2', create: 'TEXT', add: 'TEXT' },
    { name: 'message_thumbnails_1', create: 'TEXT' },
    { name: 'message_thumbnails_2', create: 'TEXT' },
    { name: 'image_storage_mode', create: "TEXT NOT NULL DEFAULT 'file'", add: "TEXT NOT NULL DEFAULT 'file'" },
    { name: 'send_interval_seconds', create: 'INTEGER DEFAULT 1', add: 'INTEGER DEFAULT 1' },
    { name: 'delay_minutes', create: 'INTEGER DEFAULT 0' },
    { name: 'media_wait_time_1', create: 'INTEGER DEFAULT 0', add: 'INTEGER DEFAULT 0' },
    { name: 'media_wait_time_2', create: 'INTEGER DEFAULT 0', add: 'INTEGER DEFAULT 0' },
    { name: 'schedule_type', create: "TEXT NOT NULL DEFAULT 'once'", add: "TEXT NOT NULL DEFAULT 'once'" },
    { name: 'schedule_date', create: 'TEXT' },
    { name: 'schedule_time', create: "TEXT NOT NULL DEFAULT '00:00:00'", add: "TEXT NOT NULL DEFAULT '00:00:00'" },
    { name: 'schedule_times', create: 'TEXT' },
    { name: 'schedule_weekdays', create: 'TEXT', add: 'TEXT' },
    { name: 'valid_from', create: 'TEXT', add: 'TEXT' },
    { name: 'valid_until', create: 'TEXT', add: 'TEXT' },
    { name: 'status', create: "TEXT NOT NULL DEFAULT 'active'", add: "TEXT NOT NULL DEFAULT 'active'" },
    { name: 'last_sent_at', create: 'TEXT', add: 'TEXT' },
    { name: 'next_send_at', create: 'TEXT', add: 'TEXT' },
    { name: 'send_count', create: 'INTEGER NOT NULL DEFAULT 0', add: 'INTEGER NOT NULL DEFAULT 0' },
    { name: 'created_at', create: `TEXT DEFAULT ${KST_NOW}`, add: 'TEXT' },
    { name: 'updated_at', create: `TEXT DEFAULT ${KST_NOW}`, add: 'TEXT' },
  ],
  constraints: [],
  indexes: [
    { suffix: 'polling', columns: ['status', 'next_send_at', 'valid_from', 'valid_until'] },
    { suffix: 'bot_device', columns: ['target_bot_name', 'target_device_id'] },
    { suffix: 'target_room', columns: ['target_room_id', 'target_bot_name'] },
  ],
};

// PROTOCOL §8.7
export const scheduleLogsTable: TableSpec = {
  name: 'kb_schedule_logs',
  identity: ['schedule_id'],
  columns: [
    { name: 'id', create: 'INTEGER PRIMARY KEY' },
    { name: 'schedule_id', create: 'INTEGER NOT NULL' },
    { name: 'target_room_id', create: "TEXT NOT NULL DEFAULT ''", add: "TEXT NOT NULL DEFAULT ''" },
    { name: 'target_device_id', create: 'TEXT', add: 'TEXT' },
    { name: 'sent_message_text', create: 'TEXT', add: 'TEXT' },
    { name: 'sent_images_1', create: 'TEXT', add: 'TEXT' },
    { name: 'sent_images_2', create: 'TEXT', add: 'TEXT' },
    { name: 'send_components', create: 'TEXT', add: 'TEXT' },
    { name: 'status', create: 'TEXT NOT NULL', add: "TEXT NOT NULL DEFAULT 'failed'" },
    { name: 'error_message', create: 'TEXT', add: 'TEXT' },
    { name: 'api_response', create: 'TEXT', add: 'TEXT' },
    { name: 'scheduled_at', create: 'TEXT NOT NULL', add: 'TEXT' },
    { name: 'started_at', create: 'TEXT NOT NULL', add: 'TEXT' },
    { name: 'completed_at', create: 'TEXT', add: 'TEXT' },
    { name: 'duration_ms', create: 'INTEGER', add: 'INTEGER' },
    { name: 'created_at', create: `TEXT DEFAULT ${KST_NOW}`, add: 'TEXT' },
  ],
  constraints: ['FOREIGN KEY (schedule_id) REFERENCES kb_schedule(id) ON DELETE CASCADE'],
  indexes: [
    { suffix: 'schedule', columns: ['schedule_id', 'scheduled_at'] },
    { suffix: 'status_time', columns: ['status', 'scheduled_at'] },
  ],
};

// PROTOCOL §8.8 (variant b, the one kb_server_processes refers to)
export const serversTable: TableSpec = {
  name: 'kb_servers',
  identity: ['server_name'],
  columns: [
    { name: 'server_id', create: 'INTEGER PRIMARY KEY' },
    { name: 'server_name', create: 'TEXT NOT NULL' },
    { name: 'server_host', create: "TEXT NOT NULL DEFAULT ''" },
    { name: 'priority', create: 'INTEGER DEFAULT 100' },
    { name: 'status', create: "TEXT DEFAULT 'healthy'" },
    { name: 'max_bots', create: 'INTEGER' },
    { name: 'current_bots', create: 'INTEGER DEFAULT 0' },
    { name: 'description', create: 'TEXT' },
    { name: 'created_at', create: `TEXT DEFAULT ${KST_NOW}` },
    { name: 'updated_at', create: `TEXT DEFAULT ${KST_NOW}` },
  ],
  constraints: ['UNIQUE (server_name)'],
  indexes: [],
};

// PROTOCOL §8.9
export const serverProcessesTable: TableSpec = {
  name: 'kb_server_processes',
  identity: ['process_name'],
  columns: [
    { name: 'id', create: 'INTEGER PRIMARY KEY' },
    { name: 'server_id', create: 'INTEGER NOT NULL DEFAULT 0' },
    { name: 'process_name', create: 'TEXT NOT NULL' },
    { name: 'port', create: 'INTEGER NOT NULL', add: 'INTEGER NOT NULL DEFAULT 0' },
    { name: 'type', create: "TEXT NOT NULL DEFAULT 'test'", add: "TEXT NOT NULL DEFAULT 'test'" },
    { name: 'pid', create: 'INTEGER', add: 'INTEGER' },
    { name: 'status', create: "TEXT NOT NULL DEFAULT 'stopped'", add: "TEXT NOT NULL DEFAULT 'stopped'" },
    { name: 'cpu_usage', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'memory_usage', create: 'REAL DEFAULT 0', add: 'REAL DEFAULT 0' },
    { name: 'last_heartbeat', create: 'TEXT', add: 'TEXT' },
    { name: 'supervisor_host', create: 'TEXT' },
    { name: 'supervisor_port', create: 'INTEGER' },
    { name: 'created_at', create: `TEXT DEFAULT ${KST_NOW}`, add: 'TEXT' },
    { name: 'updated_at', create: `TEXT DEFAULT ${KST_NOW}`, add: 'TEXT' },
  ],
  constraints: ['UNIQUE (process_name)', 'UNIQUE (server_id, port)'],
  indexes: [
    { suffix: 'status', columns: ['status'] },
    { suffix: 'last_heartbeat', columns: ['last_heartbeat'] },
  ],
};

export const SCHEDULE_SQLITE_TABLES: readonly TableSpec[] = [
  scheduleTable,
  scheduleLogsTable,
  serversTable,
  serverProcessesTable,
];
