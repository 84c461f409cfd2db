import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatLogRow, Store } from '../../src/infra/store/types.js';
import { createScratchDatabase, describeMysql, openMysqlHarness, type ScratchDatabase } from './mysql-scratch.js';
import { openSqliteHarness } from './sqlite-harness.js';
import type { StoreHarness } from './store.suite.js';

const clock = { now: () => Date.UTC(2026, 0, 2, 3, 4, 5) };

function row(channelId: string, message: string, botName = 'demo-bot'): ChatLogRow {
  return {
    channelId,
    userHash: 'u1',
    roomName: `room ${channelId}`,
    sender: 'Alice',
    message,
    directive: null,
    messageType: 'text',
    isMeaningful: true,
    botName,
    isMention: false,
    isGroupChat: true,
    logId: null,
    clientTimestamp: clock.now(),
  };
}

function chatHistoryCases(open: () => Promise<StoreHarness>): void {
  let h: StoreHarness;
  let store: Store;
  beforeAll(async () => {
    h = await open();
    store = h.store;
    await store.insertChatLogs([
      row('100', 'one'),
      row('200', 'other room'),
      row('100', 'two'),
      row('100', 'same room, other bot', 'other-bot'),
      row('100', '세 번째'),
    ]);
  });
  afterAll(() => h.dispose());

  it('answers the newest rows of one room of one bot, oldest first', async () => {
    const rows = await store.chatHistory({ botName: 'demo-bot', roomId: '100', limit: 10 });
    expect(rows.map((r) => r.message)).toEqual(['one', 'two', '세 번째']);
    expect(rows[0]).toMatchObject({ channelId: '100', roomName: 'room 100', sender: 'Alice', botName: 'demo-bot' });
    expect(rows[0]!.at).toBe('2026-01-02 12:04:05'); // KST
  });

  it('keeps only the newest `limit` rows', async () => {
    const rows = await store.chatHistory({ botName: 'demo-bot', roomId: '100', limit: 2 });
    expect(rows.map((r) => r.message)).toEqual(['two', '세 번째']);
  });

  it('answers nothing for a room without rows and refuses a bad limit', async () => {
    expect(await store.chatHistory({ botName: 'demo-bot', roomId: '999', limit: 5 })).toEqual([]);
    await expect(store.chatHistory({ botName: 'demo-bot', roomId: '100', limit: 0 })).rejects.toThrow(RangeError);
  });
}

describe('chatHistory on SQLite', () => {
  chatHistoryCases(() => openSqliteHarness(':memory:', clock));
});

describeMysql('chatHistory on MariaDB', () => {
  let db: ScratchDatabase;
  afterAll(() => db?.drop());
  chatHistoryCases(async () => {
    db = await createScratchDatabase();
    return openMysqlHarness(db, { clock });
  });
});
