import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe } from 'vitest';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import { outboundSuite } from './outbound-suite.js';

describe('outbound end to end on SQLite', () => {
  outboundSuite(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-outbound-'));
    const file = join(dir, 'msgbot.db');
    const store = openSqliteStore(file);
    return {
      store,
      async ourRows() {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare('SELECT * FROM kb_chat_logs WHERE is_our_bot_response = 1 ORDER BY id').all() as Record<
            string,
            unknown
          >[];
        } finally {
          db.close();
        }
      },
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});
