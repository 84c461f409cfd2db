import type Database from 'better-sqlite3';
import { openSqliteStore, type SqliteStore } from '../../src/infra/store/sqlite.js';
import type { RawRow, StoreHarness } from './store.suite.js';

/** Test access to the store's own connection (same in-memory database). */
export function sqliteDb(store: SqliteStore): Database.Database {
  return (store as unknown as { db: Database.Database }).db;
}

export function sqliteQuery(db: Database.Database, sql: string, params: unknown[] = []): RawRow[] {
  const stmt = db.prepare(sql);
  if (stmt.reader) return stmt.all(...params) as RawRow[];
  stmt.run(...params);
  return [];
}

export function sqliteSchema(db: Database.Database): string {
  const rows = db
    .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
    .all();
  return JSON.stringify(rows, null, 1);
}

export async function openSqliteHarness(file: string, clock: { now(): number }): Promise<StoreHarness> {
  const store = openSqliteStore(file, { clock });
  await store.migrate();
  const db = sqliteDb(store);
  return {
    store,
    query: async (sql, params) => sqliteQuery(db, sql, params),
    schema: async () => sqliteSchema(db),
    dispose: () => store.close(),
  };
}
