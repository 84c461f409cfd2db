/** What a migrate() run did; the `migrate` command prints it and `serve` logs the warnings. */
export interface MigrationReport {
  createdTables: string[];
  /** `table.column` */
  addedColumns: string[];
  /** `table.index` */
  addedIndexes: string[];
  /** conditions we leave to the operator (we never drop or retype) */
  warnings: string[];
}
