import mysql, { type Pool } from 'mysql2/promise';

/**
 * A small pool of its own for one of our tables beside the kb_* ones (the durable mailbox's
 * msgbot_inbox, the send record's msgbot_outbox; DESIGN.md §2): two connections, utf8mb4, no
 * connection until the first query.
 */
export function openSidePool(url: string, connectTimeoutMs = 10_000): Pool {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new Error('the MySQL URL names no database (mysql://user:pass@host:3306/<db>)');
  return mysql.createPool({
    host: decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, '')) || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
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
