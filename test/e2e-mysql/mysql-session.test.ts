import { afterEach, beforeEach, expect, it } from 'vitest';
import { openMysqlStore } from '../../src/infra/store/mysql.js';
import { kstDateTime } from '../../src/protocol/index.js';
import { createScratchDatabase, describeMysql, type ScratchDatabase } from '../store/mysql-scratch.js';
import type { BridgeClient } from '../support/bridge-client.js';
import { startTestGateway, until } from '../support/test-gateway.js';
import { connectPhone, eventually, replies, type TestGateway } from './harness.js';

/**
 * Issue 4 "How it is checked", end to end with MariaDB: a real gateway on a scratch database of
 * the MariaDB at 127.0.0.1:3306, a simulated v3.2.2 phone over TCP, and the back office's way of
 * approving: a raw UPDATE on kb_bot_devices / kb_rooms from another connection.
 */

const BOT = 'demo-bot';
const DEVICE = 'a1b2c3';
const CHANNEL = '18234567890123456';
const ROOM = '테스트방 🎉';
const KOREAN = '# echo 안녕하세요 👋🎉';

let db: ScratchDatabase | undefined;
let tg: TestGateway | undefined;
const clients: BridgeClient[] = [];

async function rows(sql: string, params: unknown[] = []) {
  if (db === undefined) throw new Error('no scratch database');
  return db.query(sql, params);
}

async function deviceStatus(): Promise<string | undefined> {
  const [row] = await rows('SELECT status FROM kb_bot_devices WHERE bot_name = ? AND device_id = ?', [BOT, DEVICE]);
  return row === undefined ? undefined : String(row.status);
}

describeMysql('end to end on MariaDB: a v3.2.2 phone against the kb_* tables', () => {
  beforeEach(async () => {
    db = await createScratchDatabase();
    const store = await openMysqlStore(db.url, { poolSize: 4, connectTimeoutMs: 2_000 });
    tg = await startTestGateway({ store });
  });

  afterEach(async () => {
    try {
      for (const c of clients.splice(0)) c.close();
      await tg?.stop();
    } finally {
      tg = undefined;
      await db?.drop();
      db = undefined;
    }
  });

  it('pending in kb_bot_devices; back-office UPDATEs approve device and room without reconnect; echo logged intact', async () => {
    const t = tg as TestGateway;
    const c = await connectPhone(t, clients);
    const hc = await c.next((p) => p.event === 'handshakeComplete');
    expect(hc.data).toMatchObject({
      success: true,
      approved: false,
      message: '디바이스가 승인 대기 상태로 등록되었습니다',
    });

    // PROTOCOL §7.3: the row the back office lists, pending, with the handshake's client fields
    const [device] = await rows(
      'SELECT status, client_type, client_version, ip_address FROM kb_bot_devices WHERE bot_name = ? AND device_id = ?',
      [BOT, DEVICE],
    );
    expect(device).toEqual({
      status: 'pending',
      client_type: 'MessengerBotR',
      client_version: '3.2.1',
      ip_address: '127.0.0.1',
    });

    // limited mode: logged and the room auto-registered (§7.3, §7.8), never answered
    c.analyze('# echo before approval', { room: ROOM, channelId: CHANNEL });
    const [room] = await eventually(
      () =>
        rows(
          'SELECT room_name, status, description FROM kb_rooms WHERE room_id = ? AND bot_name = ? AND device_id = ?',
          [CHANNEL, BOT, DEVICE],
        ),
      (r) => r.length === 1,
    );
    expect(room).toMatchObject({ room_name: ROOM, status: 'pending' });

    // The back office approves the device with its own connection; the phone stays connected.
    await db?.conn.query("UPDATE kb_bot_devices SET status = 'approved' WHERE bot_name = ? AND device_id = ?", [
      BOT,
      DEVICE,
    ]);
    await t.advance(5_000); // standing refresh (timers.standingRefreshMs)
    await until(() => t.logs.some((l) => l.msg === 'device standing changed' && l.to === 'approved'));

    // device approved, room still pending: no reply (§7.7 step 5)
    c.analyze('# echo room still pending', { room: ROOM, channelId: CHANNEL });
    await until(() => t.logs.some((l) => l.msg === 'room not approved; no reply'));
    expect(replies(c)).toEqual([]);

    await db?.conn.query(
      "UPDATE kb_rooms SET status = 'approved' WHERE room_id = ? AND bot_name = ? AND device_id = ?",
      [CHANNEL, BOT, DEVICE],
    );
    await t.advance(5_000); // the room status cache expires (same 5 s)

    c.analyze(KOREAN, { room: ROOM, channelId: CHANNEL });
    const reply = await c.next((p) => p.event === 'messageResponse');
    expect(reply.data).toEqual({ room: ROOM, channel_id: CHANNEL, bot_name: BOT, text: '에코: 안녕하세요 👋🎉' });
    expect(c.closed).toBe(false);
    expect(c.packets.filter((p) => p.event === 'handshakeComplete')).toHaveLength(1); // no reconnect

    // Telemetry is batched: the flush runs on the clock.
    await t.advance(t.config.telemetry.flushMs);
    const logged = await eventually(
      () => rows('SELECT * FROM kb_chat_logs ORDER BY id'),
      (r) => r.length === 4,
    );
    // the answer is logged too, as ours (PROTOCOL §8.3 [REC])
    expect(logged.map((r) => r.message)).toEqual([
      '# echo before approval',
      '# echo room still pending',
      KOREAN,
      '에코: 안녕하세요 👋🎉',
    ]);
    expect(logged[3]).toMatchObject({ sender: BOT, room_name: ROOM, is_our_bot_response: 1, is_scheduled: 0 });
    const last = logged[2];
    expect(last).toMatchObject({
      channel_id: CHANNEL,
      room_name: ROOM,
      sender: 'Alice',
      bot_name: BOT,
      user_hash: '9f8e7d6c5b4a',
      message_type: 'command',
      is_meaningful: 1,
      directive: '#',
      is_group_chat: 1,
      is_mention: 0,
      is_our_bot_response: 0,
    });
    // byte for byte: 4-byte emoji survive only in utf8mb4 (PROTOCOL §8.0)
    const [hex] = await rows('SELECT HEX(message) AS h, HEX(room_name) AS r FROM kb_chat_logs WHERE id = ?', [
      last?.id,
    ]);
    expect(hex).toEqual({
      h: Buffer.from(KOREAN, 'utf8').toString('hex').toUpperCase(),
      r: Buffer.from(ROOM, 'utf8').toString('hex').toUpperCase(),
    });
    // the reference never logged its replies (§7.7); we log each once, marked as ours (§8.3 [REC])
    expect(logged.filter((r) => String(r.message).startsWith('에코'))).toHaveLength(1);
    expect(await deviceStatus()).toBe('approved');
  });

  it('a ping reply is stored in kb_ping_monitor with its round trip', async () => {
    const t = tg as TestGateway;
    const c = await connectPhone(t, clients, { autoPing: false });
    await c.next((p) => p.event === 'handshakeComplete');

    await t.advance(t.config.timers.pingJitterMs); // the first ping comes within the jitter
    const ping = await c.next((p) => p.event === 'ping');
    const sentAt = ping.data.server_timestamp;
    expect(sentAt).toBe(t.clock?.now()); // §4.6 [REC]: epoch ms of the gateway's clock

    // The phone answers a little later: real time passes, and so does the gateway's clock.
    const RTT_MS = 137;
    await new Promise((r) => setTimeout(r, 25));
    t.clock?.increment(RTT_MS);
    c.writeRaw(
      `${JSON.stringify({
        event: 'ping',
        data: {
          bot_name: ping.data.bot_name,
          server_timestamp: sentAt,
          monitoring: {
            total_memory: 512.9,
            memory_usage: 87.3,
            memory_percent: 17.1,
            message_queue_size: 2,
            active_rooms: 4,
          },
          auth: c.auth(),
        },
      })}\n`,
    );
    await until(() => t.gateway.telemetry.buffered === 1);
    await t.advance(t.config.telemetry.flushMs);

    const [row] = await eventually(
      () => rows('SELECT * FROM kb_ping_monitor'),
      (r) => r.length === 1,
    );
    expect(row).toMatchObject({
      bot_name: BOT,
      device_id: DEVICE,
      client_ip: '127.0.0.1',
      process_name: 'msgbot-gateway',
      message_queue_size: 2,
      active_rooms: 4,
    });
    // PROTOCOL §7.11: RTT = receipt − the echoed ping time, here exactly what the clock moved
    expect(Number(row?.ping_time_ms)).toBe(RTT_MS);
    // §8.4: memory values truncated to integers; times as naive KST
    expect(Number(row?.total_memory)).toBe(512);
    expect(Number(row?.memory_usage)).toBe(87);
    expect(Number(row?.memory_percent)).toBeCloseTo(17.1, 2);
    expect(row?.server_timestamp).toBe(kstDateTime(Number(sentAt)));
  });
});
