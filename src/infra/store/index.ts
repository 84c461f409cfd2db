export * from './errors.js';
export { kstDateTime, parseKstDateTime } from './kst.js';
export type { MigrationReport } from './migrations/report.js';
export { type MysqlStore, type MysqlStoreOptions, openMysqlStore } from './mysql.js';
export { openStore } from './open.js';
export { openSqliteStore, type SqliteStore, type StoreOptions } from './sqlite.js';
export * from './types.js';
