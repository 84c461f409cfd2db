import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Outbox, OutboxEntry } from '../../src/actors/outbox.js';
import { MYSQL_OUTBOX_DDL, openMysqlOutbox } from '../../src/infra/outbox/mysql.js';
import { openSqliteOutbox, SQLITE_OUTBOX_DDL } from '../../src/infra/outbox/sqlite.js';
import { createScratchDatabase, describeMysql, type ScratchDatabase } from '../store/mysql-scratch.js';

/** DESIGN.md §2 outbound path (bounded, durable): the send record on both stores. */

const T0 = 1_765_000_000_000;

function api(n: number, over: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    id: `01API${String(n).padStart(4, '0')}`,
    kind: 'api',
    botName: 'demo-bot',
    deviceId: 'a1b2c3',
    channelId: '18234567890123456',
    traceId: `trace-${n}`,
    acceptedAt: T0 + n,
    owner: 'gw-1',
    text: `hello ${n}`,
    ...over,
  };
}

function scheduled(n: number, component: 'text' | 'images_1' | 'images_2'): OutboxEntry {
  return {
    id: `01SCH${String(n).padStart(4, '0')}`,
    kind: 'scheduled',
    botName: 'demo-bot',
    deviceId: 'a1b2c3',
    channelId: '18234567890123456',
    traceId: 'trace-run',
    acceptedAt: T0 + n,
    owner: 'gw-1',
    scheduleId: 7,
    scheduledAt: '2026-01-15 12:00:00',
    component,
  };
}

async function written(v: void | Promise<void>): Promise<void> {
  await v;
}

function suite(open: () => Promise<{ outbox: Outbox; reopen(): Promise<Outbox> }>) {
  it('keeps queued sends with their content across a reopen, in accept order, until settled', async () => {
    const { outbox, reopen } = await open();
    await written(outbox.add(api(1)));
    await written(outbox.add(api(2, { text: undefined, media: { imagesBase64: ['iVBORw0K'], waitMs: 3000 } })));
    await written(outbox.add(api(3, { roomTitle: '공지방' })));
    await written(outbox.settle(api(1).id, { status: 'delivered', deviceId: 'a1b2c3', at: T0 + 100 }));
    const again = await reopen();
    const queued = await again.queued();
    expect(queued.map((r) => r.id)).toEqual([api(2).id, api(3).id]);
    expect(queued[0]).toMatchObject({
      status: 'queued',
      media: { imagesBase64: ['iVBORw0K'], waitMs: 3000 },
      acceptedAt: T0 + 2,
      owner: 'gw-1',
    });
    expect(queued[0]?.text).toBeUndefined();
    expect(queued[1]).toMatchObject({ text: 'hello 3', roomTitle: '공지방', traceId: 'trace-3' });
    expect(await again.get(api(1).id)).toMatchObject({ status: 'delivered', settledAt: T0 + 100, text: 'hello 1' });
    await written(again.settle(api(2).id, { status: 'failed', reason: 'expired', detail: 'too late', at: T0 + 200 }));
    expect(await again.get(api(2).id)).toMatchObject({
      status: 'failed',
      reason: 'expired',
      detail: 'too late',
      deviceId: 'a1b2c3',
    });
    expect(await again.get('nope')).toBeUndefined();
  });

  it('gives the sends of one scheduled run; adding an id again re-queues its row', async () => {
    const { outbox } = await open();
    await written(outbox.add(scheduled(1, 'text')));
    await written(outbox.add(scheduled(2, 'images_1')));
    await written(outbox.add(api(3)));
    await written(outbox.settle(scheduled(1, 'text').id, { status: 'delivered', deviceId: 'a1b2c3', at: T0 + 5 }));
    await written(outbox.settle(scheduled(2, 'images_1').id, { status: 'failed', reason: 'shutdown', at: T0 + 6 }));
    const run = await outbox.ofRun(7, '2026-01-15 12:00:00');
    expect(run.map((r) => [r.component, r.status, r.scheduleId])).toEqual([
      ['text', 'delivered', 7],
      ['images_1', 'failed', 7],
    ]);
    expect(run[0]?.text).toBeUndefined(); // scheduled sends keep no content
    expect(await outbox.ofRun(7, '2026-01-16 12:00:00')).toEqual([]);
    await written(outbox.add({ ...scheduled(2, 'images_1'), acceptedAt: T0 + 50 }));
    expect(await outbox.get(scheduled(2, 'images_1').id)).toMatchObject({ status: 'queued', acceptedAt: T0 + 50 });
    expect((await outbox.get(scheduled(2, 'images_1').id))?.reason).toBeUndefined();
    expect((await outbox.queued()).map((r) => r.id)).toEqual([scheduled(2, 'images_1').id, api(3).id]);
  });

  it('deliveredOf gives the delivered sends of the given trace ids, in accept order per trace', async () => {
    const { outbox, reopen } = await open();
    await written(outbox.add(api(1, { traceId: 'trace-a' })));
    await written(outbox.add(api(2, { traceId: 'trace-b', text: undefined, media: { urls: ['https://x/1.png'] } })));
    await written(outbox.add(api(3, { traceId: 'trace-a', text: 'second' })));
    await written(outbox.add(api(4, { traceId: 'trace-a', text: 'still queued' })));
    await written(outbox.add(api(5, { traceId: 'trace-a', text: 'failed' })));
    await written(outbox.add(api(6, { traceId: 'trace-c' })));
    for (const n of [3, 1, 2, 6]) {
      await written(outbox.settle(api(n).id, { status: 'delivered', deviceId: `phone-${n}`, at: T0 + 100 + n }));
    }
    await written(outbox.settle(api(5).id, { status: 'failed', reason: 'expired', at: T0 + 105 }));
    const again = await reopen();
    const got = await again.deliveredOf(['trace-a', 'trace-b', 'trace-none']);
    expect(got.filter((r) => r.traceId === 'trace-a').map((r) => [r.id, r.text, r.deviceId, r.settledAt])).toEqual([
      [api(1).id, 'hello 1', 'phone-1', T0 + 101],
      [api(3).id, 'second', 'phone-3', T0 + 103],
    ]);
    expect(got.filter((r) => r.traceId === 'trace-b')).toMatchObject([
      { id: api(2).id, status: 'delivered', media: { urls: ['https://x/1.png'] } },
    ]);
    expect(got).toHaveLength(3);
    expect(await again.deliveredOf([])).toEqual([]);
    // more trace ids than one query takes
    const many = Array.from({ length: 1_200 }, (_, i) => `t-${i}`);
    expect((await again.deliveredOf([...many, 'trace-c'])).map((r) => r.id)).toEqual([api(6).id]);
  });

  it('prune removes rows settled before its bound, and queued ones only when accepted before it', async () => {
    const { outbox } = await open();
    for (const n of [1, 2, 3]) await written(outbox.add(api(n)));
    await written(outbox.settle(api(1).id, { status: 'delivered', deviceId: 'a1b2c3', at: 1_000 }));
    await written(outbox.settle(api(2).id, { status: 'failed', reason: 'expired', at: 5_000 }));
    expect(await outbox.prune(2_000)).toBe(1);
    expect(await outbox.prune(10_000)).toBe(1);
    expect((await outbox.queued()).map((r) => r.id)).toEqual([api(3).id]);
    expect(await outbox.prune(T0 + 3)).toBe(0); // accepted at T0 + 3: not before the bound
    expect(await outbox.prune(T0 + 4)).toBe(1); // left by a gateway that never came back
    expect(await outbox.queued()).toEqual([]);
  });
}

describe('SQLite outbox (DESIGN.md §2 outbound path, durable)', () => {
  const dirs: string[] = [];
  const opened: ReturnType<typeof openSqliteOutbox>[] = [];
  afterEach(() => {
    for (const o of opened.splice(0)) if (o.db.open) o.db.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  suite(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-outbox-'));
    dirs.push(dir);
    const make = async () => {
      const outbox = openSqliteOutbox(join(dir, 'msgbot.db'));
      await outbox.migrate();
      opened.push(outbox);
      return outbox;
    };
    // a crash: the old handle is simply dropped
    return { outbox: await make(), reopen: make };
  });

  it('a row that cannot be read back is reported and marked failed, never re-submitted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-outbox-'));
    dirs.push(dir);
    const bad: string[] = [];
    const outbox = openSqliteOutbox(join(dir, 'msgbot.db'), { onBadRow: (id) => bad.push(id) });
    opened.push(outbox);
    await outbox.migrate();
    outbox.add(api(1));
    outbox.db.prepare("UPDATE msgbot_outbox SET content = '{not json'").run();
    expect(await outbox.queued()).toEqual([]);
    expect(bad).toEqual([api(1).id]);
    expect(await outbox.get(api(1).id)).toBeUndefined();
    expect(await outbox.queued()).toEqual([]);
  });

  it('a table made before the trace index gets it at migrate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-outbox-'));
    dirs.push(dir);
    const old = openSqliteOutbox(join(dir, 'msgbot.db'));
    opened.push(old);
    old.db.exec(SQLITE_OUTBOX_DDL.replace(/;\s*CREATE INDEX IF NOT EXISTS msgbot_outbox_trace[^;]*$/, ''));
    old.add(api(1));
    const index = "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'msgbot_outbox_trace'";
    expect(old.db.prepare(index).all()).toEqual([]);
    await old.migrate();
    expect(old.db.prepare(index).all()).toHaveLength(1);
    const plan = old.db
      .prepare(`EXPLAIN QUERY PLAN SELECT id FROM msgbot_outbox WHERE trace_id IN (?) AND status = 'delivered'`)
      .all('trace-1') as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toContain('msgbot_outbox_trace');
  });
});

describeMysql('MySQL outbox (DESIGN.md §2 outbound path, durable)', () => {
  let db: ScratchDatabase | undefined;
  const opened: ReturnType<typeof openMysqlOutbox>[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
    await db?.drop();
    db = undefined;
  });
  suite(async () => {
    db = await createScratchDatabase();
    const url = db.url;
    const make = async () => {
      const outbox = openMysqlOutbox(url);
      await outbox.migrate();
      opened.push(outbox);
      return outbox;
    };
    return { outbox: await make(), reopen: make };
  });

  it('writes run in call order: an outcome never overtakes its insert', async () => {
    db = await createScratchDatabase();
    const outbox = openMysqlOutbox(db.url);
    opened.push(outbox);
    await outbox.migrate();
    await outbox.migrate(); // repeatable
    const writes: Promise<void>[] = [];
    for (let n = 1; n <= 20; n++) {
      writes.push(outbox.add(api(n)));
      writes.push(outbox.settle(api(n).id, { status: 'delivered', deviceId: 'a1b2c3', at: T0 + n }));
    }
    await Promise.all(writes);
    expect(await outbox.queued()).toEqual([]);
    const tables = await db.query('SHOW TABLES');
    expect(tables.map((r) => Object.values(r)[0])).toEqual(['msgbot_outbox']);
  });

  it('a table made before the trace index gets it at migrate', async () => {
    db = await createScratchDatabase();
    await db.query(MYSQL_OUTBOX_DDL.replace(/,\s*KEY msgbot_outbox_trace \(trace_id\)/, ''));
    const indexOf = async () =>
      (await db!.query("SHOW INDEX FROM msgbot_outbox WHERE Key_name = 'msgbot_outbox_trace'")).length;
    expect(await indexOf()).toBe(0);
    const outbox = openMysqlOutbox(db.url);
    opened.push(outbox);
    await outbox.migrate();
    expect(await indexOf()).toBe(1);
    await outbox.migrate(); // repeatable
    expect(await indexOf()).toBe(1);
  });
});
