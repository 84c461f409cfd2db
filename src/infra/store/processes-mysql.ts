import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { HEARTBEAT_SQL, PROCESS_SELECT, statusSql, toProcessRow, usageParams } from './schedule-sql.js';
import type { ProcessRow, ProcessStore } from './schedule-types.js';

const ER_BAD_FIELD_ERROR = 1054;

/** kb_servers / kb_server_processes on MariaDB/MySQL (PROTOCOL §7.13, §8.8–§8.9). */
export function mysqlProcesses(pool: Pool): ProcessStore {
  const rows = async (sql: string, params: unknown[]) => (await pool.query<RowDataPacket[]>(sql, params))[0];
  const run = async (sql: string, params: unknown[]) => (await pool.query<ResultSetHeader>(sql, params))[0];
  const get = async (name: string): Promise<ProcessRow | undefined> => {
    const [raw] = await rows(`SELECT ${PROCESS_SELECT} FROM kb_server_processes WHERE process_name = ?`, [name]);
    return raw === undefined ? undefined : toProcessRow(raw);
  };
  /** PROTOCOL §8.8: variant (b) keys on server_id, the older variant (a) on id (and needs a port). */
  const serverId = async (host: string, port: number, now: string): Promise<number> => {
    let variantA = false;
    const find = async (): Promise<number | undefined> => {
      try {
        const [row] = await rows(
          `SELECT ${variantA ? 'id' : 'server_id'} AS id FROM kb_servers WHERE server_name = ?`,
          [host],
        );
        return row === undefined ? undefined : Number(row.id);
      } catch (error) {
        if ((error as { errno?: number }).errno !== ER_BAD_FIELD_ERROR || variantA) throw error;
        variantA = true;
        return find();
      }
    };
    const found = await find();
    if (found !== undefined) return found;
    if (variantA) {
      await run('INSERT IGNORE INTO kb_servers (server_name, server_host, server_port) VALUES (?, ?, ?)', [
        host,
        host,
        port,
      ]);
    } else {
      await run(
        "INSERT IGNORE INTO kb_servers (server_name, server_host, description, created_at, updated_at) VALUES (?, ?, 'msgbot-gateway', ?, ?)",
        [host, host.slice(0, 45), now, now],
      );
    }
    const id = await find();
    if (id === undefined) throw new Error(`kb_servers: could not create a row for ${host}`);
    return id;
  };
  return {
    getProcess: get,
    async ensureProcess(name, host, port, now) {
      const existing = await get(name);
      if (existing) return existing;
      const id = await serverId(host, port, now);
      await run(
        `INSERT IGNORE INTO kb_server_processes (server_id, process_name, port, type, status, updated_at)
         VALUES (?, ?, ?, 'live', 'stopped', ?)`,
        [id, name, port, now],
      );
      const row = await get(name);
      if (!row)
        throw new Error(`kb_server_processes: could not create ${name} (another process already has ${host}:${port})`);
      return row;
    },
    async setProcessStatus(name, status, pid, now) {
      const { sql, params } = statusSql(status, pid, now, name);
      await run(sql, params);
    },
    async processHeartbeat(name, cpu, memory, now) {
      await run(HEARTBEAT_SQL, [...usageParams(cpu, memory), now, now, name]);
    },
  };
}
