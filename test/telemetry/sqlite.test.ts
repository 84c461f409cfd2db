import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/actors/job.js';
import { createMetrics } from '../../src/infra/metrics.js';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import { chatLogRow, pingRow } from '../../src/infra/telemetry/rows.js';
import { TelemetryWriter } from '../../src/infra/telemetry/writer.js';
import { capturedLog, sampleRow, simulatedClock, T0 } from './fake-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const message: ChatMessage = {
  traceId: '01J3EXAMPLE0000000000000000',
  receivedAt: T0,
  botName: 'demo-bot',
  deviceId: 'a1b2c3',
  packetBotName: 'demo-bot',
  room: '데모 방 🎉',
  channelId: null,
  logId: '3301234567890123456',
  text: '# echo 안녕하세요 😀',
  sender: '앨리스',
  isGroupChat: true,
  isMention: false,
  userHash: null,
  timestamp: '2025-07-24 14:00:00',
  protocol: 'v3.2',
  legacyCallback: false,
};

describe('telemetry writer on the SQLite store', () => {
  it('writes chat, ping and system rows that read back intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-telemetry-'));
    dirs.push(dir);
    const file = join(dir, 'msgbot.db');
    const clock = simulatedClock();
    const store = openSqliteStore(file, { clock });
    await store.migrate();
    const writer = new TelemetryWriter({
      store,
      clock,
      metrics: createMetrics(),
      log: capturedLog().log,
      batchRows: 2,
    });
    for (let i = 0; i < 3; i++) writer.chat(chatLogRow({ ...message, logId: `${i}` }, T0));
    writer.ping(
      pingRow({
        botName: 'demo-bot',
        deviceId: 'a1b2c3',
        reply: { server_timestamp: T0 - 120, monitoring: { total_memory: 512.7, memory_usage: 87.3 } },
        issuedTimestamps: new Set([T0 - 120]),
        now: T0,
        processName: 'msgbot-gateway',
        server: { cpuAvg: 1, cpuMax: 2, rssAvgMb: 80, rssMaxMb: 81 },
      }),
    );
    writer.system(sampleRow('host-1'));
    await writer.close();
    expect(writer.buffered).toBe(0);
    expect(writer.healthy).toEqual({ ok: true });
    await store.close();

    const db = new Database(file, { readonly: true });
    try {
      // user_hash is left out: NULL or '' is the store's choice by column nullability (§8.3).
      const chats = db
        .prepare(
          'SELECT channel_id, room_name, sender, message, directive, message_type, is_meaningful, log_id FROM kb_chat_logs ORDER BY id',
        )
        .all();
      expect(chats).toEqual(
        ['0', '1', '2'].map((logId) => ({
          channel_id: '',
          room_name: '데모 방 🎉',
          sender: '앨리스',
          message: '# echo 안녕하세요 😀',
          directive: '#',
          message_type: 'command',
          is_meaningful: 1,
          log_id: logId,
        })),
      );
      expect(db.prepare('SELECT ping_time_ms, total_memory, memory_usage FROM kb_ping_monitor').all()).toEqual([
        { ping_time_ms: 120, total_memory: 512, memory_usage: 87 },
      ]);
      expect(db.prepare('SELECT server_name FROM kb_system_monitor').all()).toEqual([{ server_name: 'host-1' }]);
    } finally {
      db.close();
    }
  });
});
