/** How a MariaDB/MySQL table of ours is described for the migration (mysql.ts). */

export interface ColumnSpec {
  name: string;
  /** definition in a table we create */
  create: string;
  /**
   * definition when the column is added to an operator's table; set for the columns the server
   * reads or writes. Existing rows get NULL or the neutral default, never an invented time.
   */
  add?: string;
}

export interface TableSpec {
  name: string;
  columns: ColumnSpec[];
  /** PRIMARY/UNIQUE/KEY clauses of a table we create */
  keys: string[];
  /** columns without which the table is something else: we refuse instead of guessing */
  identity: string[];
  /** the row identity we upsert on; a unique key over exactly these is added if none covers them */
  uniqueKey?: { name: string; columns: string[]; narrowerWarning: string };
  /** an index whose first column is this is added if missing (retention deletes by it) */
  timeIndex?: { name: string; column: string };
}
