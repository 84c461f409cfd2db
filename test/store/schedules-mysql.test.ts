import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKst } from '../../src/actors/schedule-rules.js';
import { type RunState, runPass } from '../../src/actors/schedule-run.js';
import type { SendRequest } from '../../src/actors/send.js';
import { schedulerPorts } from '../../src/gateway/scheduler-wiring.js';
import { defaultConfig } from '../../src/infra/config/schema.js';
import { openMysqlStore } from '../../src/infra/store/mysql.js';
import { createScratchDatabase, describeMysql, openMysqlHarness, type ScratchDatabase } from './mysql-scratch.js';
import { describeScheduleStore, newSchedule } from './schedules.suite.js';

describeMysql('MariaDB schedules', () => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createScratchDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  describeScheduleStore('MariaDB', (clock) => openMysqlHarness(db, { clock }));

  it('an operator kb_servers of the older variant (a) (id, server_port) is used as it is (PROTOCOL §8.8)', async () => {
    const old = await createScratchDatabase();
    try {
      await old.query(`CREATE TABLE kb_servers (
        id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, server_name VARCHAR(100) NOT NULL UNIQUE,
        server_host VARCHAR(255) NOT NULL, server_port INT NOT NULL, description TEXT NULL,
        is_active TINYINT(1) DEFAULT 1, last_heartbeat DATETIME NULL,
        status ENUM('active','inactive','maintenance') DEFAULT 'active',
        created_at DATETIME DEFAULT CURRENT_TIMESTAMP, updated_at DATETIME DEFAULT CURRENT_TIMESTAMP,
        UNIQUE KEY uk_host_port (server_host, server_port)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
      const store = await openMysqlStore(old.url, { poolSize: 2 });
      try {
        await store.migrate();
        const row = await store.processes.ensureProcess('gw-old', 'old-host', 1490, '2026-01-15 12:00:00');
        const [server] = await old.query('SELECT id, server_name, server_port FROM kb_servers');
        expect(server).toMatchObject({ server_name: 'old-host', server_port: 1490 });
        expect(row.serverId).toBe(Number(server?.id));
      } finally {
        await store.close();
      }
    } finally {
      await old.drop();
    }
  });

  describe('two gateways on one MariaDB database (PROTOCOL §7.12 claim)', () => {
    it('both poll at once: every due row is sent and logged exactly once', async () => {
      const now = parseKst('2026-01-15 12:01:00') as number;
      const clock = { now: () => now, setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout };
      const a = await openMysqlStore(db.url, { clock, poolSize: 4 });
      const b = await openMysqlStore(db.url, { clock, poolSize: 4 });
      try {
        await a.migrate();
        for (const t of ['kb_schedule_logs', 'kb_schedule', 'kb_rooms', 'kb_bot_devices'])
          await db.query(`DELETE FROM ${t}`);
        await a.setDeviceStatus({ botName: 'demo-bot', deviceId: 'dev-1' }, 'approved');
        await a.registerRoom({ roomId: '18469710452305870', botName: 'demo-bot', deviceId: 'dev-1' }, '방', 'approved');
        for (let i = 0; i < 6; i++)
          await a.schedules.addSchedule(newSchedule({ messageText: `m${i}`, scheduleType: 'daily' }));
        const sends: SendRequest[] = [];
        const settings = {
          startDelayMs: 0,
          catchUpWindowS: 300,
          maxPerPoll: 10,
          perBotGapMs: 0,
          staggerMinS: 0,
          staggerMaxS: 0,
          staleClaimMs: 2_100_000,
        };
        const pass = (store: typeof a) => {
          const ports = schedulerPorts({
            store,
            send: {
              send: async (r) => {
                sends.push(r);
                return { id: r.id, status: 'delivered', deviceId: 'dev-1', at: now };
              },
            },
            clock,
            liveBots: () => ['demo-bot'],
            config: defaultConfig().scheduler,
            metrics: { scheduleRuns: { inc: () => {} } } as never,
            log: pino({ level: 'silent' }),
          });
          const state: RunState = { busy: new Set(), signal: new AbortController().signal, running: new Set() };
          return { state, done: runPass(ports, settings, 'poll', state) };
        };
        const p1 = pass(a);
        const p2 = pass(b);
        await Promise.all([p1.done, p2.done]);
        await Promise.all([...p1.state.running, ...p2.state.running]);
        expect(sends.map((s) => s.text).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
        const logs = await db.query('SELECT schedule_id, status FROM kb_schedule_logs ORDER BY schedule_id');
        expect(logs).toHaveLength(6);
        expect(new Set(logs.map((l) => l.status))).toEqual(new Set(['success']));
        const rows = await db.query('SELECT send_count, next_send_at, last_sent_at FROM kb_schedule');
        expect(rows.map((r) => [Number(r.send_count), r.next_send_at, r.last_sent_at])).toEqual(
          Array(6).fill([1, '2026-01-16 12:00:00', '2026-01-15 12:01:00']),
        );
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
