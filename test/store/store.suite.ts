import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kstDateTime } from '../../src/infra/store/kst.js';
import type { MysqlStore } from '../../src/infra/store/mysql.js';
import type { SqliteStore } from '../../src/infra/store/sqlite.js';
import type { ChatLogRow, HandshakeIdentity, PingRow, SystemSampleRow } from '../../src/infra/store/types.js';

/** A raw row as the driver returns it (DECIMAL/BIGINT may be strings on MySQL). */
export type RawRow = Record<string, unknown>;

export interface StoreHarness {
  store: SqliteStore | MysqlStore;
  /** raw SQL for asserting what landed in the tables, or for editing them as the back office does */
  query(sql: string, params?: unknown[]): Promise<RawRow[]>;
  /** the tables' definitions, to prove a second migrate() changes nothing */
  schema(): Promise<string>;
  dispose(): Promise<void>;
}

export type OpenHarness = (clock: { now(): number }) => Promise<StoreHarness>;

/** 2026-01-15 03:04:05 UTC = 12:04:05 KST */
const T0 = Date.UTC(2026, 0, 15, 3, 4, 5);
const DAY = 86_400_000;

const phone: HandshakeIdentity = {
  botName: 'demo-bot',
  deviceId: 'a1b2c3d4e5f60718',
  ipAddress: '192.168.0.23',
  clientType: 'MessengerBotR',
  clientVersion: '3.2.1',
};

function chat(over: Partial<ChatLogRow> = {}): ChatLogRow {
  return {
    channelId: '18469710452305870',
    userHash: 'u-hash-1',
    roomName: '테스트방',
    sender: '홍길동',
    message: '안녕하세요',
    directive: null,
    messageType: 'text',
    isMeaningful: false,
    botName: 'demo-bot',
    isMention: false,
    isGroupChat: true,
    logId: '3829102938475610',
    clientTimestamp: T0,
    ...over,
  };
}

function pingRow(over: Partial<PingRow> = {}): PingRow {
  return {
    botName: 'demo-bot',
    deviceId: phone.deviceId,
    clientIp: '192.168.0.23',
    pingTimeMs: 42,
    clientTimestamp: T0 - 1_000,
    serverTimestamp: T0 - 42,
    totalMemory: 512,
    memoryUsage: 128,
    memoryPercent: 25.1,
    messageQueueSize: 3,
    activeRooms: 5,
    processName: 'msgbot-test',
    serverCpuUsage: 12.5,
    serverCpuMax: 30.25,
    serverMemoryUsage: 88.5,
    serverMemoryMax: 91,
    ...over,
  };
}

function sample(over: Partial<SystemSampleRow> = {}): SystemSampleRow {
  return {
    serverName: 'msgbot-test',
    cpuPercent: 7.5,
    memoryTotal: 17_179_869_184,
    memoryUsed: 8_589_934_592,
    memoryPercent: 50,
    diskUsagePercent: 61.2,
    activeConnections: 12,
    messageQueueSize: 4,
    ...over,
  };
}

async function count(h: StoreHarness, table: string): Promise<number> {
  const [row] = await h.query(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row?.n);
}

export function describeStore(name: string, open: OpenHarness): void {
  describe(`Store contract: ${name}`, () => {
    let now = T0;
    const clock = { now: () => now };
    let h: StoreHarness;

    beforeEach(async () => {
      now = T0;
      h = await open(clock);
    });
    afterEach(async () => {
      await h.dispose();
    });

    describe('migrate', () => {
      it('a second run issues no DDL and leaves every table as it was', async () => {
        const before = await h.schema();
        await h.store.migrate();
        expect(h.store.lastMigration).toEqual({ createdTables: [], addedColumns: [], addedIndexes: [], warnings: [] });
        expect(await h.schema()).toBe(before);
      });

      it('answers ping()', async () => {
        await expect(h.store.ping()).resolves.toBeUndefined();
      });
    });

    describe('devices (PROTOCOL §7.3, §8.1)', () => {
      it('registers an unknown device as pending with its handshake fields', async () => {
        const { device, created } = await h.store.registerDevice(phone);
        expect(created).toBe(true);
        expect(device).toEqual({
          botName: 'demo-bot',
          deviceId: phone.deviceId,
          status: 'pending',
          ipAddress: '192.168.0.23',
          clientType: 'MessengerBotR',
          clientVersion: '3.2.1',
          maxMessageSize: null,
          createdAt: '2026-01-15 12:04:05',
          updatedAt: '2026-01-15 12:04:05',
        });
        expect(await h.store.getDevice(phone)).toEqual(device);
      });

      it('on a known device refreshes ip, version and updated_at and keeps type, status and created_at', async () => {
        await h.store.registerDevice(phone);
        await h.store.setDeviceStatus(phone, 'approved');
        now = T0 + 60_000;
        const { device, created } = await h.store.registerDevice({
          ...phone,
          ipAddress: '10.0.0.7',
          clientVersion: '3.2.2',
          clientType: 'SomethingElse',
        });
        expect(created).toBe(false);
        expect(device).toMatchObject({
          status: 'approved',
          ipAddress: '10.0.0.7',
          clientVersion: '3.2.2',
          clientType: 'MessengerBotR',
          createdAt: '2026-01-15 12:04:05',
          updatedAt: '2026-01-15 12:05:05',
        });
      });

      it('a reconnect within the same second still finds the row (created: false)', async () => {
        await h.store.registerDevice(phone);
        const again = await h.store.registerDevice(phone);
        expect(again.created).toBe(false);
        expect(await count(h, 'kb_bot_devices')).toBe(1);
      });

      it('two concurrent first handshakes of one device both succeed and leave one row', async () => {
        const results = await Promise.all([h.store.registerDevice(phone), h.store.registerDevice(phone)]);
        expect(results.map((r) => r.created).sort()).toEqual([false, true]);
        expect(results.map((r) => r.device.status)).toEqual(['pending', 'pending']);
        expect(await count(h, 'kb_bot_devices')).toBe(1);
      });

      it('lets one phone serve two bots', async () => {
        const a = await h.store.registerDevice(phone);
        const b = await h.store.registerDevice({ ...phone, botName: 'other-bot' });
        expect([a.created, b.created]).toEqual([true, true]);
        expect((await h.store.listDevices()).map((d) => d.botName)).toEqual(['demo-bot', 'other-bot']);
      });

      it('getDevices returns the known keys only, for many keys at once', async () => {
        const ids = ['d-01', 'd-02', 'd-03'];
        for (const deviceId of ids) await h.store.registerDevice({ ...phone, deviceId });
        const unknown = Array.from({ length: 600 }, (_, i) => ({ botName: 'demo-bot', deviceId: `nope-${i}` }));
        const keys = [
          ...unknown.slice(0, 300),
          ...ids.map((deviceId) => ({ botName: 'demo-bot', deviceId })),
          ...unknown,
        ];
        const rows = await h.store.getDevices(keys);
        expect(rows.map((r) => r.deviceId).sort()).toEqual(ids);
        expect(await h.store.getDevices([])).toEqual([]);
        expect(await h.store.getDevice({ botName: 'demo-bot', deviceId: 'nope' })).toBeUndefined();
      });

      it('listDevices orders by bot, then device', async () => {
        await h.store.registerDevice({ ...phone, botName: 'b', deviceId: '2' });
        await h.store.registerDevice({ ...phone, botName: 'a', deviceId: '9' });
        await h.store.registerDevice({ ...phone, botName: 'b', deviceId: '1' });
        expect((await h.store.listDevices()).map((d) => `${d.botName}/${d.deviceId}`)).toEqual(['a/9', 'b/1', 'b/2']);
      });

      it('setDeviceStatus stamps approved_at when approving and keeps a given reason', async () => {
        await h.store.registerDevice(phone);
        now = T0 + 5_000;
        const approved = await h.store.setDeviceStatus(phone, 'approved');
        expect(approved).toMatchObject({ status: 'approved', updatedAt: '2026-01-15 12:04:10' });
        now = T0 + 10_000;
        const denied = await h.store.setDeviceStatus(phone, 'denied', '분실 신고');
        expect(denied.status).toBe('denied');
        const [raw] = await h.query('SELECT approved_at, rejection_reason FROM kb_bot_devices');
        expect(raw).toEqual({ approved_at: '2026-01-15 12:04:10', rejection_reason: '분실 신고' });
      });

      it('setDeviceStatus creates a device that never connected, with empty client fields', async () => {
        const row = await h.store.setDeviceStatus({ botName: 'demo-bot', deviceId: 'fresh' }, 'approved');
        expect(row).toMatchObject({
          botName: 'demo-bot',
          deviceId: 'fresh',
          status: 'approved',
          ipAddress: null,
          clientType: null,
          clientVersion: null,
        });
        // the phone then connects: same row, still approved
        const { device, created } = await h.store.registerDevice({ ...phone, deviceId: 'fresh' });
        expect(created).toBe(false);
        expect(device).toMatchObject({ status: 'approved', ipAddress: phone.ipAddress, clientVersion: '3.2.1' });
      });

      it('reads status and max_message_size edited directly in the table (back office)', async () => {
        await h.store.registerDevice(phone);
        await h.query("UPDATE kb_bot_devices SET status = 'revoked', max_message_size = 2097152");
        expect(await h.store.getDevice(phone)).toMatchObject({ status: 'revoked', maxMessageSize: 2_097_152 });
        const [fromMany] = await h.store.getDevices([phone]);
        expect(fromMany?.maxMessageSize).toBe(2_097_152);
      });
    });

    describe('rooms (PROTOCOL §7.8, §8.2)', () => {
      const room = { roomId: '18469710452305870', botName: 'demo-bot', deviceId: phone.deviceId };

      it('registers a missing room with room_concurrency 2 and an auto-registration note', async () => {
        const { room: row, created } = await h.store.registerRoom(room, '우리방 🎉', 'pending');
        expect(created).toBe(true);
        expect(row).toEqual({
          ...room,
          roomName: '우리방 🎉',
          status: 'pending',
          createdAt: '2026-01-15 12:04:05',
          updatedAt: '2026-01-15 12:04:05',
        });
        const [raw] = await h.query('SELECT room_concurrency, description FROM kb_rooms');
        expect(Number(raw?.room_concurrency)).toBe(2);
        expect(raw?.description).toBe('자동 등록: demo-bot / a1b2c3d4');
        expect(await h.store.getRoom(room)).toEqual(row);
      });

      it('registers an auto-approved room as approved', async () => {
        const { room: row } = await h.store.registerRoom(room, '방', 'approved');
        expect(row.status).toBe('approved');
      });

      it('returns an existing room untouched, even under a new title', async () => {
        await h.store.registerRoom(room, '옛 이름', 'pending');
        now = T0 + DAY;
        const again = await h.store.registerRoom(room, '새 이름', 'approved');
        expect(again.created).toBe(false);
        expect(again.room).toMatchObject({ roomName: '옛 이름', status: 'pending', updatedAt: '2026-01-15 12:04:05' });
      });

      it('keeps rooms per (channel, bot, device): a second phone needs its own row', async () => {
        await h.store.registerRoom(room, '방', 'pending');
        const other = { ...room, deviceId: 'ffffeeeeddddcccc' };
        expect(await h.store.getRoom(other)).toBeUndefined();
        const second = await h.store.registerRoom(other, '방', 'pending');
        expect(second.created).toBe(true);
        expect(await count(h, 'kb_rooms')).toBe(2);
      });

      it('listRooms filters by bot and by status', async () => {
        await h.store.registerRoom(room, 'a', 'pending');
        await h.store.registerRoom({ ...room, roomId: '2' }, 'b', 'approved');
        await h.store.registerRoom({ ...room, botName: 'other-bot' }, 'c', 'approved');
        expect((await h.store.listRooms()).length).toBe(3);
        expect((await h.store.listRooms({ botName: 'demo-bot' })).map((r) => r.roomName)).toEqual(['a', 'b']);
        expect((await h.store.listRooms({ status: 'approved' })).map((r) => r.roomName).sort()).toEqual(['b', 'c']);
        expect((await h.store.listRooms({ botName: 'demo-bot', status: 'approved' })).map((r) => r.roomName)).toEqual([
          'b',
        ]);
      });

      it('roomStatuses lists every row of one bot, status as stored, digits of big ids kept', async () => {
        await h.store.registerRoom({ ...room, roomId: '18446744073709551615' }, 'a', 'pending');
        await h.store.registerRoom({ ...room, roomId: '2', deviceId: 'second-phone' }, 'b', 'approved');
        await h.store.registerRoom({ ...room, botName: 'other-bot' }, 'c', 'approved');
        const rows = await h.store.roomStatuses('demo-bot');
        expect(rows.sort((x, y) => x.roomId.localeCompare(y.roomId))).toEqual([
          { roomId: '18446744073709551615', deviceId: room.deviceId, status: 'pending' },
          { roomId: '2', deviceId: 'second-phone', status: 'approved' },
        ]);
        expect(await h.store.roomStatuses('nobody')).toEqual([]);
      });

      it("setRoomStatus changes every phone's row of the bot's room and counts real changes only", async () => {
        await h.store.registerRoom(room, '방', 'pending');
        await h.store.registerRoom({ ...room, deviceId: 'second-phone' }, '방', 'pending');
        await h.store.registerRoom({ ...room, botName: 'other-bot' }, '방', 'pending');
        now = T0 + 1_000;
        expect(await h.store.setRoomStatus('demo-bot', room.roomId, 'approved')).toBe(2);
        expect((await h.store.getRoom(room))?.status).toBe('approved');
        expect((await h.store.getRoom(room))?.updatedAt).toBe('2026-01-15 12:04:06');
        expect((await h.store.getRoom({ ...room, botName: 'other-bot' }))?.status).toBe('pending');
        expect(await h.store.setRoomStatus('demo-bot', room.roomId, 'approved')).toBe(0);
        const [raw] = await h.query('SELECT approved_at FROM kb_rooms WHERE bot_name = ? AND device_id = ?', [
          'demo-bot',
          room.deviceId,
        ]);
        expect(raw?.approved_at).toBe('2026-01-15 12:04:06');
      });

      it('setRoomStatus with a device changes that row only, creating it when missing', async () => {
        await h.store.registerRoom(room, '방', 'pending');
        expect(await h.store.setRoomStatus('demo-bot', room.roomId, 'blocked', room.deviceId)).toBe(1);
        expect(await h.store.setRoomStatus('demo-bot', room.roomId, 'blocked', room.deviceId)).toBe(0);
        expect(await h.store.setRoomStatus('demo-bot', room.roomId, 'approved', 'new-phone')).toBe(1);
        expect(await h.store.getRoom({ ...room, deviceId: 'new-phone' })).toMatchObject({
          status: 'approved',
          roomName: '',
        });
        expect((await h.store.getRoom(room))?.status).toBe('blocked');
      });
    });

    describe('chat logs (PROTOCOL §8.3)', () => {
      it('stores one row per message with the server processing time in KST', async () => {
        now = T0 + 2_000;
        await h.store.insertChatLogs([
          chat(),
          chat({
            message: '# echo 안녕',
            directive: '#',
            messageType: 'command',
            isMeaningful: true,
            isMention: true,
            isGroupChat: false,
            clientTimestamp: T0 + 1_000,
          }),
        ]);
        const rows = await h.query(
          `SELECT channel_id, user_hash, room_name, sender, message, directive, message_type, is_meaningful, bot_name,
                  is_mention, is_group_chat, log_id, client_timestamp, server_timestamp, created_at
           FROM kb_chat_logs ORDER BY id`,
        );
        expect(rows.map((r) => ({ ...r, is_meaningful: Number(r.is_meaningful) }))).toEqual([
          {
            channel_id: '18469710452305870',
            user_hash: 'u-hash-1',
            room_name: '테스트방',
            sender: '홍길동',
            message: '안녕하세요',
            directive: null,
            message_type: 'text',
            is_meaningful: 0,
            bot_name: 'demo-bot',
            is_mention: 0,
            is_group_chat: 1,
            log_id: '3829102938475610',
            client_timestamp: '2026-01-15 12:04:05',
            server_timestamp: '2026-01-15 12:04:07',
            created_at: '2026-01-15 12:04:07',
          },
          {
            channel_id: '18469710452305870',
            user_hash: 'u-hash-1',
            room_name: '테스트방',
            sender: '홍길동',
            message: '# echo 안녕',
            directive: '#',
            message_type: 'command',
            is_meaningful: 1,
            bot_name: 'demo-bot',
            is_mention: 1,
            is_group_chat: 0,
            log_id: '3829102938475610',
            client_timestamp: '2026-01-15 12:04:06',
            server_timestamp: '2026-01-15 12:04:07',
            created_at: '2026-01-15 12:04:07',
          },
        ]);
      });

      it('keeps a missing user hash and log id as NULL where the column allows it', async () => {
        await h.store.insertChatLogs([chat({ userHash: null, logId: null, channelId: 'None' })]);
        const [raw] = await h.query('SELECT user_hash, log_id, channel_id FROM kb_chat_logs');
        expect(raw).toEqual({ user_hash: null, log_id: null, channel_id: 'None' });
      });

      it('keeps emoji and a 65,000-character Hangul message intact', async () => {
        const long = '가나다라마바사아자차카타파하'.repeat(5_000).slice(0, 65_000);
        const emoji = '좋아요 👍🏽 가족 👨‍👩‍👧‍👦 국기 🇰🇷 끝';
        await h.store.insertChatLogs([
          chat({ message: long }),
          chat({ message: emoji, sender: '😀 보낸이', roomName: '🎉 방' }),
        ]);
        const rows = await h.query('SELECT message, sender, room_name FROM kb_chat_logs ORDER BY id');
        expect(rows[0]?.message).toBe(long);
        expect(String(rows[0]?.message).length).toBe(65_000);
        expect(rows[1]).toEqual({ message: emoji, sender: '😀 보낸이', room_name: '🎉 방' });
      });

      it('keeps 64-bit channel and log ids exact', async () => {
        await h.store.insertChatLogs([chat({ channelId: '9223372036854775807', logId: '18446744073709551615' })]);
        const [raw] = await h.query('SELECT channel_id, log_id FROM kb_chat_logs');
        expect(raw).toEqual({ channel_id: '9223372036854775807', log_id: '18446744073709551615' });
      });

      it('stores a batch larger than one INSERT chunk completely and in order', async () => {
        const rows = Array.from({ length: 1_201 }, (_, i) => chat({ message: `메시지 ${i}` }));
        await h.store.insertChatLogs(rows);
        expect(await count(h, 'kb_chat_logs')).toBe(1_201);
        const ordered = await h.query('SELECT message FROM kb_chat_logs ORDER BY id');
        expect(ordered.map((r) => r.message)).toEqual(rows.map((r) => r.message));
        await h.store.insertChatLogs([]);
        expect(await count(h, 'kb_chat_logs')).toBe(1_201);
      });
    });

    describe('telemetry (PROTOCOL §8.4, §8.5)', () => {
      it('stores a ping reply with its numbers and KST times, NULL for missing times', async () => {
        await h.store.insertPings([
          pingRow(),
          pingRow({ clientTimestamp: null, serverTimestamp: null, pingTimeMs: 0 }),
        ]);
        const rows = await h.query('SELECT * FROM kb_ping_monitor ORDER BY id');
        expect(rows).toHaveLength(2);
        const [first, second] = rows;
        expect(first).toMatchObject({
          bot_name: 'demo-bot',
          device_id: phone.deviceId,
          client_ip: '192.168.0.23',
          process_name: 'msgbot-test',
          client_timestamp: '2026-01-15 12:04:04',
          server_timestamp: kstDateTime(T0 - 42),
          created_at: '2026-01-15 12:04:05',
        });
        const nums = (r: RawRow | undefined, keys: string[]) => keys.map((k) => Number(r?.[k]));
        expect(
          nums(first, [
            'ping_time_ms',
            'total_memory',
            'memory_usage',
            'memory_percent',
            'message_queue_size',
            'active_rooms',
            'server_cpu_usage',
            'server_cpu_max',
            'server_memory_usage',
            'server_memory_max',
          ]),
        ).toEqual([42, 512, 128, 25.1, 3, 5, 12.5, 30.25, 88.5, 91]);
        expect(second).toMatchObject({ client_timestamp: null, server_timestamp: null });
        expect(Number(second?.ping_time_ms)).toBe(0);
      });

      it('stores host samples', async () => {
        await h.store.insertSystemSamples([sample()]);
        const [raw] = await h.query('SELECT * FROM kb_system_monitor');
        expect(raw?.server_name).toBe('msgbot-test');
        expect(raw?.created_at).toBe('2026-01-15 12:04:05');
        expect(
          [
            'cpu_percent',
            'memory_total',
            'memory_used',
            'memory_percent',
            'disk_usage_percent',
            'active_connections',
            'message_queue_size',
          ].map((k) => Number(raw?.[k])),
        ).toEqual([7.5, 17_179_869_184, 8_589_934_592, 50, 61.2, 12, 4]);
      });

      it('pruneTelemetry deletes ping and host rows older than the cutoff, nothing else', async () => {
        await h.store.insertPings([pingRow(), pingRow()]);
        await h.store.insertSystemSamples([sample()]);
        await h.store.insertChatLogs([chat()]);
        now = T0 + 8 * DAY;
        await h.store.insertPings([pingRow()]);
        await h.store.insertSystemSamples([sample()]);
        expect(await h.store.pruneTelemetry(T0 + 7 * DAY)).toEqual({ pings: 2, samples: 1 });
        expect(await count(h, 'kb_ping_monitor')).toBe(1);
        expect(await count(h, 'kb_system_monitor')).toBe(1);
        expect(await count(h, 'kb_chat_logs')).toBe(1);
        expect(await h.store.pruneTelemetry(T0 + 7 * DAY)).toEqual({ pings: 0, samples: 0 });
        // the cutoff is exclusive and to the second
        expect(await h.store.pruneTelemetry(T0 + 8 * DAY)).toEqual({ pings: 0, samples: 0 });
        expect(await h.store.pruneTelemetry(T0 + 8 * DAY + 1_000)).toEqual({ pings: 1, samples: 1 });
      });

      it('empty batches write nothing', async () => {
        await h.store.insertPings([]);
        await h.store.insertSystemSamples([]);
        expect(await count(h, 'kb_ping_monitor')).toBe(0);
        expect(await count(h, 'kb_system_monitor')).toBe(0);
      });
    });
  });
}
