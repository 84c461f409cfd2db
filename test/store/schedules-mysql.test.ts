import { afterAll, beforeAll } from 'vitest';
import { createScratchDatabase, describeMysql, openMysqlHarness, type ScratchDatabase } from './mysql-scratch.js';
import { describeScheduleStore } from './schedules.suite.js';

describeMysql('MariaDB schedules', () => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createScratchDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  describeScheduleStore('MariaDB', (clock) => openMysqlHarness(db, { clock }));
});
