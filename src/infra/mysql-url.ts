/** Where a `mysql://user:pass@host:3306/db` URL points: what the store's pool and the side pools connect to. */
export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** The URL with its password masked, for error messages and logs. */
function redactMysqlUrl(u: URL): string {
  const copy = new URL(u.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}

/** Parses a mysql:// URL; throws (password masked) when it is not one or names no database. */
export function mysqlTarget(url: string): MysqlTarget {
  const parsed = new URL(url);
  if (parsed.protocol !== 'mysql:') throw new Error(`not a mysql:// URL: ${redactMysqlUrl(parsed)}`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database)
    throw new Error(`the MySQL URL names no database: ${redactMysqlUrl(parsed)} (mysql://user:pass@host:3306/db)`);
  return {
    host: decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, '')) || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
  };
}
