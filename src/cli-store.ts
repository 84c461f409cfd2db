import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { storeUrl } from './daemon.js';
import { describeStore } from './infra/cli-hint.js';
import type { Config } from './infra/config/schema.js';
import type { MysqlStore } from './infra/store/mysql.js';
import { openStore } from './infra/store/open.js';
import type { SqliteStore } from './infra/store/sqlite.js';

/**
 * The store the CLI acts on. It always says which (stderr, so scripts reading stdout are not
 * disturbed), and only `serve` and `migrate` ever create a database: every other command
 * refuses a SQLite file that does not exist instead of creating an empty one where it is run.
 */

export class CliError extends Error {}

/** The SQLite file of `url`, or undefined for MySQL and in-memory databases. */
function sqliteFile(url: string): string | undefined {
  if (!url.startsWith('sqlite:')) return undefined;
  const file = url.slice('sqlite:'.length);
  return file === ':memory:' || file.startsWith('file:') ? undefined : resolve(file);
}

export async function openCliStore(config: Config, opts: { create: boolean }): Promise<SqliteStore | MysqlStore> {
  const url = storeUrl(config);
  process.stderr.write(`store: ${describeStore(url)}\n`);
  const file = sqliteFile(url);
  if (file !== undefined && !opts.create && !existsSync(file)) {
    throw new CliError(
      `no database at ${file}; this command never creates one. Start the daemon (msgbot-gateway serve) or run msgbot-gateway migrate first, or point at the daemon's store with --data <dir> (or --db <url>, --config <file>)`,
    );
  }
  const store = await openStore(url, { connectTimeoutMs: config.db.connectTimeoutMs });
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  for (const warning of store.lastMigration?.warnings ?? []) process.stderr.write(`migration warning: ${warning}\n`);
  return store;
}
