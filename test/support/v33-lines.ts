import { type HmacKeys, sign } from '../../src/protocol/index.js';

/** Lines a v3.3.x phone writes (PROTOCOL §5.3), for tests. */

export interface V33Identity {
  botName?: string;
  deviceId: string;
  version?: string;
}

/** PROTOCOL §5.3.1: the enveloped handshake. */
export function v33Handshake(id: V33Identity, now: number): string {
  return JSON.stringify({
    event: 'handshake',
    data: {
      clientType: 'MessengerBotR',
      botName: id.botName ?? 'demo-bot',
      version: id.version ?? '3.3.3',
      deviceID: id.deviceId,
      deviceIP: '10.0.0.2',
      deviceInfo: 'x',
      timestamp: new Date(now).toISOString(),
      timezone: 'Asia/Seoul',
      message_positions: [0, 0],
    },
  });
}

/** PROTOCOL §5.3.2: a `message` header followed by its base64 payload. */
export function v33Message(
  id: V33Identity,
  keys: HmacKeys,
  now: number,
  o: { text: string; logId: string; channelId?: string; room?: string },
): string {
  const botName = id.botName ?? 'demo-bot';
  const fields = {
    clientType: 'MessengerBotR',
    botName,
    deviceUUID: id.deviceId,
    macAddress: '02:00:00:00:00:00',
    ipAddress: '10.0.0.2',
    timestamp: now,
  };
  const payload = Buffer.from(o.text, 'utf8').toString('base64');
  const header = {
    event: 'message',
    data: {
      room: o.room ?? 'Demo Room',
      channel_id: o.channelId ?? '18234567890123456',
      message_type: 'text',
      content_encoding: 'base64',
      message_positions: [0, payload.length],
      timestamp: new Date(now).toISOString(),
      timezone: 'Asia/Seoul',
      sender: 'Alice',
      is_group_chat: true,
      log_id: o.logId,
      user_hash: 'u',
      is_mention: false,
      bot_name: botName,
      client_type: 'MessengerBotR',
      auth: { ...fields, deviceID: id.deviceId, version: id.version ?? '3.3.3', signature: sign(fields, keys) },
    },
  };
  return `${JSON.stringify(header)}${payload}`;
}
