import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { sign, splitV33 } from '../../src/protocol/index.js';
import { KEYS } from '../support/fake-connection.js';
import { startTestGateway, until } from '../support/test-gateway.js';

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
});

/** PROTOCOL §5: a v3.3.2 client (enveloped handshake, `message` with a base64 payload) gets v3.3 framing. */
it('serves a v3.3.x client in v3.3 framing (PROTOCOL §5.7)', async () => {
  const t = await startTestGateway();
  stop = t.stop;
  await t.store.setDeviceStatus({ botName: 'demo-bot', deviceId: 'v33dev' }, 'approved');
  await t.store.setRoomStatus('demo-bot', '18234567890123456', 'approved', 'v33dev');
  const lines: string[] = [];
  const socket = net.connect(t.port, '127.0.0.1');
  socket.setEncoding('utf8');
  let buf = '';
  socket.on('data', (d: string) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  await new Promise((r) => socket.once('connect', r));
  const now = t.clock!.now();
  socket.write(
    `${JSON.stringify({ event: 'handshake', data: { clientType: 'MessengerBotR', botName: 'demo-bot', version: '3.3.2', deviceID: 'v33dev', deviceIP: '10.0.0.2', deviceInfo: 'x', timestamp: new Date(now).toISOString(), timezone: 'Asia/Seoul', message_positions: [0, 0] } })}\n`,
  );
  await until(() => lines.length === 1);
  const hc = JSON.parse(lines[0]!) as { event: string; data: Record<string, unknown> };
  expect(hc.event).toBe('handshakeComplete');
  expect(hc.data).toMatchObject({ success: true, approved: true, timezone: 'Asia/Seoul', message_positions: [0, 0] });

  const fields = {
    clientType: 'MessengerBotR',
    botName: 'demo-bot',
    deviceUUID: 'v33dev',
    macAddress: '02:00:00:00:00:00',
    ipAddress: '10.0.0.2',
    timestamp: now,
  };
  const payload = Buffer.from('# echo 안녕 {}', 'utf8').toString('base64');
  const header = {
    event: 'message',
    data: {
      room: 'Demo Room',
      channel_id: '18234567890123456',
      message_type: 'text',
      content_encoding: 'base64',
      message_positions: [0, payload.length],
      timestamp: new Date(now).toISOString(),
      timezone: 'Asia/Seoul',
      sender: 'Alice',
      is_group_chat: true,
      log_id: '3301234567890123456',
      user_hash: 'u',
      is_mention: false,
      bot_name: 'demo-bot',
      client_type: 'MessengerBotR',
      auth: { ...fields, deviceID: 'v33dev', version: '3.3.2', signature: sign(fields, KEYS) },
    },
  };
  socket.write(`${JSON.stringify(header)}${payload}\n`);
  await until(() => lines.length === 2);
  const reply = splitV33(lines[1]!);
  const data = (JSON.parse(reply.header) as { event: string; data: Record<string, unknown> }).data;
  expect(data).toMatchObject({
    room: 'Demo Room',
    channel_id: '18234567890123456',
    message_type: 'text',
    content_encoding: 'base64',
  });
  expect(Buffer.from(reply.payload, 'base64').toString('utf8')).toBe('에코: 안녕 {}');
  socket.destroy();
});
