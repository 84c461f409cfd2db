import type { TableSpec } from './mysql-table-spec.js';

/**
 * MariaDB/MySQL forms of the scheduler and process tables (PROTOCOL §8.6–§8.9), with the
 * reference types. In an operator's existing table only the columns the server reads or writes
 * are added (`add`); back-office columns are created only in a table we create.
 */

const DATETIME_ADDED = 'DATETIME NULL DEFAULT NULL';

// PROTOCOL §8.6
export const scheduleTable: TableSpec = {
  name: 'kb_schedule',
  identity: ['id'],
  columns: [
    { name: 'id', create: 'INT NOT NULL AUTO_INCREMENT' },
    { name: 'title', create: 'VARCHAR(255) NOT NULL', add: "VARCHAR(255) NOT NULL DEFAULT ''" },
    { name: 'description', create: 'TEXT NULL' },
    {
      name: 'message_type',
      create: "ENUM('schedule','order_complete','stock_warning','stock_out') NULL DEFAULT 'schedule'",
    },
    { name: 'reference_type', create: 'VARCHAR(50) NULL' },
    { name: 'reference_id', create: 'VARCHAR(100) NULL' },
    { name: 'template_variables', create: 'JSON NULL' },
    { name: 'processed_message', create: 'TEXT NULL' },
    { name: 'created_by_type', create: "ENUM('distributor','agency','branch') NOT NULL" },
    { name: 'created_by_id', create: 'VARCHAR(50) NOT NULL' },
    { name: 'created_by_mb_id', create: 'VARCHAR(50) NOT NULL' },
    { name: 'target_bot_name', create: 'VARCHAR(30) NOT NULL', add: "VARCHAR(30) NOT NULL DEFAULT ''" },
    { name: 'target_device_id', create: 'VARCHAR(100) NULL', add: 'VARCHAR(100) NULL' },
    { name: 'target_room_id', create: 'VARCHAR(100) NOT NULL', add: "VARCHAR(100) NOT NULL DEFAULT ''" },
    { name: 'message_text', create: 'TEXT NULL', add: 'TEXT NULL' },
    { name: 'message_images_1', create: 'JSON NULL', add: 'JSON NULL' },
    { name: 'message_images_2', create: 'JSON NULL', add: 'JSON NULL' },
    { name: 'message_thumbnails_1', create: 'JSON NULL' },
    { name: 'message_thumbnails_2', create: 'JSON NULL' },
    {
      name: 'image_storage_mode',
      create: "ENUM('file','base64') NOT NULL DEFAULT 'file'",
      add: "ENUM('file','base64') NOT NULL DEFAULT 'file'",
    },
    { name: 'send_interval_seconds', create: 'INT NULL DEFAULT 1', add: 'INT NULL DEFAULT 1' },
    { name: 'delay_minutes', create: 'INT NULL DEFAULT 0' },
    { name: 'media_wait_time_1', create: 'INT NULL DEFAULT 0', add: 'INT NULL DEFAULT 0' },
    { name: 'media_wait_time_2', create: 'INT NULL DEFAULT 0', add: 'INT NULL DEFAULT 0' },
    {
      name: 'schedule_type',
      create: "ENUM('once','weekly','daily') NOT NULL",
      add: "ENUM('once','weekly','daily') NOT NULL DEFAULT 'once'",
    },
    { name: 'schedule_date', create: 'DATE NULL' },
    { name: 'schedule_time', create: 'TIME NOT NULL', add: "TIME NOT NULL DEFAULT '00:00:00'" },
    { name: 'schedule_times', create: 'JSON NULL' },
    {
      name: 'schedule_weekdays',
      create: "SET('monday','tuesday','wednesday','thursday','friday','saturday','sunday') NULL",
      add: "SET('monday','tuesday','wednesday','thursday','friday','saturday','sunday') NULL",
    },
    { name: 'valid_from', create: 'DATETIME NOT NULL', add: DATETIME_ADDED },
    { name: 'valid_until', create: 'DATETIME NOT NULL', add: DATETIME_ADDED },
    {
      name: 'status',
      create: "ENUM('active','inactive','completed','error') NULL DEFAULT 'active'",
      add: "ENUM('active','inactive','completed','error') NULL DEFAULT 'active'",
    },
    { name: 'last_sent_at', create: 'DATETIME NULL', add: DATETIME_ADDED },
    { name: 'next_send_at', create: 'DATETIME NULL', add: DATETIME_ADDED },
    { name: 'send_count', create: 'INT NULL DEFAULT 0', add: 'INT NULL DEFAULT 0' },
    { name: 'created_at', create: 'DATETIME NULL DEFAULT CURRENT_TIMESTAMP', add: DATETIME_ADDED },
    {
      name: 'updated_at',
      create: 'DATETIME NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP',
      add: DATETIME_ADDED,
    },
  ],
  keys: [
    'PRIMARY KEY (id)',
    'KEY idx_schedule_polling (status, next_send_at, valid_from, valid_until)',
    'KEY idx_created_by (created_by_type, created_by_id)',
    'KEY idx_target_room (target_room_id, target_bot_name)',
    'KEY idx_target_bot (target_bot_name, target_room_id)',
    'KEY idx_bot_device (target_bot_name, target_device_id)',
    'KEY idx_message_type_status (message_type, status)',
    'KEY idx_reference (reference_type, reference_id)',
    'KEY idx_schedule_datetime (schedule_date, schedule_time)',
  ],
};

// PROTOCOL §8.7
export const scheduleLogsTable: TableSpec = {
  name: 'kb_schedule_logs',
  identity: ['schedule_id'],
  columns: [
    { name: 'id', create: 'INT NOT NULL AUTO_INCREMENT' },
    { name: 'schedule_id', create: 'INT NOT NULL' },
    { name: 'target_room_id', create: 'VARCHAR(100) NOT NULL', add: "VARCHAR(100) NOT NULL DEFAULT ''" },
    { name: 'target_device_id', create: 'VARCHAR(100) NULL', add: 'VARCHAR(100) NULL' },
    { name: 'sent_message_text', create: 'TEXT NULL', add: 'TEXT NULL' },
    { name: 'sent_images_1', create: 'JSON NULL', add: 'JSON NULL' },
    { name: 'sent_images_2', create: 'JSON NULL', add: 'JSON NULL' },
    { name: 'send_components', create: 'VARCHAR(50) NULL', add: 'VARCHAR(50) NULL' },
    {
      name: 'status',
      create: "ENUM('success','failed','partial') NOT NULL",
      add: "ENUM('success','failed','partial') NOT NULL DEFAULT 'failed'",
    },
    { name: 'error_message', create: 'TEXT NULL', add: 'TEXT NULL' },
    { name: 'api_response', create: 'JSON NULL', add: 'JSON NULL' },
    { name: 'scheduled_at', create: 'DATETIME NOT NULL', add: DATETIME_ADDED },
    { name: 'started_at', create: 'DATETIME NOT NULL', add: DATETIME_ADDED },
    { name: 'completed_at', create: 'DATETIME NULL', add: DATETIME_ADDED },
    { name: 'duration_ms', create: 'INT NULL', add: 'INT NULL' },
    { name: 'created_at', create: 'DATETIME NULL DEFAULT CURRENT_TIMESTAMP', add: DATETIME_ADDED },
  ],
  keys: [
    'PRIMARY KEY (id)',
    'KEY fk_schedule_logs_schedule (schedule_id)',
    'KEY idx_target_room_logs (target_room_id)',
    'KEY idx_status_time (status, scheduled_at)',
    'CONSTRAINT fk_schedule_logs_schedule FOREIGN KEY (schedule_id) REFERENCES kb_schedule (id) ON DELETE CASCADE',
  ],
};

// PROTOCOL §8.8 variant (b): the one the newest kb_server_processes refers to
export const serversTable: TableSpec = {
  name: 'kb_servers',
  identity: ['server_name'],
  columns: [
    { name: 'server_id', create: 'INT NOT NULL AUTO_INCREMENT' },
    { name: 'server_name', create: 'VARCHAR(100) NOT NULL' },
    { name: 'server_host', create: "VARCHAR(45) NOT NULL DEFAULT ''" },
    { name: 'priority', create: 'INT NULL DEFAULT 100' },
    {
      name: 'status',
      create: "ENUM('healthy','degraded','maintenance','failed') NULL DEFAULT 'healthy'",
    },
    { name: 'max_bots', create: 'INT NULL' },
    { name: 'current_bots', create: 'INT NULL DEFAULT 0' },
    { name: 'description', create: 'TEXT NULL' },
    { name: 'created_at', create: 'DATETIME NULL DEFAULT CURRENT_TIMESTAMP' },
    { name: 'updated_at', create: 'DATETIME NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP' },
  ],
  keys: ['PRIMARY KEY (server_id)', 'UNIQUE KEY uk_server_name (server_name)'],
};

// PROTOCOL §8.9 (newest definition). No foreign key: an operator's kb_servers may be variant (a).
export const serverProcessesTable: TableSpec = {
  name: 'kb_server_processes',
  identity: ['process_name'],
  columns: [
    { name: 'id', create: 'INT NOT NULL AUTO_INCREMENT' },
    { name: 'server_id', create: 'INT NOT NULL' },
    { name: 'process_name', create: 'VARCHAR(100) NOT NULL' },
    { name: 'port', create: 'INT NOT NULL', add: 'INT NOT NULL DEFAULT 0' },
    {
      name: 'type',
      create: "ENUM('test','live') NOT NULL DEFAULT 'test'",
      add: "ENUM('test','live') NOT NULL DEFAULT 'test'",
    },
    { name: 'pid', create: 'INT NULL', add: 'INT NULL' },
    {
      name: 'status',
      create: "ENUM('stopped','starting','running','stopping','error','crashed') NOT NULL DEFAULT 'stopped'",
      add: "ENUM('stopped','starting','running','stopping','error','crashed') NOT NULL DEFAULT 'stopped'",
    },
    { name: 'cpu_usage', create: 'DECIMAL(5,2) NULL DEFAULT 0.00', add: 'DECIMAL(5,2) NULL DEFAULT 0.00' },
    { name: 'memory_usage', create: 'DECIMAL(10,2) NULL DEFAULT 0.00', add: 'DECIMAL(10,2) NULL DEFAULT 0.00' },
    { name: 'last_heartbeat', create: 'DATETIME NULL', add: DATETIME_ADDED },
    { name: 'supervisor_host', create: 'VARCHAR(100) NULL' },
    { name: 'supervisor_port', create: 'INT NULL' },
    { name: 'created_at', create: 'TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP' },
    { name: 'updated_at', create: 'TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP' },
  ],
  keys: [
    'PRIMARY KEY (id)',
    'UNIQUE KEY uk_process_name (process_name)',
    'UNIQUE KEY uk_server_port (server_id, port)',
    'KEY idx_server_id (server_id)',
    'KEY idx_status (status)',
    'KEY idx_last_heartbeat (last_heartbeat)',
  ],
};

export const SCHEDULE_MYSQL_TABLES: readonly TableSpec[] = [
  scheduleTable,
  scheduleLogsTable,
  serversTable,
  serverProcessesTable,
];
