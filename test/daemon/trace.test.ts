import { afterEach, describe, expect, it } from 'vitest';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { startTestGateway, until } from '../support/test-gateway.js';

/**
 * Issue 5 §2: every accepted message gets a trace id (ULID) at the connection, and every log line
 * about it carries it — connection, dispatcher/worker, handler, reply.
 */

type TG = Awaited<ReturnType<typeof startTestGateway>>;
let tg: TG | undefined;
const clients: BridgeClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await tg?.stop();
  tg = undefined;
});

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CHANNEL = '18234567890123456';
const LOG_ID = '3301234567890199999';

describe('trace id of one message (issue 5 §2)', () => {
  it('follows an approved `# echo hi` through every stage, on every line about it', async () => {
    tg = await startTestGateway();
    const t = tg;
    await t.store.setDeviceStatus({ botName: 'demo-bot', deviceId: 'a1b2c3' }, 'approved');
    await t.store.setRoomStatus('demo-bot', CHANNEL, 'approved', 'a1b2c3');
    const c = await BridgeClient.connect({
      port: t.port,
      secret: KEYS.secret,
      salt: KEYS.salt,
      now: () => t.clock?.now() ?? Date.now(),
    });
    clients.push(c);
    const hc = await c.next((p) => p.event === 'handshakeComplete');
    expect(hc.data.approved).toBe(true);

    const before = t.logs.length;
    c.analyze('# echo hi', { channelId: CHANNEL, logId: LOG_ID });
    const reply = await c.next((p) => p.event === 'messageResponse');
    expect(reply.data.text).toBe('에코: hi');
    await until(() => t.logs.some((l) => l.msg === 'message processed'));

    const accepted = t.logs.find((l) => l.msg === 'message accepted');
    const traceId = accepted?.traceId;
    expect(typeof traceId).toBe('string');
    expect(traceId).toMatch(ULID);

    const traced = t.logs.filter((l) => l.traceId === traceId);
    const stages = traced.map((l) => `${String(l.cat)}: ${String(l.msg)}`);
    // One line per stage, in the order the message travels.
    expect(stages).toEqual([
      'message: message accepted', // connection → gateway → dispatcher mailbox
      'message: reply sent', // the `# echo` handler's messageResponse handed to the connection
      'message: handler finished', // the worker's run of the router and handler ended
      'message: message processed', // the dispatcher's outcome of the worker's job
    ]);
    const finished = traced.find((l) => l.msg === 'handler finished');
    expect(finished).toMatchObject({ replies: 1, aborted: false });

    // Lines "about" the message: anything naming its room, channel, log id or text, and every
    // message/dispatch line written while it was in flight. None may lack the trace id.
    const during = t.logs.slice(before);
    const about = during.filter((l) => {
      const text = JSON.stringify(l);
      return (
        l.cat === 'message' ||
        l.cat === 'dispatch' ||
        text.includes(CHANNEL) ||
        text.includes(LOG_ID) ||
        text.includes('# echo hi') ||
        text.includes('에코')
      );
    });
    expect(about.length).toBeGreaterThanOrEqual(4);
    for (const line of about) expect(line.traceId, JSON.stringify(line)).toBe(traceId);
  });

  it("carries the trace id, once, on a handler's own log lines (ctx.log)", async () => {
    tg = await startTestGateway({
      bots: [
        {
          commands: [
            {
              prefix: '# traced',
              async run(ctx) {
                ctx.log.info({ step: 'inside' }, 'handler says hi');
                await ctx.reply('done');
              },
            },
          ],
        },
      ],
    });
    const t = tg;
    await t.store.setDeviceStatus({ botName: 'demo-bot', deviceId: 'a1b2c3' }, 'approved');
    await t.store.setRoomStatus('demo-bot', CHANNEL, 'approved', 'a1b2c3');
    const c = await BridgeClient.connect({
      port: t.port,
      secret: KEYS.secret,
      salt: KEYS.salt,
      now: () => t.clock?.now() ?? Date.now(),
    });
    clients.push(c);
    await c.next((p) => p.event === 'handshakeComplete');
    c.analyze('# traced', { channelId: CHANNEL });
    expect((await c.next((p) => p.event === 'messageResponse')).data.text).toBe('done');
    await until(() => t.logs.some((l) => l.msg === 'message processed'));

    const traceId = t.logs.find((l) => l.msg === 'message accepted')?.traceId;
    expect(traceId).toMatch(ULID);
    const own = t.rawLogs.filter((line) => line.includes('handler says hi'));
    expect(own).toHaveLength(1);
    // JSON.parse keeps the last of duplicate keys; the written line must hold the field once.
    expect(own[0]!.split('"traceId"').length - 1).toBe(1);
    expect(JSON.parse(own[0]!)).toMatchObject({ traceId, step: 'inside', cat: 'message' });
  });

  it('gives each message its own, increasing trace id', async () => {
    tg = await startTestGateway();
    const t = tg;
    await t.store.setDeviceStatus({ botName: 'demo-bot', deviceId: 'a1b2c3' }, 'approved');
    await t.store.setRoomStatus('demo-bot', CHANNEL, 'approved', 'a1b2c3');
    const c = await BridgeClient.connect({
      port: t.port,
      secret: KEYS.secret,
      salt: KEYS.salt,
      now: () => t.clock?.now() ?? Date.now(),
    });
    clients.push(c);
    await c.next((p) => p.event === 'handshakeComplete');
    c.analyze('# echo one', { channelId: CHANNEL });
    c.analyze('# echo two', { channelId: CHANNEL });
    await c.next((p) => p.event === 'messageResponse');
    await c.next((p) => p.event === 'messageResponse');
    await until(() => t.logs.filter((l) => l.msg === 'message processed').length === 2);
    const ids = t.logs.filter((l) => l.msg === 'message accepted').map((l) => String(l.traceId));
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[0]! < ids[1]!).toBe(true); // monotonic ULIDs sort in acceptance order
    for (const id of ids) {
      const msgs = t.logs.filter((l) => l.traceId === id).map((l) => l.msg);
      expect(msgs).toEqual(expect.arrayContaining(['message accepted', 'handler finished', 'reply sent']));
      expect(msgs).toContain('message processed');
    }
  });
});
