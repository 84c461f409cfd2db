import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMysqlStore } from '../../src/infra/store/mysql.js';
import { createScratchDatabase, describeMysql, openMysqlHarness, type ScratchDatabase } from './mysql-scratch.js';
import { describeStore, type RawRow } from './store.suite.js';

describeMysql('MariaDB store', () => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createScratchDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  describeStore('MariaDB', (clock) => openMysqlHarness(db, { clock }));

  describe('MariaDB specifics', () => {
    it('creates InnoDB tables in utf8mb4_unicode_ci with MEDIUMTEXT messages and the [REC] device key', async () => {
      const h = await openMysqlHarness(db, { clock: { now: Date.now } });
      try {
        const tables = await db.query(
          `SELECT TABLE_NAME AS t, ENGINE AS e, TABLE_COLLATION AS c FROM information_schema.TABLES
           WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME`,
        );
        expect(tables).toEqual(
          [
            'kb_bot_devices',
            'kb_chat_logs',
            'kb_ping_monitor',
            'kb_rooms',
            'kb_schedule',
            'kb_schedule_logs',
            'kb_servers',
            'kb_server_processes',
            'kb_system_monitor',
          ].map((t) => ({
            t,
            e: 'InnoDB',
            c: 'utf8mb4_unicode_ci',
          })),
        );
        const [message] = await db.query(
          `SELECT DATA_TYPE AS type FROM information_schema.COLUMNS
           WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'kb_chat_logs' AND COLUMN_NAME = 'message'`,
        );
        expect(message?.type).toBe('mediumtext');
        const keys = await db.query(
          `SELECT INDEX_NAME AS name, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS cols
           FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'kb_bot_devices'
           AND NON_UNIQUE = 0 GROUP BY INDEX_NAME ORDER BY INDEX_NAME`,
        );
        expect(keys).toEqual([
          { name: 'PRIMARY', cols: 'id' },
          { name: 'uk_bot_device', cols: 'bot_name,device_id' },
        ]);
      } finally {
        await h.dispose();
      }
    });

    it('writes KST times whatever the server time zone is, and runs its sessions on KST', async () => {
      const [server] = await db.query('SELECT @@global.time_zone AS g, @@system_time_zone AS s');
      expect(`${server?.g}/${server?.s}`).not.toMatch(/\+09:00|KST|Asia\/Seoul/); // the proof needs a non-KST server
      const h = await openMysqlHarness(db, { clock: { now: () => Date.UTC(2026, 5, 30, 15, 0, 0) } });
      try {
        await h.store.registerDevice({
          botName: 'b',
          deviceId: 'd',
          ipAddress: 'unknown',
          clientType: 'MessengerBotR',
          clientVersion: '3.2.1',
        });
        // 15:00 UTC = 00:00 KST the next day
        expect((await h.store.getDevice({ botName: 'b', deviceId: 'd' }))?.createdAt).toBe('2026-07-01 00:00:00');
        // DEFAULT CURRENT_TIMESTAMP / ON UPDATE (the back office's writes) then agree with ours
        const pool = (h.store as unknown as { pool: { query(sql: string): Promise<[RawRow[], unknown]> } }).pool;
        const [[session]] = await pool.query('SELECT @@session.time_zone AS tz');
        expect(session?.tz).toBe('+09:00');
      } finally {
        await h.dispose();
      }
    });

    it('many concurrent first handshakes of one device leave one row and one "created"', async () => {
      const h = await openMysqlHarness(db, { clock: { now: Date.now }, poolSize: 8 });
      try {
        const identity = {
          botName: 'race',
          deviceId: 'same-phone',
          ipAddress: '10.0.0.1',
          clientType: 'MessengerBotR',
          clientVersion: '3.2.1',
        };
        const results = await Promise.all(Array.from({ length: 8 }, () => h.store.registerDevice(identity)));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        const [row] = await db.query("SELECT COUNT(*) AS n FROM kb_bot_devices WHERE bot_name = 'race'");
        expect(Number(row?.n)).toBe(1);
      } finally {
        await h.dispose();
      }
    });

    it('splits a batch of maximal Hangul messages under max_allowed_packet', async () => {
      const h = await openMysqlHarness(db, { clock: { now: Date.now } });
      try {
        const [packet] = await db.query('SELECT @@max_allowed_packet AS max');
        const long = '한'.repeat(65_000); // 195,000 bytes in UTF-8
        const n = Math.ceil(Number(packet?.max) / 195_000) + 10; // more than one packet's worth
        await h.store.insertChatLogs(
          Array.from({ length: n }, (_, i) => ({
            channelId: String(i),
            userHash: null,
            roomName: '방',
            sender: '나',
            message: long,
            directive: null,
            messageType: 'text' as const,
            isMeaningful: false,
            botName: 'b',
            isMention: false,
            isGroupChat: true,
            logId: null,
            clientTimestamp: Date.now(),
          })),
        );
        const [row] = await db.query('SELECT COUNT(*) AS n, MIN(CHAR_LENGTH(message)) AS len FROM kb_chat_logs');
        expect(Number(row?.n)).toBe(n);
        expect(Number(row?.len)).toBe(65_000);
      } finally {
        await h.dispose();
      }
    });

    it('refuses a URL without a database and reports an unreachable server', async () => {
      await expect(openMysqlStore('mysql://root@127.0.0.1:3306/')).rejects.toThrow(/names no database/);
      const dead = await openMysqlStore('mysql://root@127.0.0.1:1/nowhere', { connectTimeoutMs: 500 });
      await expect(dead.ping()).rejects.toThrow();
      await expect(dead.migrate()).rejects.toThrow();
      await dead.close();
    });
  });
});
