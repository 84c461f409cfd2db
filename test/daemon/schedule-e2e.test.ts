import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { kstText } from '../../src/actors/schedule-rules.js';
import { openStore } from '../../src/infra/store/open.js';
import { splitV33 } from '../../src/protocol/index.js';
import { createScratchDatabase, describeMysql } from '../store/mysql-scratch.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { v33Handshake } from '../support/v33-lines.js';
import { cliOk, spawnDaemon } from './child.js';

/**
 * The back office's way, end to end (PROTOCOL §7.12, §8.3, §8.6–§8.9): a kb_schedule row inserted
 * with plain SQL is delivered by the real daemon's scheduler through the outbound path to a
 * simulated v3.2.2 phone (messageResponse) and a v3.3.3 phone (scheduleMessage, §5.4), and
 * kb_schedule, kb_schedule_logs, kb_chat_logs and kb_server_processes say so.
 */

const BOT = 'demo-bot';
const V32 = 'phone32';
const V33 = 'phone33';
const ROOM_32 = '18234567890120032';
const ROOM_33 = '18234567890120033';
const PNG = 'iVBORw0KGgoAAAANSUhEUg==';

type Row = Record<string, unknown>;
interface Db {
  url: string | undefined;
  exec(sql: string, params?: unknown[]): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<Row[]>;
}

const INSERT = `INSERT INTO kb_schedule (title, created_by_type, created_by_id, created_by_mb_id, target_bot_name,
  target_device_id, target_room_id, message_text, message_images_1, image_storage_mode, media_wait_time_1,
  schedule_type, schedule_date, schedule_time, valid_from, valid_until, status, next_send_at)
  VALUES (?, 'branch', 'b-1', 'admin', ?, ?, ?, ?, ?, 'base64', ?, 'once', ?, ?, ?, '2099-12-31 23:59:59', 'active', ?)`;

function sqliteDb(dir: string): Db {
  const file = join(dir, 'msgbot.db');
  const open = () => new Database(file);
  return {
    url: undefined,
    async exec(sql, params = []) {
      const db = open();
      try {
        db.prepare(sql).run(...params);
      } finally {
        db.close();
      }
    },
    async query(sql, params = []) {
      const db = open();
      try {
        return db.prepare(sql).all(...params) as Row[];
      } finally {
        db.close();
      }
    },
  };
}

async function scenario(dir: string, db: Db): Promise<void> {
  const env: Record<string, string> = {
    MSGBOT_DATA_DIR: dir,
    MSGBOT_HMAC_SECRET: KEYS.secret,
    MSGBOT_HMAC_SALT: KEYS.salt,
    // the catch-up pass runs once the phones are connected (PROTOCOL §7.12: 10 s after start)
    MSGBOT_SCHEDULER_START_DELAY_MS: '2500',
    ...(db.url === undefined ? {} : { MSGBOT_DB_URL: db.url }),
  };
  await cliOk(['migrate'], env);
  // the operator approved both phones and their rooms, which have titles from earlier chat
  const store = await openStore(db.url ?? `sqlite:${join(dir, 'msgbot.db')}`);
  for (const [device, room, title] of [
    [V32, ROOM_32, '공지방'],
    [V33, ROOM_33, '새 공지방'],
  ] as const) {
    await store.setDeviceStatus({ botName: BOT, deviceId: device }, 'approved');
    await store.registerRoom({ roomId: room, botName: BOT, deviceId: device }, title, 'approved');
  }
  await store.close();

  // the back office: two once-rows that fell due a minute ago
  const now = Date.now();
  const due = kstText(now - 60_000);
  const [date, time] = due.split(' ');
  await db.exec(INSERT, [
    '주문 완료',
    BOT,
    V32,
    ROOM_32,
    '주문이 완료되었습니다',
    JSON.stringify([{ base64: PNG, name: 'a.png' }]),
    3000,
    date,
    time,
    due,
    due,
  ]);
  await db.exec(INSERT, ['재고 경고', BOT, V33, ROOM_33, '재고가 부족합니다', null, 0, date, time, due, due]);

  const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--admin-port', '0'], env);
  onTestFinished(() => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  });
  const port = Number((await d.waitLog((l) => l.msg === 'listening for phones', 20_000)).port);

  const phone32 = await BridgeClient.connect({ port, secret: KEYS.secret, salt: KEYS.salt, deviceId: V32 });
  onTestFinished(() => phone32.close());
  await phone32.next((p) => p.event === 'handshakeComplete');
  const lines33: string[] = [];
  const socket = net.connect(port, '127.0.0.1');
  onTestFinished(() => {
    socket.destroy();
  });
  socket.setEncoding('utf8');
  let rest = '';
  socket.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    lines33.push(...parts);
  });
  socket.write(`${v33Handshake({ deviceId: V33 }, Date.now())}\n`);

  // v3.2.2: text, then the image group as an IMAGE_BASE64 directive with its wait (PROTOCOL §4.4–4.5)
  const text32 = await phone32.next((p) => p.event === 'messageResponse', 20_000);
  expect(text32.data).toEqual({ room: '공지방', channel_id: ROOM_32, bot_name: BOT, text: '주문이 완료되었습니다' });
  const image32 = await phone32.next((p) => p.event === 'messageResponse' && p !== text32, 20_000);
  expect(image32.data).toMatchObject({ channel_id: ROOM_32, text: `IMAGE_BASE64:${PNG}`, media_wait_time: 3000 });

  // v3.3.3: scheduleMessage with the base64 text payload (PROTOCOL §5.4)
  const started = Date.now();
  while (!lines33.some((l) => l.startsWith('{"event":"scheduleMessage"'))) {
    if (Date.now() - started > 20_000) throw new Error(`no scheduleMessage; got ${lines33.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const { header, payload } = splitV33(lines33.find((l) => l.startsWith('{"event":"scheduleMessage"'))!);
  expect(JSON.parse(header)).toMatchObject({
    event: 'scheduleMessage',
    data: { room: '새 공지방', channel_id: ROOM_33, bot_name: BOT, message_type: 'text' },
  });
  expect(Buffer.from(payload, 'base64').toString('utf8')).toBe('재고가 부족합니다');

  // the rows: logs and schedules are written right after delivery, chat rows by the batched writer
  let logs: Row[] = [];
  let ours: Row[] = [];
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    logs = await db.query('SELECT * FROM kb_schedule_logs ORDER BY schedule_id');
    ours = await db.query(
      'SELECT channel_id, message, is_our_bot_response, is_scheduled FROM kb_chat_logs WHERE is_our_bot_response = 1 ORDER BY id',
    );
    if (logs.length === 2 && ours.length === 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(logs.map((l) => [l.target_room_id, l.status, l.send_components, l.scheduled_at, l.error_message])).toEqual([
    [ROOM_32, 'success', 'text,images_1', due, null],
    [ROOM_33, 'success', 'text', due, null],
  ]);
  const sent1 = logs[0]!.sent_images_1;
  expect(typeof sent1 === 'string' ? JSON.parse(sent1) : sent1).toEqual({ count: 1, status: 'delivered' });
  const schedules = await db.query('SELECT status, send_count, last_sent_at FROM kb_schedule ORDER BY id');
  expect(schedules.map((s) => [s.status, Number(s.send_count), s.last_sent_at !== null])).toEqual([
    ['completed', 1, true],
    ['completed', 1, true],
  ]);
  expect(ours.map((r) => [r.channel_id, Number(r.is_our_bot_response), Number(r.is_scheduled)])).toEqual([
    [ROOM_32, 1, 1],
    [ROOM_32, 1, 1],
    [ROOM_33, 1, 1],
  ]);
  expect(ours.map((r) => r.message)).toContain('주문이 완료되었습니다');
  expect(ours.map((r) => r.message)).toContain('재고가 부족합니다');
  // the process row of this gateway (no --name: <host name>:<port>), running with its pid
  const processes = await db.query('SELECT process_name, port, status, pid FROM kb_server_processes');
  expect(processes).toEqual([{ process_name: `${hostname()}:${port}`, port, status: 'running', pid: d.child.pid }]);

  d.child.kill('SIGTERM');
  expect((await d.exited).code).toBe(0);
  const stopped = await db.query('SELECT status, pid FROM kb_server_processes');
  expect(stopped).toEqual([{ status: 'stopped', pid: null }]);
}

describe('kb_schedule rows from the back office reach the phones, SQLite', () => {
  it('v3.2.2 and v3.3.3 phones; kb_schedule, kb_schedule_logs, kb_chat_logs, kb_server_processes', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-schedule-e2e-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    await scenario(dir, sqliteDb(dir));
  });
});

describeMysql('kb_schedule rows from the back office reach the phones, MariaDB', () => {
  it('v3.2.2 and v3.3.3 phones; kb_schedule, kb_schedule_logs, kb_chat_logs, kb_server_processes', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-schedule-e2e-'));
    const scratch = await createScratchDatabase();
    onTestFinished(async () => {
      rmSync(dir, { recursive: true, force: true });
      await scratch.drop();
    });
    await scenario(dir, {
      url: scratch.url,
      async exec(sql, params = []) {
        await scratch.conn.query(sql, params);
      },
      query: (sql, params = []) => scratch.query(sql, params),
    });
  });
});
