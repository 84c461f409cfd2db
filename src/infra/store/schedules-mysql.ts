import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
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

/** kb_schedule / kb_schedule_logs on MariaDB/MySQL (PROTOCOL §7.12, §8.6–§8.7). */
export function mysqlSchedules(pool: Pool): ScheduleStore {
  const rows = async (sql: string, params: unknown[]) => (await pool.query<RowDataPacket[]>(sql, params))[0];
  const run = async (sql: string, params: unknown[]) => (await pool.query<ResultSetHeader>(sql, params))[0];
  return {
    async dueSchedules(query: DueQuery): Promise<ScheduleRow[]> {
      if (query.bots.length === 0) return [];
      const { sql, params } = dueSql(query);
      return (await rows(sql, params)).map(toScheduleRow);
    },
    async claimSchedule(id: number, scheduledAt: string, now: string): Promise<boolean> {
      // the pool runs with -FOUND_ROWS: affectedRows counts rows really changed
      return (await run(CLAIM_SQL, claimParams(id, scheduledAt, now))).affectedRows === 1;
    },
    async claimedSchedules(limit: number) {
      return (await rows(CLAIMED_SQL, [limit])).map(toClaimedSchedule);
    },
    async reclaimSchedule(id, scheduledAt, claimedAt, now): Promise<boolean> {
      return (await run(RECLAIM_SQL, reclaimParams(id, scheduledAt, claimedAt, now))).affectedRows === 1;
    },
    async insertScheduleLog(entry: ScheduleLogEntry): Promise<void> {
      await run(INSERT_LOG_SQL, logParams(entry));
    },
    async advanceSchedule(id, next, now): Promise<void> {
      const { sql, params } = advanceSql(id, next, now);
      await run(sql, params);
    },
    async listSchedules(filter?: ScheduleListFilter): Promise<ScheduleRow[]> {
      const { sql, params } = listSql(filter);
      return (await rows(sql, params)).map(toScheduleRow);
    },
    async addSchedule(schedule: NewSchedule): Promise<number> {
      return (await run(ADD_SCHEDULE_SQL, addParams(schedule))).insertId;
    },
    async setScheduleStatus(id, status, now): Promise<boolean> {
      return (
        (await run('UPDATE kb_schedule SET status = ?, updated_at = ? WHERE id = ?', [status, now, id]))
          .affectedRows === 1
      );
    },
    async lastOutcomes() {
      return new Map((await rows(LAST_OUTCOMES_SQL, [])).map((r) => toLastOutcome(r)));
    },
    async deleteSchedule(id: number): Promise<boolean> {
      // the foreign key cascades in a table we created; an operator's table may lack it
      await run('DELETE FROM kb_schedule_logs WHERE schedule_id = ?', [id]);
      return (await run('DELETE FROM kb_schedule WHERE id = ?', [id])).affectedRows === 1;
    },
  };
}
