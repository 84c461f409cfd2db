import type Database from 'better-sqlite3';
import type { DueQuery, ScheduleLogEntry, ScheduleRow } from '../../actors/scheduler-ports.js';
import {
  ADD_SCHEDULE_SQL,
  addParams,
  advanceSql,
  CLAIM_SQL,
  CLAIMED_SQL,
  claimParams,
  dueSql,
  INSERT_LOG_SQL,
  LAST_OUTCOMES_SQL,
  listSql,
  logParams,
  RECLAIM_SQL,
  reclaimParams,
  toClaimedSchedule,
  toLastOutcome,
  toScheduleRow,
} from './schedule-sql.js';
import type { NewSchedule, ScheduleListFilter, ScheduleStore } from './schedule-types.js';

type Raw = Record<string, unknown>;

/** kb_schedule / kb_schedule_logs on SQLite (PROTOCOL §7.12, §8.6–§8.7). */
export function sqliteSchedules(db: Database.Database): ScheduleStore {
  const all = (sql: string, params: unknown[]) => db.prepare(sql).all(...params) as Raw[];
  const run = (sql: string, params: unknown[]) => db.prepare(sql).run(...params);
  return {
    async dueSchedules(query: DueQuery): Promise<ScheduleRow[]> {
      if (query.bots.length === 0) return [];
      const { sql, params } = dueSql(query);
      return all(sql, params).map(toScheduleRow);
    },
    async claimSchedule(id: number, scheduledAt: string, now: string): Promise<boolean> {
      return run(CLAIM_SQL, claimParams(id, scheduledAt, now)).changes === 1;
    },
    async claimedSchedules(limit: number) {
      return all(CLAIMED_SQL, [limit]).map(toClaimedSchedule);
    },
    async reclaimSchedule(id, scheduledAt, claimedAt, now): Promise<boolean> {
      return run(RECLAIM_SQL, reclaimParams(id, scheduledAt, claimedAt, now)).changes === 1;
    },
    async insertScheduleLog(entry: ScheduleLogEntry): Promise<void> {
      run(INSERT_LOG_SQL, logParams(entry));
    },
    async advanceSchedule(id, next, now): Promise<void> {
      const { sql, params } = advanceSql(id, next, now);
      run(sql, params);
    },
    async listSchedules(filter?: ScheduleListFilter): Promise<ScheduleRow[]> {
      const { sql, params } = listSql(filter);
      return all(sql, params).map(toScheduleRow);
    },
    async addSchedule(schedule: NewSchedule): Promise<number> {
      return Number(run(ADD_SCHEDULE_SQL, addParams(schedule)).lastInsertRowid);
    },
    async setScheduleStatus(id, status, now): Promise<boolean> {
      return run('UPDATE kb_schedule SET status = ?, updated_at = ? WHERE id = ?', [status, now, id]).changes === 1;
    },
    async lastOutcomes() {
      return new Map(all(LAST_OUTCOMES_SQL, []).map(toLastOutcome));
    },
    async deleteSchedule(id: number): Promise<boolean> {
      // foreign keys are off in our SQLite files: the cascade of §8.7 is done here
      return db.transaction(() => {
        run('DELETE FROM kb_schedule_logs WHERE schedule_id = ?', [id]);
        return run('DELETE FROM kb_schedule WHERE id = ?', [id]).changes === 1;
      })();
    },
  };
}
