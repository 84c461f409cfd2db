import { randomBytes } from 'node:crypto';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { describe, it } from 'vitest';
import type { MysqlStoreOptions } from '../../src/infra/store/mysql.js';
import { openMysqlStore } from '../../src/infra/store/mysql.js';
import type { RawRow, StoreHarness } from './store.suite.js';

/** The MariaDB server the tests may use; each test file works in its own scratch database. */
export const MYSQL_SERVER_URL = process.env.MSGBOT_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';

export const KB_TABLES = ['kb_bot_devices', 'kb_rooms', 'kb_chat_logs', 'kb_ping_monitor', 'kb_system_monitor'];

function connectionOptions(database?: string) {
  const u = new URL(MYSQL_SERVER_URL);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    charset: 'UTF8MB4_UNICODE_CI',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    multipleStatements: true,
    connectTimeout: 3_000,
    ...(database ? { database } : {}),
  };
}

/** The store URL for a database on the test server. */
export function databaseUrl(name: string): string {
  const u = new URL(MYSQL_SERVER_URL);
  u.pathname = `/${name}`;
  return u.href;
}

async function reachable(): Promise<Error | undefined> {
  try {
    const conn = await mysql.createConnection(connectionOptions());
    await conn.query('SELECT 1');
    await conn.end();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

const unreachable = await reachable();

/**
 * Registers MariaDB tests. Without a reachable server they fail under CI (the CI job promises a
 * MariaDB run) and are skipped, visibly, on a developer machine.
 */
export function describeMysql(name: string, body: () => void): void {
  if (!unreachable) {
    describe(name, body);
    return;
  }
  const why = `MariaDB at ${MYSQL_SERVER_URL} is not reachable (${unreachable.message})`;
  if (process.env.CI) {
    describe(name, () => {
      it('needs MariaDB (CI is set)', () => {
        throw new Error(`${why}; .ci/run should have started it`);
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: ${why}. Set MSGBOT_TEST_MYSQL_URL or start MariaDB to run it.`);
  describe.skip(name, body);
}

export interface ScratchDatabase {
  name: string;
  url: string;
  /** a connection inside the scratch database, for fixtures and assertions */
  conn: Connection;
  query(sql: string, params?: unknown[]): Promise<RawRow[]>;
  drop(): Promise<void>;
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `msgbot_test_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection(connectionOptions());
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const conn = await mysql.createConnection(connectionOptions(name));
  return {
    name,
    url: databaseUrl(name),
    conn,
    async query(sql, params = []) {
      const [rows] = await conn.query<RowDataPacket[]>(sql, params);
      return Array.isArray(rows) ? (rows as RawRow[]) : [];
    },
    async drop() {
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

/** SHOW CREATE TABLE of the kb_* tables, without the AUTO_INCREMENT counter that rows move. */
export async function mysqlSchema(db: ScratchDatabase): Promise<string> {
  const out: string[] = [];
  for (const table of KB_TABLES) {
    const [row] = await db.query(`SHOW CREATE TABLE \`${table}\``);
    out.push(String(row?.['Create Table']).replace(/ AUTO_INCREMENT=\d+/, ''));
  }
  return out.join('\n');
}

export async function openMysqlHarness(
  db: ScratchDatabase,
  opts: MysqlStoreOptions & { clock: { now(): number } },
): Promise<StoreHarness> {
  const store = await openMysqlStore(db.url, { poolSize: 4, ...opts });
  await store.migrate();
  for (const table of KB_TABLES) await db.query(`TRUNCATE TABLE \`${table}\``);
  return {
    store,
    query: (sql, params) => db.query(sql, params),
    schema: () => mysqlSchema(db),
    dispose: () => store.close(),
  };
}
