import mysql, { type Pool, type ResultSetHeader } from 'mysql2/promise';
import { mysqlTarget } from './mysql-url.js';

/**
 * A small pool of its own for one of our tables beside the kb_* ones (the durable mailbox's
 * msgbot_inbox, the send record's msgbot_outbox; DESIGN.md §2): two connections, utf8mb4, no
 * connection until the first query.
 */
export function openSidePool(url: string, connectTimeoutMs = 10_000): Pool {
  return mysql.createPool({
    ...mysqlTarget(url),
    charset: 'UTF8MB4_UNICODE_CI',
    supportBigNumbers: true,
    bigNumberStrings: false,
    connectTimeout: connectTimeoutMs,
    connectionLimit: 2,
    waitForConnections: true,
    queueLimit: 0,
    enableKeepAlive: true,
  });
}

/** Rows one DELETE of `deleteInChunks` removes at most. */
export const DELETE_CHUNK = 2_000;

/**
 * Runs `deleteSql` (a DELETE ending in `LIMIT ${DELETE_CHUNK}`) until it removes fewer rows than
 * that, and returns how many it removed: one long DELETE would hold its locks against the inserts.
 */
export async function deleteInChunks(pool: Pool, deleteSql: string, params: (string | number)[]): Promise<number> {
  let total = 0;
  for (;;) {
    const [result] = await pool.query<ResultSetHeader>(deleteSql, params);
    total += result.affectedRows;
    if (result.affectedRows < DELETE_CHUNK) return total;
  }
}
