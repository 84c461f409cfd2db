import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import type { Actor } from 'xstate';
import { parseKst } from '../../src/actors/schedule-rules.js';
import type { schedulerMachine } from '../../src/actors/scheduler.js';
import { startScheduler } from '../../src/gateway/scheduler-wiring.js';
import { defineBot } from '../../src/handlers/api.js';
import { type MysqlInbox, openMysqlInbox } from '../../src/infra/inbox/mysql.js';
import { type MysqlOutbox, openMysqlOutbox } from '../../src/infra/outbox/mysql.js';
import { type MysqlStore, openMysqlStore } from '../../src/infra/store/mysql.js';
import { createScratchDatabase, describeMysql, type ScratchDatabase } from '../store/mysql-scratch.js';
import { newSchedule } from '../store/schedules.suite.js';
import type { BridgeClient } from '../support/bridge-client.js';
import { connectPhone, startTestGateway, until } from '../support/test-gateway.js';

/**
 * DESIGN.md §2 outbound path (durable) and PROTOCOL §7.12 on MariaDB: a schedule run cut short
 * (text delivered, image still queued) is resumed by the restarted gateway from msgbot_outbox, and
 * a replayed message's ctx.send delivered before the crash is not sent again.
 */

type TG = Awaited<ReturnType<typeof startTestGateway>>;
const BOT = 'demo-bot';
const DEVICE = 'a1b2c3';
const ROOM = '18234567890123456';
const PNG = 'iVBORw0KGgoAAAANSUhEUg==';
const OWNER = 'mysql-host:/data';

let db: ScratchDatabase | undefined;
const gateways: TG[] = [];
const outboxes: MysqlOutbox[] = [];
const inboxes: MysqlInbox[] = [];
const clients: BridgeClient[] = [];
const schedulers: Actor<typeof schedulerMachine>[] = [];
afterEach(async () => {
  for (const s of schedulers.splice(0)) s.stop();
  for (const c of clients.splice(0)) c.close();
  for (const t of gateways.splice(0)) await t.stop();
  for (const o of outboxes.splice(0)) await o.pool.end().catch(() => {});
  for (const i of inboxes.splice(0)) await i.pool.end().catch(() => {});
  await db?.drop();
  db = undefined;
});

async function gateway(url: string, clockStart: number) {
  const store: MysqlStore = await openMysqlStore(url, { poolSize: 2 });
  await store.migrate();
  const outbox = openMysqlOutbox(url);
  await outbox.migrate();
  outboxes.push(outbox);
  const t = await startTestGateway({
    store,
    outbox,
    instanceId: OWNER,
    clockStart,
    config: { scheduler: { startDelayMs: 10_000 } },
  });
  gateways.push(t);
  const s = startScheduler({
    store,
    send: t.gateway.outbound,
    clock: t.gateway.clock,
    liveBots: () => [...t.gateway.registry.entries()].map(([, e]) => e.info.handshake.botName),
    config: t.config.scheduler,
    metrics: t.gateway.metrics,
    log: pino({ level: 'silent' }),
    recovery: t.gateway.journal?.recoveryPort(),
  });
  schedulers.push(s);
  return { t, outbox, store };
}

function phone(t: TG, deviceId = DEVICE) {
  return connectPhone(t, clients, deviceId);
}

const texts = (c: BridgeClient) =>
  c.packets.filter((p) => p.event === 'messageResponse').map((p) => String(p.data.text));

async function poll(predicate: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeMysql('an interrupted schedule run on MariaDB (DESIGN.md §2, PROTOCOL §7.12)', () => {
  it('is resumed after the restart: the image goes out, the text not again, one log row, advanced', async () => {
    db = await createScratchDatabase();
    const scratch = db;
    const t0 = parseKst('2026-01-15 11:59:55') as number;
    const first = await gateway(scratch.url, t0);
    await first.store.setDeviceStatus({ botName: BOT, deviceId: DEVICE }, 'approved');
    await first.store.registerRoom({ roomId: ROOM, botName: BOT, deviceId: DEVICE }, '공지방', 'approved');
    await first.store.schedules.addSchedule(
      newSchedule({
        botName: BOT,
        deviceId: DEVICE,
        roomId: ROOM,
        messageText: 'morning',
        images1: [{ base64: PNG, name: 'a.png' }],
        scheduleType: 'daily',
      }),
    );
    const before = await phone(first.t);
    await first.t.advance(10_000); // the catch-up pass: claim, text out, the image waits for the room gap
    await until(() => texts(before).includes('morning'));
    const outboxRows = () => scratch.query('SELECT component, status FROM msgbot_outbox ORDER BY seq');
    await poll(async () => JSON.stringify(await outboxRows()).includes('"delivered"'));
    expect(await outboxRows()).toEqual([
      { component: 'text', status: 'delivered' },
      { component: 'images_1', status: 'queued' },
    ]);
    await first.outbox.pool.end(); // the crash: that process writes nothing more
    before.close();

    const second = await gateway(scratch.url, t0 + 60_000);
    const c = await phone(second.t);
    await second.t.advance(10_000);
    await poll(async () => (await scratch.query('SELECT id FROM kb_schedule_logs')).length === 1);
    await until(() => texts(c).length === 1);
    await second.t.advance(5_000);
    expect(texts(c)).toEqual([`IMAGE_BASE64:${PNG}`]);
    expect(texts(before).filter((x) => x === 'morning')).toHaveLength(1);
    expect(await scratch.query('SELECT status, scheduled_at FROM kb_schedule_logs')).toEqual([
      { status: 'success', scheduled_at: '2026-01-15 12:00:00' },
    ]);
    expect(await scratch.query('SELECT next_send_at, send_count FROM kb_schedule')).toEqual([
      { next_send_at: '2026-01-16 12:00:00', send_count: 1 },
    ]);
    await poll(
      async () =>
        JSON.stringify(await outboxRows()) ===
        JSON.stringify([
          { component: 'text', status: 'delivered' },
          { component: 'images_1', status: 'delivered' },
        ]),
    );
  });
});

describeMysql('a replayed ctx.send on MariaDB (DESIGN.md §2 durable mailbox)', () => {
  const TARGET = 'dev-2';

  /** A gateway with the durable mailbox and the send record on MariaDB, running `bot`. */
  async function withInbox(url: string, clockStart: number, bot: ReturnType<typeof defineBot>) {
    const store: MysqlStore = await openMysqlStore(url, { poolSize: 2 });
    await store.migrate();
    const outbox = openMysqlOutbox(url);
    await outbox.migrate();
    outboxes.push(outbox);
    const inbox = openMysqlInbox(url);
    await inbox.migrate();
    inboxes.push(inbox);
    const t = await startTestGateway({ store, outbox, inbox, instanceId: OWNER, clockStart, bots: [bot] });
    gateways.push(t);
    return { t, outbox, inbox, store };
  }

  function relay(wait: boolean, calls: number) {
    return defineBot({
      async onMessage(ctx) {
        for (let n = 0; n < calls; n++) await ctx.send({ channelId: ROOM, device: TARGET, text: 'relay' });
        if (wait) await new Promise<void>(() => {}); // the crash comes first
        await ctx.reply('done');
      },
    });
  }

  it('a send delivered before the crash is not sent again; a further identical call is', async () => {
    db = await createScratchDatabase();
    const scratch = db;
    const t0 = Date.now();
    const first = await withInbox(scratch.url, t0, relay(true, 1));
    for (const deviceId of [DEVICE, TARGET]) {
      await first.store.setDeviceStatus({ botName: BOT, deviceId }, 'approved');
      await first.store.registerRoom({ roomId: ROOM, botName: BOT, deviceId }, '공지방', 'approved');
    }
    const target = await phone(first.t, TARGET);
    const sender = await phone(first.t);
    sender.analyze('news', { channelId: ROOM });
    await until(() => texts(target).length === 1);
    const statuses = async () =>
      (await scratch.query('SELECT status FROM msgbot_outbox ORDER BY seq')).map((r) => r.status);
    await poll(async () => (await statuses()).join() === 'delivered');
    await first.outbox.pool.end(); // the crash: that process writes nothing more
    await first.inbox.pool.end();
    sender.close();
    target.close();

    const second = await withInbox(scratch.url, t0 + 30_000, relay(false, 2));
    const again = await phone(second.t, TARGET);
    const back = await phone(second.t);
    await until(() => texts(back).includes('done'));
    await until(() => texts(again).length === 1);
    await second.t.advance(2_000); // a second copy would have its room gap by now
    expect(texts(again)).toEqual(['relay']); // the second call only
    await poll(async () => (await statuses()).join() === 'delivered,delivered');
    expect(second.t.logs.filter((l) => l.msg === 'ctx.send delivered before the restart; not sent again')).toHaveLength(
      1,
    );
  });
});
