/** How a SQLite table of ours is described for the migration (sqlite.ts). */

export interface ColumnSpec {
  name: string;
  create: string;
  /** SQLite can only add a column that is nullable or has a constant default */
  add?: string;
}

export interface TableSpec {
  name: string;
  columns: ColumnSpec[];
  constraints: string[];
  /** `CREATE INDEX` column lists, named idx_<table>_<suffix> (index names are database-wide) */
  indexes: { suffix: string; columns: string[] }[];
  identity: string[];
  uniqueKey?: { columns: string[]; narrowerWarning: string };
  timeColumn?: string;
}
