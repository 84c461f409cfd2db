import { type MysqlStore, type MysqlStoreOptions, openMysqlStore } from './mysql.js';
import { openSqliteStore, type SqliteStore } from './sqlite.js';

/**
 * Opens the store a database URL names (config `db.url`, `--db`, `MSGBOT_DB_URL`):
 * `sqlite:<path>` (or `sqlite::memory:`) or `mysql://user:pass@host:3306/db`.
 * It opens only; the caller runs migrate() (`serve` at start, or the `migrate` command).
 */
export async function openStore(url: string, opts: MysqlStoreOptions = {}): Promise<SqliteStore | MysqlStore> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (!file) throw new Error('sqlite: URL without a file (use sqlite:./data/msgbot.db or sqlite::memory:)');
    return openSqliteStore(file, opts.clock ? { clock: opts.clock } : {});
  }
  if (url.startsWith('mysql://')) return openMysqlStore(url, opts);
  throw new Error(`unsupported database URL (want sqlite:<file> or mysql://…): ${url.replace(/:[^:@/]*@/, ':***@')}`);
}
