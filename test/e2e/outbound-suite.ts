import { afterEach, beforeEach, expect, it } from 'vitest';
import { until } from '../support/test-gateway.js';
import {
  BOT,
  CHANNEL,
  DEVICE,
  ROOM,
  type ScenarioEnv,
  servedThenAway,
  startWorld,
  V33_DEVICE,
  v33Packet,
  type World,
} from './outbound-scenarios.js';

/**
 * The outbound side end to end (DESIGN.md §2 "Outbound path", PROTOCOL §5.4, §8.3 [REC]); the
 * same tests run on SQLite and on MariaDB, each store given by `env`.
 */
export function outboundSuite(env: () => Promise<ScenarioEnv & { drop(): Promise<void> }>): void {
  let w: World | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const e = await env();
    drop = e.drop;
    w = await startWorld(e);
  });
  afterEach(async () => {
    try {
      await w?.stop();
    } finally {
      w = undefined;
      await drop?.();
    }
  });

  it('POST /messages needs the token and a valid body (401, 400 with the reason)', async () => {
    const world = w!;
    expect((await world.post({ bot: BOT, channelId: CHANNEL, text: 'hi' }, null)).status).toBe(401);
    const bad = await world.post({ bot: BOT, channelId: 'room-1', text: 'hi', media: { urls: ['https://x/a.jpg'] } });
    expect(bad.status).toBe(400);
    const { error } = (await bad.json()) as { error: string };
    expect(error).toContain('channelId: must be a decimal digit string');
    expect(error).toContain('exactly one of "text" and "media"');
    expect((await fetch(`${world.base}/messages/nope`, { headers: {} })).status).toBe(401);
  });

  it('an API send to a phone that reconnects 30 s later arrives; kb_chat_logs has it as our response', async () => {
    const world = w!;
    await servedThenAway(world);
    const res = await world.post({ bot: BOT, channelId: CHANNEL, text: '공지: 점검 10분 전 📢' });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { id: string; status: string };
    expect(accepted).toMatchObject({ status: 'queued', kind: 'api', botName: BOT, deviceId: DEVICE });
    await world.t.advance(30_000);
    expect((await world.outcome(accepted.id)).status).toBe('queued');
    const back = await world.phone();
    const packet = await back.next((p) => p.event === 'messageResponse');
    expect(packet.data).toEqual({ room: ROOM, channel_id: CHANNEL, bot_name: BOT, text: '공지: 점검 10분 전 📢' });
    await until(() => world.t.gateway.sender.outcomes.get(accepted.id)?.status === 'delivered');
    expect(await world.outcome(accepted.id)).toMatchObject({ status: 'delivered', deviceId: DEVICE });
    // the echo reply of servedThenAway and this send: both ours, neither scheduled
    const rows = await world.ourRows(2);
    expect(rows.map((r) => r.message)).toEqual(['에코: 안녕', '공지: 점검 10분 전 📢']);
    for (const r of rows) {
      expect(r).toMatchObject({ channel_id: CHANNEL, room_name: ROOM, bot_name: BOT, sender: BOT });
      expect(Number(r.is_our_bot_response)).toBe(1);
      expect(Number(r.is_scheduled)).toBe(0);
    }
  });

  it('an API send to a phone that never comes back fails `expired` after outbound.holdMs', async () => {
    const world = w!;
    await servedThenAway(world);
    const { id } = (await (await world.post({ bot: BOT, channelId: CHANNEL, text: 'nobody home' })).json()) as {
      id: string;
    };
    await world.t.advance(599_000);
    expect((await world.outcome(id)).status).toBe('queued');
    await world.t.advance(1_000);
    await until(() => world.t.gateway.sender.outcomes.get(id)?.status === 'failed');
    expect(await world.outcome(id)).toMatchObject({ status: 'failed', reason: 'expired' });
    const sends = await world.t.gateway.metrics.sends.get();
    expect(sends.values.find((v) => v.labels.kind === 'api')).toMatchObject({
      labels: { kind: 'api', outcome: 'expired' },
      value: 1,
    });
    // only the echo reply of servedThenAway was ours
    expect((await world.ourRows(1)).map((r) => r.message)).toEqual(['에코: 안녕']);
  });

  it('a send to an unapproved room fails `not-approved` at once; an unknown room without a device `no-connection`', async () => {
    const world = w!;
    await servedThenAway(world);
    await world.t.store.setRoomStatus(BOT, CHANNEL, 'blocked', DEVICE);
    const blocked = (await (await world.post({ bot: BOT, channelId: CHANNEL, text: 'x' })).json()) as Record<
      string,
      unknown
    >;
    expect(blocked).toMatchObject({ status: 'failed', reason: 'not-approved', detail: 'the room is blocked' });
    const unknown = (await (await world.post({ bot: BOT, channelId: '99', text: 'x' })).json()) as Record<
      string,
      unknown
    >;
    expect(unknown).toMatchObject({ status: 'failed', reason: 'no-connection' });
  });

  it('a scheduled send reaches a v3.2.2 phone as messageResponse (it ignores scheduleMessage, PROTOCOL §4.7)', async () => {
    const world = w!;
    await world.t.store.setRoomStatus(BOT, CHANNEL, 'approved', DEVICE);
    const c = await world.phone();
    const outcome = await world.t.gateway.outbound.send({
      id: '01JSCHEDULED0000000000000B',
      kind: 'scheduled',
      botName: BOT,
      deviceId: DEVICE,
      channelId: CHANNEL,
      roomTitle: ROOM,
      text: '주간 공지',
      traceId: '01JSCHEDULED0000000000000B',
      scheduleId: 8,
    });
    expect(outcome).toMatchObject({ status: 'delivered', deviceId: DEVICE });
    const packet = await c.next((p) => p.event === 'messageResponse');
    expect(packet.data).toEqual({ room: ROOM, channel_id: CHANNEL, bot_name: BOT, text: '주간 공지' });
    const [row] = await world.ourRows(1);
    expect(Number(row!.is_scheduled)).toBe(1);
  });

  it('a scheduled send reaches a v3.3.3 phone as scheduleMessage and is logged is_scheduled = 1', async () => {
    const world = w!;
    await world.t.store.setRoomStatus(BOT, CHANNEL, 'approved', V33_DEVICE);
    const phone = await world.v33Phone();
    phone.say('hello from the room');
    await until(() => world.t.logs.some((l) => l.msg === 'message accepted'));
    const outcome = await world.t.gateway.outbound.send({
      id: '01JSCHEDULED0000000000000A',
      kind: 'scheduled',
      botName: BOT,
      deviceId: V33_DEVICE,
      channelId: CHANNEL,
      text: '매일 아침 공지',
      traceId: '01JSCHEDULED0000000000000A',
      scheduleId: 7,
    });
    expect(outcome).toMatchObject({ status: 'delivered', deviceId: V33_DEVICE });
    await until(() => phone.lines.length === 2);
    const packet = v33Packet(phone.lines[1]!);
    expect(packet.event).toBe('scheduleMessage');
    expect(packet.data).toMatchObject({ room: ROOM, channel_id: CHANNEL, message_type: 'text' });
    expect(packet.text).toBe('매일 아침 공지');
    const [row] = await world.ourRows(1);
    expect(row).toMatchObject({ message: '매일 아침 공지', room_name: ROOM, channel_id: CHANNEL });
    expect(Number(row!.is_scheduled)).toBe(1);
    expect(Number(row!.is_our_bot_response)).toBe(1);
    phone.close();
  });
}
