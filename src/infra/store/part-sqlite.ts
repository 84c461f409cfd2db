/** What the SQLite store's parts share: database, clock, statements prepared on first use, unique-key errors. */
import type Database from 'better-sqlite3';

/**
 * A part's prepared statements by name. Spelled out (not inferred from `db.prepare`) so that the
 * declaration build (`npm run build`, declaration: true) can name the type in `extends SqlitePart<…>`.
 */
export type Statements<K extends string> = Record<K, Database.Statement>;

/** Base of the SQLite store's devices, rooms and telemetry parts; sqlite.ts builds them anew after each migrate(). */
export abstract class SqlitePart<S> {
  private stmts: S | undefined;
  /** builds the part's statements; `s` calls it once */
  protected abstract readonly prepare: (db: Database.Database) => S;

  constructor(
    protected readonly db: Database.Database,
    protected readonly now: () => string,
  ) {}

  /** Prepared on first use: preparing needs the tables, which migrate() creates. */
  protected get s(): S {
    this.stmts ??= this.prepare(this.db);
    return this.stmts;
  }
}

/** Whether a better-sqlite3 error is an insert hitting a UNIQUE or PRIMARY KEY constraint. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
