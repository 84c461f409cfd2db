import { afterEach, describe, expect, it } from 'vitest';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { startTestGateway, until } from '../support/test-gateway.js';

type TG = Awaited<ReturnType<typeof startTestGateway>>;
let tg: TG | undefined;
const clients: BridgeClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await tg?.stop();
  tg = undefined;
});

async function connect(t: TG, opts: Partial<Parameters<typeof BridgeClient.connect>[0]> = {}) {
  const c = await BridgeClient.connect({
    port: t.port,
    secret: KEYS.secret,
    salt: KEYS.salt,
    now: () => t.clock?.now() ?? Date.now(),
    ...opts,
  });
  clients.push(c);
  return c;
}

describe('end to end over TCP: a v3.2.2 session (PROTOCOL Appendix A)', () => {
  it('pending device: handshake, pings, logged chat, no reply; approve → echo answered', async () => {
    tg = await startTestGateway();
    const t = tg;
    const c = await connect(t);
    const hc = await c.next((p) => p.event === 'handshakeComplete');
    expect(hc.data).toEqual({
      success: true,
      approved: false,
      message: '디바이스가 승인 대기 상태로 등록되었습니다',
      server_version: '1.0.0',
    });
    const row = await t.store.getDevice({ botName: 'demo-bot', deviceId: 'a1b2c3' });
    expect(row?.status).toBe('pending');
    const approve = t.logs.find((l) => l.msg?.toString().includes('limited mode'));
    expect(approve?.approve).toBe('msgbot-gateway devices approve demo-bot a1b2c3');

    // first ping after the jitter (random 0.5 × 5 s), answered by the client automatically
    await t.advance(2_500);
    const ping = await c.next((p) => p.event === 'ping');
    expect(ping.data.bot_name).toBe('demo-bot');
    expect(typeof ping.data.server_timestamp).toBe('number');
    await until(() => t.logs.some((l) => l.msg === 'first ping answered'));
    expect((await t.gateway.metrics.pingsAnswered.get()).values[0]?.value).toBe(1);

    c.analyze('# echo hello');
    await until(() => t.logs.some((l) => l.msg === 'message from a device in limited mode'));
    await t.advance(10);
    expect(c.packets.filter((p) => p.event === 'messageResponse')).toEqual([]);

    // the operator approves the device and the room (CLI does exactly these store calls)
    await t.store.setDeviceStatus({ botName: 'demo-bot', deviceId: 'a1b2c3' }, 'approved');
    await t.store.setRoomStatus('demo-bot', '18234567890123456', 'approved', 'a1b2c3');
    await t.advance(5_000); // standing refresh
    await until(() => t.logs.some((l) => l.msg === 'device standing changed'));

    c.analyze('# echo hello --repeat=2');
    const r1 = await c.next((p) => p.event === 'messageResponse');
    const r2 = await c.next((p) => p.event === 'messageResponse');
    expect(r1.data).toEqual({
      room: 'Demo Room',
      channel_id: '18234567890123456',
      bot_name: 'demo-bot',
      text: '[1/2] 에코: hello',
    });
    expect(r2.data.text).toBe('[2/2] 에코: hello');
  });
});
