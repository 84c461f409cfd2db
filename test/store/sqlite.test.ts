import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import { openSqliteHarness, sqliteDb } from './sqlite-harness.js';
import { describeStore } from './store.suite.js';

describeStore('SQLite (:memory:)', (clock) => openSqliteHarness(':memory:', clock));

describe('SQLite file store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'msgbot-store-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the missing folder, runs in WAL mode and keeps rows across a reopen', async () => {
    const file = join(dir, 'nested', 'data', 'msgbot.db');
    const first = openSqliteStore(file);
    await first.migrate();
    expect(first.lastMigration?.createdTables).toEqual([
      'kb_bot_devices',
      'kb_rooms',
      'kb_chat_logs',
      'kb_ping_monitor',
      'kb_system_monitor',
      'kb_schedule',
      'kb_schedule_logs',
      'kb_servers',
      'kb_server_processes',
    ]);
    expect(sqliteDb(first).pragma('journal_mode', { simple: true })).toBe('wal');
    await first.registerDevice({
      botName: 'demo-bot',
      deviceId: 'abc',
      ipAddress: '1.2.3.4',
      clientType: 'MessengerBotR',
      clientVersion: '3.2.1',
    });
    await first.close();
    await first.close(); // idempotent

    const second = openSqliteStore(file);
    await second.migrate();
    expect(second.lastMigration?.createdTables).toEqual([]);
    expect((await second.listDevices()).map((d) => d.deviceId)).toEqual(['abc']);
    await second.close();
  });
});
