import type Database from 'better-sqlite3';
import { MigrationError } from '../errors.js';
import { CORE_SQLITE_TABLES } from './core-tables-sqlite.js';
import type { MigrationReport } from './report.js';
import { SCHEDULE_SQLITE_TABLES } from './schedule-tables-sqlite.js';
import type { TableSpec } from './sqlite-table-spec.js';

/**
 * SQLite migration: the same tables and columns as the MariaDB schema (PROTOCOL §8.1–§8.5) in
 * SQLite's types. Times are KST text `YYYY-MM-DD HH:MM:SS` (§8.0), which sorts and compares as
 * text. As for MariaDB, an existing table only ever gains what we need; one transaction, so a
 * failed run leaves nothing half-done, and a second run issues no DDL.
 */

export const SQLITE_TABLES: readonly TableSpec[] = [
  // PROTOCOL §8.1–§8.5
  ...CORE_SQLITE_TABLES,
  // PROTOCOL §8.6–§8.9
  ...SCHEDULE_SQLITE_TABLES,
];

interface IndexListRow {
  name: string;
  unique: number;
  partial: number;
}

export function migrateSqlite(db: Database.Database): MigrationReport {
  const report: MigrationReport = { createdTables: [], addedColumns: [], addedIndexes: [], warnings: [] };
  db.transaction(() => {
    for (const spec of SQLITE_TABLES) migrateTable(db, spec, report);
  }).immediate();
  return report;
}

function columnNames(db: Database.Database, table: string): Set<string> {
  const rows = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
  return new Set(rows.map((r) => r.name));
}

function indexes(db: Database.Database, table: string): { name: string; unique: boolean; columns: string[] }[] {
  const list = db.prepare('SELECT name, "unique", partial FROM pragma_index_list(?)').all(table) as IndexListRow[];
  return list
    .filter((ix) => ix.partial === 0)
    .map((ix) => ({
      name: ix.name,
      unique: ix.unique === 1,
      columns: (
        db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all(ix.name) as { name: string | null }[]
      ).map((c) => c.name ?? ''),
    }));
}

function migrateTable(db: Database.Database, spec: TableSpec, report: MigrationReport): void {
  const columns = columnNames(db, spec.name);
  if (columns.size === 0) {
    const body = [...spec.columns.map((c) => `"${c.name}" ${c.create}`), ...spec.constraints].join(',\n  ');
    db.exec(`CREATE TABLE "${spec.name}" (\n  ${body}\n)`);
    for (const ix of spec.indexes) {
      db.exec(`CREATE INDEX "idx_${spec.name}_${ix.suffix}" ON "${spec.name}" (${ix.columns.join(', ')})`);
    }
    report.createdTables.push(spec.name);
    return;
  }

  const missingIdentity = spec.identity.filter((c) => !columns.has(c));
  if (missingIdentity.length > 0) {
    throw new MigrationError(
      `${spec.name} exists but has no ${missingIdentity.join(', ')} column: it is not a table this server can use`,
    );
  }
  for (const c of spec.columns) {
    if (c.add === undefined || columns.has(c.name)) continue;
    db.exec(`ALTER TABLE "${spec.name}" ADD COLUMN "${c.name}" ${c.add}`);
    report.addedColumns.push(`${spec.name}.${c.name}`);
  }

  const existing = indexes(db, spec.name);
  const key = spec.uniqueKey;
  if (key) {
    const within = existing.filter((ix) => ix.unique && ix.columns.every((c) => key.columns.includes(c)));
    if (within.length > 0 && !within.some((ix) => ix.columns.length === key.columns.length)) {
      report.warnings.push(key.narrowerWarning);
    } else if (within.length === 0) {
      const name = `uk_${spec.name}_${key.columns.join('_')}`;
      try {
        db.exec(`CREATE UNIQUE INDEX "${name}" ON "${spec.name}" (${key.columns.join(', ')})`);
        report.addedIndexes.push(`${spec.name}.${name}`);
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
        report.warnings.push(`${spec.name} has rows repeating (${key.columns.join(', ')}); no unique key was added`);
      }
    }
  }
  if (spec.timeColumn && !existing.some((ix) => ix.columns[0] === spec.timeColumn)) {
    const name = `idx_${spec.name}_${spec.timeColumn}`;
    db.exec(`CREATE INDEX "${name}" ON "${spec.name}" (${spec.timeColumn})`);
    report.addedIndexes.push(`${spec.name}.${name}`);
  }
}
