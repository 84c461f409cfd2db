/** What the MySQL store's parts share: pool, clock, statements, row reads, upserts retried on deadlock. */
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

const ER_LOCK_DEADLOCK = 1213;
const ER_LOCK_WAIT_TIMEOUT = 1205;

/** Base of the devices, rooms and telemetry parts of the MySQL store (mysql.ts). */
export abstract class MysqlPart {
  constructor(
    protected readonly pool: Pool,
    protected readonly now: () => string,
  ) {}

  protected async run(sql: string, params: unknown[]): Promise<ResultSetHeader> {
    const [res] = await this.pool.query<ResultSetHeader>(sql, params);
    return res;
  }

  /**
   * For the upserts: InnoDB may pick one of several concurrent inserts of the same new key as a
   * deadlock victim; the statement is idempotent, so running it again is the whole fix.
   */
  protected async upsert(sql: string, params: unknown[]): Promise<ResultSetHeader> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.run(sql, params);
      } catch (err) {
        const errno = (err as { errno?: number }).errno;
        if (attempt >= 3 || (errno !== ER_LOCK_DEADLOCK && errno !== ER_LOCK_WAIT_TIMEOUT)) throw err;
      }
    }
  }

  protected async rows(sql: string, params: unknown[]): Promise<RowDataPacket[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(sql, params);
    return rows;
  }
}
