import { openMysqlStore } from '../../src/infra/store/mysql.js';
import { outboundSuite } from '../e2e/outbound-suite.js';
import { createScratchDatabase, describeMysql } from '../store/mysql-scratch.js';

describeMysql('outbound end to end on MariaDB', () => {
  outboundSuite(async () => {
    const db = await createScratchDatabase();
    const store = await openMysqlStore(db.url, { poolSize: 4, connectTimeoutMs: 2_000 });
    return {
      store,
      ourRows: () => db.query('SELECT * FROM kb_chat_logs WHERE is_our_bot_response = 1 ORDER BY id', []),
      drop: () => db.drop(),
    };
  });
});
