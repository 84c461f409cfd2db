import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Inbox } from '../../src/actors/inbox.js';
import { MYSQL_INBOX_DDL, openMysqlInbox } from '../../src/infra/inbox/mysql.js';
import { openSqliteInbox, SQLITE_INBOX_DDL } from '../../src/infra/inbox/sqlite.js';
import { createScratchDatabase, describeMysql, type ScratchDatabase } from '../store/mysql-scratch.js';
import { chat } from '../support/chat-message.js';

function suite(open: () => Promise<{ inbox: Inbox; reopen(): Promise<Inbox>; dispose(): Promise<void> }>) {
  let dispose: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await dispose?.();
    dispose = undefined;
  });

  it('keeps appended messages until finished, in append order, across a reopen', async () => {
    const h = await open();
    dispose = h.dispose;
    const { inbox } = h;
    inbox.append(chat(1));
    inbox.append(chat(2, { channelId: null, logId: null, room: 'Other' }));
    inbox.append(chat(3));
    expect(inbox.buffered).toBe(3);
    expect(await inbox.unfinished()).toEqual([]); // buffered only
    await inbox.flush();
    expect(inbox.buffered).toBe(0);
    inbox.finish(chat(1).traceId, 'processed', 1_721_800_001_000);
    await inbox.flush();
    const again = await h.reopen();
    expect(await again.unfinished()).toEqual([
      { message: chat(2, { channelId: null, logId: null, room: 'Other' }), repliesWritten: 0 },
      { message: chat(3), repliesWritten: 0 },
    ]);
    again.finish(chat(3).traceId, 'failed', 1_721_800_002_000);
    await again.flush();
    expect((await again.unfinished()).map((u) => u.message.traceId)).toEqual([chat(2).traceId]);
  });

  it('keeps the count of replies written of an unfinished message across a reopen, and again after it', async () => {
    const h = await open();
    dispose = h.dispose;
    h.inbox.append(chat(1));
    h.inbox.append(chat(2));
    h.inbox.replied(chat(1).traceId, 1);
    await h.inbox.flush();
    h.inbox.replied(chat(1).traceId, 2);
    await h.inbox.flush();
    const again = await h.reopen();
    expect((await again.unfinished()).map((u) => [u.message.traceId, u.repliesWritten])).toEqual([
      [chat(1).traceId, 2],
      [chat(2).traceId, 0],
    ]);
    // the replay writes a third reply, then ends
    again.replied(chat(1).traceId, 3);
    await again.flush();
    const third = await h.reopen();
    expect((await third.unfinished()).map((u) => u.repliesWritten)).toEqual([3, 0]);
    third.finish(chat(1).traceId, 'processed', 1_721_800_001_000);
    await third.flush();
    expect((await third.unfinished()).map((u) => u.message.traceId)).toEqual([chat(2).traceId]);
  });

  it('a finish in the same flush as its append is written after it', async () => {
    const h = await open();
    dispose = h.dispose;
    h.inbox.append(chat(7));
    h.inbox.finish(chat(7).traceId, 'processed', 1_721_800_000_100);
    h.inbox.append(chat(8));
    await h.inbox.flush();
    expect((await h.inbox.unfinished()).map((u) => u.message.traceId)).toEqual([chat(8).traceId]);
  });

  it('recent() gives de-duplication keys of finished and unfinished messages; prune removes only old finished ones', async () => {
    const h = await open();
    dispose = h.dispose;
    const { inbox } = h;
    for (const n of [1, 2, 3]) inbox.append(chat(n));
    await inbox.flush();
    inbox.finish(chat(1).traceId, 'processed', 100);
    inbox.finish(chat(2).traceId, 'expired', 5_000);
    await inbox.flush();
    const keys = await inbox.recent(1_721_800_000_002);
    expect(keys.map((k) => k.logId).sort()).toEqual([chat(2).logId, chat(3).logId]);
    expect(keys[0]).toMatchObject({ botName: 'demo-bot', deviceId: 'a1b2c3', channelId: '18234567890123456' });
    expect(await inbox.prune(1_000)).toBe(1);
    expect((await inbox.recent(0)).length).toBe(2);
    expect(await inbox.prune(10_000)).toBe(1);
    expect((await inbox.unfinished()).map((u) => u.message.traceId)).toEqual([chat(3).traceId]);
  });
}

describe('SQLite inbox (DESIGN.md §2 durable mailbox)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  suite(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-inbox-'));
    dirs.push(dir);
    const file = join(dir, 'msgbot.db');
    const opened: Inbox[] = [];
    const make = async () => {
      const inbox = openSqliteInbox(file);
      await inbox.migrate();
      opened.push(inbox);
      return inbox;
    };
    const inbox = await make();
    return {
      inbox,
      // a crash: the old handle is simply dropped, nothing is flushed
      reopen: make,
      dispose: async () => {
        for (const i of opened) (i as ReturnType<typeof openSqliteInbox>).db.close();
      },
    };
  });

  it('migrate adds the reply count to a table made before it had one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-inbox-'));
    dirs.push(dir);
    const file = join(dir, 'msgbot.db');
    const old = openSqliteInbox(file);
    old.db.exec(SQLITE_INBOX_DDL.replace(/,\s*replies_written[^\n]*/, ''));
    old.db
      .prepare('INSERT INTO msgbot_inbox (trace_id, bot_name, device_id, received_at, message) VALUES (?, ?, ?, ?, ?)')
      .run(chat(1).traceId, 'demo-bot', 'a1b2c3', chat(1).receivedAt, JSON.stringify(chat(1)));
    old.db.close();
    const inbox = openSqliteInbox(file);
    await inbox.migrate();
    await inbox.migrate();
    expect(await inbox.unfinished()).toEqual([{ message: chat(1), repliesWritten: 0 }]);
    inbox.replied(chat(1).traceId, 1);
    inbox.flush();
    expect((await inbox.unfinished())[0]?.repliesWritten).toBe(1);
    inbox.db.close();
  });

  it('never hands out a pruned seq again (AUTOINCREMENT)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-inbox-'));
    dirs.push(dir);
    const inbox = openSqliteInbox(join(dir, 'msgbot.db'));
    await inbox.migrate();
    inbox.append(chat(1));
    inbox.append(chat(2));
    inbox.flush();
    inbox.finish(chat(2).traceId, 'processed', 1);
    inbox.finish(chat(1).traceId, 'processed', 1);
    inbox.flush();
    expect(await inbox.prune(2)).toBe(2);
    inbox.append(chat(3));
    inbox.flush();
    const row = inbox.db.prepare('SELECT seq FROM msgbot_inbox').get() as { seq: number };
    expect(row.seq).toBe(3);
    inbox.db.close();
  });

  it('a row that cannot be read back is reported and marked failed, never replayed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-inbox-'));
    dirs.push(dir);
    const bad: number[] = [];
    const inbox = openSqliteInbox(join(dir, 'msgbot.db'), { onBadRow: (seq) => bad.push(seq) });
    await inbox.migrate();
    inbox.append(chat(1));
    inbox.flush();
    inbox.db.prepare('UPDATE msgbot_inbox SET message = \'{"traceId":1}\'').run();
    expect(await inbox.unfinished()).toEqual([]);
    expect(bad).toEqual([1]);
    expect(await inbox.unfinished()).toEqual([]);
    expect(bad).toEqual([1]);
    inbox.db.close();
  });
});

describeMysql('MySQL inbox (DESIGN.md §2 durable mailbox)', () => {
  let db: ScratchDatabase | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });
  suite(async () => {
    db = await createScratchDatabase();
    const url = db.url;
    const opened: Inbox[] = [];
    const make = async () => {
      const inbox = openMysqlInbox(url);
      await inbox.migrate();
      opened.push(inbox);
      return inbox;
    };
    const inbox = await make();
    return {
      inbox,
      reopen: make,
      dispose: async () => {
        for (const i of opened) await (i as ReturnType<typeof openMysqlInbox>).pool.end();
      },
    };
  });

  it('migrate creates only msgbot_inbox and is repeatable', async () => {
    db = await createScratchDatabase();
    const inbox = openMysqlInbox(db.url);
    await inbox.migrate();
    await inbox.migrate();
    const tables = await db.query('SHOW TABLES');
    expect(tables.map((r) => Object.values(r)[0])).toEqual(['msgbot_inbox']);
    await inbox.pool.end();
  });

  it('migrate adds the reply count to a table made before it had one', async () => {
    db = await createScratchDatabase();
    await db.query(MYSQL_INBOX_DDL.replace(/\s*replies_written[^\n]*/, ''));
    const inbox = openMysqlInbox(db.url);
    inbox.append(chat(1));
    await inbox.migrate();
    await inbox.flush();
    await inbox.migrate();
    inbox.replied(chat(1).traceId, 2);
    await inbox.flush();
    expect(await inbox.unfinished()).toEqual([{ message: chat(1), repliesWritten: 2 }]);
    await inbox.pool.end();
  });
});
