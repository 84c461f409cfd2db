import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { defineBot } from '../../src/handlers/api.js';
import { loadHandlerModule } from '../../src/handlers/load.js';
import { type Clock, sleep } from '../../src/infra/clock.js';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { connectPhone, startTestGateway, type TestGatewayOptions, until } from '../support/test-gateway.js';

type TG = Awaited<ReturnType<typeof startTestGateway>>;
let tg: TG | undefined;
const clients: BridgeClient[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await tg?.stop();
  tg = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const BOT = 'demo-bot';
const DEVICE = 'a1b2c3';
const ROOM_A = '18234567890123456';
const ROOM_B = '18234567890999999';

async function start(opts: TestGatewayOptions & { approveRooms?: string[]; approveDevice?: boolean } = {}) {
  const t = await startTestGateway(opts);
  if (opts.approveDevice ?? true) await t.store.setDeviceStatus({ botName: BOT, deviceId: DEVICE }, 'approved');
  for (const room of opts.approveRooms ?? [ROOM_A, ROOM_B]) {
    await t.store.setRoomStatus(BOT, room, 'approved', DEVICE);
  }
  tg = t;
  return t;
}

function connect(t: TG, deviceId = DEVICE) {
  return connectPhone(t, clients, deviceId);
}

const replies = (c: BridgeClient) => c.packets.filter((p) => p.event === 'messageResponse').map((p) => p.data.text);

/** A handler whose `# slow` waits 30 s on the gateway's clock before answering. */
const slowBot = (clock: Clock) =>
  defineBot({
    commands: [
      {
        prefix: '# slow',
        async run(ctx) {
          await ctx.reply('slow started');
          await sleep(clock, 30_000, ctx.signal);
          await ctx.reply(`slow done: ${ctx.command?.prompt ?? ''}`);
        },
      },
    ],
  });

describe.each(['queued', 'direct'] as const)('message processing end to end (mode %s)', (mode) => {
  const config = { processing: { mode } };

  it('answers an approved device in an approved room (PROTOCOL §7.10 echo)', async () => {
    const t = await start({ config });
    const c = await connect(t);
    c.analyze('# echo 안녕 👋', { channelId: ROOM_A });
    const r = await c.next((p) => p.event === 'messageResponse');
    expect(r.data).toEqual({ room: 'Demo Room', channel_id: ROOM_A, bot_name: BOT, text: '에코: 안녕 👋' });
  });

  it('keeps packets pipelined behind the handshake in the same TCP segment, in order', async () => {
    const t = await start({ config });
    const c = await BridgeClient.connect({
      port: t.port,
      secret: KEYS.secret,
      salt: KEYS.salt,
      now: () => t.clock!.now(),
      deviceId: DEVICE,
    });
    clients.push(c);
    // the handshake was written at connect; these three go out in one more write, before any reply
    c.analyze('# echo one', { channelId: ROOM_A });
    c.analyze('# echo two', { channelId: ROOM_A });
    c.analyze('# echo three', { channelId: ROOM_A });
    await until(() => replies(c).length === 3);
    expect(c.packets[0]?.event).toBe('handshakeComplete');
    expect(replies(c)).toEqual(['에코: one', '에코: two', '에코: three']);
  });

  it('pending room: logged and registered, never answered; approved later: answered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-e2e-'));
    dirs.push(dir);
    const file = join(dir, 'msgbot.db');
    const t = await start({ config, store: openSqliteStore(file), approveRooms: [] });
    const c = await connect(t);
    c.analyze('# echo hidden', { channelId: ROOM_A });
    await until(() => t.logs.some((l) => l.msg === 'room not approved; no reply'));
    await t.advance(1_000); // telemetry flush
    const db = new Database(file, { readonly: true });
    try {
      await until(() => (db.prepare('SELECT COUNT(*) n FROM kb_chat_logs').get() as { n: number }).n === 1);
      expect(db.prepare('SELECT message, channel_id, directive FROM kb_chat_logs').get()).toEqual({
        message: '# echo hidden',
        channel_id: ROOM_A,
        directive: '#',
      });
      expect(db.prepare('SELECT status, room_name FROM kb_rooms').get()).toEqual({
        status: 'pending',
        room_name: 'Demo Room',
      });
    } finally {
      db.close();
    }
    expect(replies(c)).toEqual([]);
    await t.store.setRoomStatus(BOT, ROOM_A, 'approved');
    await t.advance(5_000); // room cache ttl
    c.analyze('# echo visible', { channelId: ROOM_A });
    await until(() => replies(c).length === 1);
    expect(replies(c)).toEqual(['에코: visible']);
  });

  it('pending device: its message is logged and never answered', async () => {
    const t = await start({ config, approveDevice: false });
    const c = await connect(t);
    c.analyze('# echo nope', { channelId: ROOM_A });
    await until(() => t.logs.some((l) => l.msg === 'message from a device in limited mode'));
    await t.advance(1_000);
    await until(() => t.gateway.telemetry.buffered === 0);
    expect(replies(c)).toEqual([]);
  });

  it('a slow handler in room A does not delay room B', async () => {
    const t = await start({ config, bots: (clock) => [slowBot(clock)] });
    const c = await connect(t);
    c.analyze('# slow a', { channelId: ROOM_A });
    await until(() => replies(c).includes('slow started'));
    c.analyze('# echo b', { channelId: ROOM_B });
    await until(() => replies(c).includes('에코: b'));
    expect(replies(c)).not.toContain('slow done: a');
    await t.advance(30_000);
    await t.advance(1_000); // the reply gap after 'slow started' (PROTOCOL §4.4)
    await until(() => replies(c).includes('slow done: a'));
  });

  it('a reply reaches the connection that holds the key now (reconnect mid-handler, PROTOCOL §2.7)', async () => {
    const t = await start({ config, bots: (clock) => [slowBot(clock)] });
    const first = await connect(t);
    first.analyze('# slow x', { channelId: ROOM_A });
    await until(() => replies(first).includes('slow started'));
    const second = await connect(t);
    await first.waitClosed();
    await t.advance(30_000);
    await t.advance(1_000);
    await until(() => replies(second).includes('slow done: x'));
    expect(t.gateway.registry.size).toBe(1);
  });

  it('drops a re-sent packet with the same (channelId, logId)', async () => {
    const t = await start({ config });
    const c = await connect(t);
    const line = c.analyze('# echo once', { channelId: ROOM_A, logId: '3301234567890123999' });
    c.writeRaw(`${line}\n`);
    c.analyze('# echo after', { channelId: ROOM_A });
    await until(() => replies(c).length === 2);
    expect(replies(c)).toEqual(['에코: once', '에코: after']);
    expect((await t.gateway.metrics.duplicates.get()).values[0]?.value).toBe(1);
  });

  it('answers once when the listener and the legacy callback both deliver one chat (PROTOCOL §4.1)', async () => {
    const t = await start({ config });
    const c = await connect(t);
    const legacy = (text: string) =>
      `${JSON.stringify({
        event: 'analyze',
        data: {
          room: 'Demo Room',
          text,
          sender: 'Alice',
          isGroupChat: true,
          channelId: ROOM_A,
          packageName: 'com.kakao.talk',
          threadId: null,
          userHash: `rnd${Math.random()}`,
          isMention: false,
          timestamp: '2025-07-24 14:03:27',
          botName: BOT,
          auth: c.auth(),
        },
      })}\n`;
    c.analyze('# echo pair one', { channelId: ROOM_A });
    c.writeRaw(legacy('# echo pair one'));
    c.writeRaw(legacy('# echo pair two')); // legacy first this time
    c.analyze('# echo pair two', { channelId: ROOM_A });
    c.analyze('# echo after', { channelId: ROOM_A });
    await until(() => replies(c).includes('에코: after'));
    expect(replies(c)).toEqual(['에코: pair one', '에코: pair two', '에코: after']);
    expect((await t.gateway.metrics.duplicates.get()).values[0]?.value).toBe(2);
  });

  it('runs an operator handler module (examples/echo-bot.mjs)', async () => {
    const bot = await loadHandlerModule(join(process.cwd(), 'examples/echo-bot.mjs'));
    const t = await start({ config, bots: [bot] });
    const c = await connect(t);
    c.analyze('# hello', { channelId: ROOM_A, sender: 'Bob' });
    await until(() => replies(c).length === 1);
    expect(replies(c)[0]).toContain('Bob');
  });
});

describe('rooms.autoApprove', () => {
  it('answers a room seen for the first time', async () => {
    const t = await start({ config: { rooms: { autoApprove: true } }, approveRooms: [] });
    const c = await connect(t);
    c.analyze('# echo new room', { channelId: '99999999999999999' });
    await until(() => replies(c).length === 1);
    expect((await t.store.listRooms({ botName: BOT }))[0]?.status).toBe('approved');
  });
});
