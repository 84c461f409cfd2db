import type Database from 'better-sqlite3';
import { HEARTBEAT_SQL, PROCESS_SELECT, statusSql, toProcessRow, usageParams } from './schedule-sql.js';
import type { ProcessRow, ProcessStore } from './schedule-types.js';

type Raw = Record<string, unknown>;

/** kb_servers / kb_server_processes on SQLite (PROTOCOL §7.13, §8.8–§8.9). */
export function sqliteProcesses(db: Database.Database): ProcessStore {
  const get = (name: string): ProcessRow | undefined => {
    const raw = db.prepare(`SELECT ${PROCESS_SELECT} FROM kb_server_processes WHERE process_name = ?`).get(name) as
      | Raw
      | undefined;
    return raw === undefined ? undefined : toProcessRow(raw);
  };
  return {
    async getProcess(name) {
      return get(name);
    },
    async ensureProcess(name, host, port, now) {
      const existing = get(name);
      if (existing) return existing;
      db.transaction(() => {
        db.prepare(
          "INSERT OR IGNORE INTO kb_servers (server_name, server_host, description, created_at, updated_at) VALUES (?, ?, 'msgbot-gateway', ?, ?)",
        ).run(host, host, now, now);
        const server = db.prepare('SELECT server_id FROM kb_servers WHERE server_name = ?').get(host) as Raw;
        db.prepare(
          `INSERT OR IGNORE INTO kb_server_processes (server_id, process_name, port, type, status, created_at, updated_at)
           VALUES (?, ?, ?, 'live', 'stopped', ?, ?)`,
        ).run(Number(server.server_id), name, port, now, now);
      })();
      const row = get(name);
      if (!row)
        throw new Error(`kb_server_processes: could not create ${name} (another process already has ${host}:${port})`);
      return row;
    },
    async setProcessStatus(name, status, pid, now) {
      const { sql, params } = statusSql(status, pid, now, name);
      db.prepare(sql).run(...params);
    },
    async processHeartbeat(name, cpu, memory, now) {
      db.prepare(HEARTBEAT_SQL).run(...usageParams(cpu, memory), now, now, name);
    },
  };
}
