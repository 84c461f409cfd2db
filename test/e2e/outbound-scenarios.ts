import net from 'node:net';
import { expect } from 'vitest';
import { messageRoutes } from '../../src/infra/admin/message-routes.js';
import { type AdminServer, startAdminServer } from '../../src/infra/admin/server.js';
import { silentLoggers } from '../../src/infra/logger.js';
import type { Store } from '../../src/infra/store/types.js';
import { sign, splitV33 } from '../../src/protocol/index.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { startTestGateway, until } from '../support/test-gateway.js';

/**
 * End-to-end scenarios of the outbound side, run on SQLite (test/e2e/outbound.test.ts) and on
 * MariaDB (test/e2e-mysql/outbound-mysql.test.ts): a real gateway, its admin endpoint with the
 * send routes and a token (wired as src/daemon.ts does), simulated v3.2.2 and v3.3.3 phones.
 */

export const BOT = 'demo-bot';
export const DEVICE = 'a1b2c3';
export const V33_DEVICE = 'v333dev';
export const CHANNEL = '18234567890123456';
export const ROOM = '테스트방 🎉';
export const TOKEN = 'test-admin-token-0123456789';

export type ChatRow = Record<string, unknown>;

export interface ScenarioEnv {
  store: Store;
  /** kb_chat_logs rows written by the gateway for its own messages, oldest first */
  ourRows(): Promise<ChatRow[]>;
}

export type World = Awaited<ReturnType<typeof startWorld>>;

export async function startWorld(env: ScenarioEnv) {
  const t = await startTestGateway({ store: env.store });
  await t.store.setDeviceStatus({ botName: BOT, deviceId: DEVICE }, 'approved');
  await t.store.setDeviceStatus({ botName: BOT, deviceId: V33_DEVICE }, 'approved');
  const admin: AdminServer = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    metrics: t.gateway.metrics,
    log: silentLoggers().root,
    readiness: () => ({ ready: true, checks: {} }),
    actors: () => t.gateway.actors(),
    setLogLevel: () => {},
    routes: messageRoutes({
      accept: (input, kind) => t.gateway.sender.accept(input, kind),
      outcome: (id) => t.gateway.sender.outcomes.get(id),
    }),
  });
  const clients: BridgeClient[] = [];
  const sockets: net.Socket[] = [];
  const base = `http://127.0.0.1:${admin.port}`;
  return {
    t,
    admin,
    base,
    async phone(deviceId = DEVICE): Promise<BridgeClient> {
      const c = await BridgeClient.connect({
        port: t.port,
        secret: KEYS.secret,
        salt: KEYS.salt,
        deviceId,
        now: () => t.clock!.now(),
      });
      clients.push(c);
      await c.next((p) => p.event === 'handshakeComplete');
      return c;
    },
    /** A v3.3.3 phone (PROTOCOL §5): enveloped handshake; returns its received lines. */
    async v33Phone(deviceId = V33_DEVICE) {
      const lines: string[] = [];
      const socket = net.connect(t.port, '127.0.0.1');
      sockets.push(socket);
      socket.setEncoding('utf8');
      let buf = '';
      socket.on('data', (d: string) => {
        buf += d;
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        lines.push(...parts);
      });
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      const now = t.clock!.now();
      const data = {
        clientType: 'MessengerBotR',
        botName: BOT,
        version: '3.3.3',
        deviceID: deviceId,
        deviceIP: '10.0.0.3',
        deviceInfo: 'x',
        timestamp: new Date(now).toISOString(),
        timezone: 'Asia/Seoul',
        message_positions: [0, 0],
      };
      socket.write(`${JSON.stringify({ event: 'handshake', data })}\n`);
      await until(() => lines.length === 1);
      const say = (text: string) => {
        const at = t.clock!.now();
        const fields = {
          clientType: 'MessengerBotR',
          botName: BOT,
          deviceUUID: deviceId,
          macAddress: '02:00:00:00:00:00',
          ipAddress: '10.0.0.3',
          timestamp: at,
        };
        const payload = Buffer.from(text, 'utf8').toString('base64');
        const header = {
          event: 'message',
          data: {
            room: ROOM,
            channel_id: CHANNEL,
            message_type: 'text',
            content_encoding: 'base64',
            message_positions: [0, payload.length],
            timestamp: new Date(at).toISOString(),
            timezone: 'Asia/Seoul',
            sender: 'Alice',
            is_group_chat: true,
            log_id: String(3301234567890123456n + BigInt(at)),
            user_hash: 'u',
            is_mention: false,
            bot_name: BOT,
            client_type: 'MessengerBotR',
            auth: { ...fields, deviceID: deviceId, version: '3.3.3', signature: sign(fields, KEYS) },
          },
        };
        socket.write(`${JSON.stringify(header)}${payload}\n`);
      };
      return { lines, say, close: () => socket.destroy() };
    },
    post(body: unknown, token: string | null = TOKEN) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      return fetch(`${base}/messages`, { method: 'POST', headers, body: JSON.stringify(body) });
    },
    async outcome(id: string) {
      const res = await fetch(`${base}/messages/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return (await res.json()) as Record<string, unknown>;
    },
    /** flushes telemetry (simulated interval) and waits for `n` rows of our own messages */
    async ourRows(n: number): Promise<ChatRow[]> {
      let rows: ChatRow[] = [];
      const started = Date.now();
      while (Date.now() - started < 5_000) {
        await t.advance(1_000);
        rows = await env.ourRows();
        if (rows.length >= n) break;
      }
      expect(rows).toHaveLength(n);
      return rows;
    },
    async stop() {
      for (const c of clients) c.close();
      for (const s of sockets) s.destroy();
      await admin.close();
      await t.stop();
    },
  };
}

/** The phone relays one message from the room (so the gateway knows who serves it), then leaves. */
export async function servedThenAway(w: World): Promise<BridgeClient> {
  await w.t.store.setRoomStatus(BOT, CHANNEL, 'approved', DEVICE);
  const c = await w.phone();
  c.analyze('# echo 안녕', { room: ROOM, channelId: CHANNEL });
  await c.next((p) => p.event === 'messageResponse');
  c.close();
  await until(() => w.t.gateway.registry.size === 0);
  return c;
}

/** PROTOCOL §5.4: the v3.3 header and the decoded text of a line. */
export function v33Packet(line: string): { event: string; data: Record<string, unknown>; text: string } {
  const { header, payload } = splitV33(line);
  const parsed = JSON.parse(header) as { event: string; data: Record<string, unknown> };
  return { ...parsed, text: Buffer.from(payload, 'base64').toString('utf8') };
}
