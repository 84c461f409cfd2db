import mysql, { type Pool } from 'mysql2/promise';
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
