import type { Outbox } from '../../actors/outbox.js';
import { openMysqlOutbox } from './mysql.js';
import { openSqliteOutbox } from './sqlite.js';

/**
 * The durable send record for a database URL (the store's `db.url`): the same database, our own
 * table `msgbot_outbox` (DESIGN.md §2 outbound path). `sqlite::memory:` lives as long as the process.
 */
export function openOutbox(
  url: string,
  opts: { connectTimeoutMs?: number; onBadRow?: (id: string, error: string) => void } = {},
): Outbox {
  if (url.startsWith('sqlite:')) return openSqliteOutbox(url.slice('sqlite:'.length), { onBadRow: opts.onBadRow });
  if (url.startsWith('mysql://')) return openMysqlOutbox(url, opts);
  throw new Error('unsupported database URL for the send record (want sqlite:<file> or mysql://…)');
}
