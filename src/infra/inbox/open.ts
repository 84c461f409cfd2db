import type { Inbox } from '../../actors/inbox.js';
import { openMysqlInbox } from './mysql.js';
import { openSqliteInbox } from './sqlite.js';

/**
 * The durable mailbox for a database URL (the store's `db.url`): the same database, our own table
 * (DESIGN.md §2). `sqlite::memory:` gives a mailbox that lives as long as the process.
 */
export function openInbox(
  url: string,
  opts: { connectTimeoutMs?: number; onBadRow?: (seq: number, error: string) => void } = {},
): Inbox {
  if (url.startsWith('sqlite:')) return openSqliteInbox(url.slice('sqlite:'.length), { onBadRow: opts.onBadRow });
  if (url.startsWith('mysql://')) return openMysqlInbox(url, opts);
  throw new Error('unsupported database URL for the durable mailbox (want sqlite:<file> or mysql://…)');
}
