import { describeScheduleStore } from './schedules.suite.js';
import { openSqliteHarness } from './sqlite-harness.js';

describeScheduleStore('SQLite (:memory:)', (clock) => openSqliteHarness(':memory:', clock));
