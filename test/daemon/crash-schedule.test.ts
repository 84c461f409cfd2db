import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { kstText } from '../../src/actors/schedule-rules.js';
import { openStore } from '../../src/infra/store/open.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { cliOk, type DaemonProcess, spawnDaemon } from './child.js';

/**
 * PROTOCOL §7.12 with the real process on SQLite: the daemon is SIGKILLed while a schedule run's
 * image waits behind its text (a long room gap); the restarted daemon finishes the run from
 * msgbot_outbox — the image goes out, the text not again, one kb_schedule_logs row, the row done.
 */

const BOT = 'demo-bot';
const DEVICE = 'a1b2c3';
const ROOM = '18234567890123456';
const PNG = 'iVBORw0KGgoAAAANSUhEUg==';
/** two daemon starts; a pass that finds the phone not yet connected waits for the next minute */
const TEST_MS = 200_000;

const INSERT = `INSERT INTO kb_schedule (title, created_by_type, created_by_id, created_by_mb_id, target_bot_name,
  target_device_id, target_room_id, message_text, message_images_1, image_storage_mode, media_wait_time_1,
  schedule_type, schedule_date, schedule_time, valid_from, valid_until, status, next_send_at)
  VALUES ('공지', 'branch', 'b-1', 'admin', ?, ?, ?, 'morning', ?, 'base64', 0, 'once', ?, ?, ?,
  '2099-12-31 23:59:59', 'active', ?)`;

function query(file: string, sql: string): Record<string, unknown>[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

async function serve(env: Record<string, string>): Promise<{ d: DaemonProcess; port: number }> {
  const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--admin-port', '0'], env);
  onTestFinished(() => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  });
  const listening = await d.waitLog((l) => l.msg === 'listening for phones', 20_000);
  return { d, port: Number(listening.port) };
}

async function phone(port: number): Promise<BridgeClient> {
  const c = await BridgeClient.connect({ port, secret: KEYS.secret, salt: KEYS.salt, deviceId: DEVICE });
  onTestFinished(() => c.close());
  await c.next((p) => p.event === 'handshakeComplete');
  return c;
}

async function until(predicate: () => boolean, timeoutMs = 75_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const texts = (c: BridgeClient) =>
  c.packets.filter((p) => p.event === 'messageResponse').map((p) => String(p.data.text));

describe('a schedule run cut short by SIGKILL, SQLite (PROTOCOL §7.12, DESIGN.md §2)', () => {
  it('is resumed by the restarted daemon: the image once, the text not again, one log row', {
    timeout: TEST_MS,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-crash-schedule-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'msgbot.db');
    const env: Record<string, string> = {
      MSGBOT_DATA_DIR: dir,
      MSGBOT_HMAC_SECRET: KEYS.secret,
      MSGBOT_HMAC_SALT: KEYS.salt,
      MSGBOT_SCHEDULER_START_DELAY_MS: '5000',
      // the image waits behind the text this long: the kill falls inside the run
      MSGBOT_OUTBOUND_MIN_GAP_MS: '120000',
    };
    await cliOk(['migrate'], env);
    const store = await openStore(`sqlite:${file}`);
    await store.setDeviceStatus({ botName: BOT, deviceId: DEVICE }, 'approved');
    await store.registerRoom({ roomId: ROOM, botName: BOT, deviceId: DEVICE }, '공지방', 'approved');
    await store.close();
    const due = kstText(Date.now() - 30_000);
    const [date, time] = due.split(' ');
    const db = new Database(file);
    db.prepare(INSERT).run(BOT, DEVICE, ROOM, JSON.stringify([{ base64: PNG, name: 'a.png' }]), date, time, due, due);
    db.close();

    const first = await serve(env);
    const before = await phone(first.port);
    await until(() => texts(before).includes('morning'));
    const outbox = () => query(file, 'SELECT component, status FROM msgbot_outbox ORDER BY seq');
    await until(() => outbox().length === 2);
    expect(outbox()).toEqual([
      { component: 'text', status: 'delivered' },
      { component: 'images_1', status: 'queued' },
    ]);
    first.d.child.kill('SIGKILL');
    expect((await first.d.exited).signal).toBe('SIGKILL');
    expect(query(file, 'SELECT id FROM kb_schedule_logs')).toEqual([]);

    const second = await serve(env);
    const after = await phone(second.port);
    await until(() => query(file, 'SELECT id FROM kb_schedule_logs').length === 1);
    await until(() => texts(after).length === 1);
    expect(texts(after)).toEqual([`IMAGE_BASE64:${PNG}`]);
    expect(texts(before)).toEqual(['morning']);
    expect(query(file, 'SELECT status, scheduled_at FROM kb_schedule_logs')).toEqual([
      { status: 'success', scheduled_at: due },
    ]);
    expect(query(file, 'SELECT status, send_count FROM kb_schedule')).toEqual([{ status: 'completed', send_count: 1 }]);
    expect(second.d.logs.find((l) => l.msg === 'interrupted schedule run taken over')).toMatchObject({
      action: 'resumed',
    });
    second.d.child.kill('SIGKILL');
    await second.d.exited;
  });
});
