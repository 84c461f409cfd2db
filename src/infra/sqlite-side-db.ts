import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * A connection of its own to the gateway's SQLite file for one of our tables beside the kb_* ones
 * (the durable mailbox's msgbot_inbox, the send record's msgbot_outbox; DESIGN.md §2). WAL lets it
 * write beside the store's connection.
 */
export function openSideDatabase(file: string): Database.Database {
  if (file !== ':memory:' && !file.startsWith('file:')) mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL: a committed transaction survives a process crash (SIGKILL); only a power loss
  // can take the last ones back, which is the store's trade-off too.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
