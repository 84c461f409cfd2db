import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardSchedules } from '../../src/dashboard-schedules.js';
import type { HttpError } from '../../src/infra/admin/routes.js';
import { openSqliteStore, type SqliteStore } from '../../src/infra/store/sqlite.js';

// 2026-01-15 12:00:00 KST (a Thursday)
const NOW = Date.UTC(2026, 0, 15, 3, 0, 0);
const ROOM = '18469710452305870';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function storeWithRoom(): Promise<SqliteStore> {
  const dir = mkdtempSync(join(tmpdir(), 'msgbot-dash-sched-'));
  const store = openSqliteStore(join(dir, 'msgbot.db'));
  await store.migrate();
  await store.registerRoom({ roomId: ROOM, botName: 'demo-bot', deviceId: 'a1b2c3' }, '데모방', 'approved');
  cleanup.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

describe('dashboard schedules on kb_schedule', () => {
  it('adds once/daily/weekly rows with KST due times, lists them with the last outcome, pauses, resumes, removes', async () => {
    const store = await storeWithRoom();
    const s = dashboardSchedules(store, () => NOW);
    const daily = (await s.add({
      bot: 'demo-bot',
      channelId: ROOM,
      text: '좋은 아침',
      kind: 'daily',
      at: '09:00',
    })) as {
      id: number;
      nextRunAt: string;
    };
    expect(daily.nextRunAt).toBe('2026-01-16 09:00:00');
    const weekly = (await s.add({
      bot: 'demo-bot',
      channelId: ROOM,
      text: 'weekly',
      kind: 'weekly',
      at: '18:30',
      weekday: 1,
    })) as { id: number; nextRunAt: string };
    expect(weekly.nextRunAt).toBe('2026-01-19 18:30:00'); // the next Monday
    const once = (await s.add({
      bot: 'demo-bot',
      channelId: ROOM,
      text: 'once',
      kind: 'once',
      at: '2026-02-01T10:00',
      device: 'a1b2c3',
    })) as { id: number; nextRunAt: string };
    expect(once.nextRunAt).toBe('2026-02-01 10:00:00');

    await store.schedules.insertScheduleLog({
      scheduleId: daily.id,
      targetRoomId: ROOM,
      targetDeviceId: 'a1b2c3',
      sentMessageText: '좋은 아침',
      sentImages1: null,
      sentImages2: null,
      sendComponents: 'text',
      status: 'failed',
      errorMessage: 'text: expired',
      apiResponse: null,
      scheduledAt: '2026-01-15 09:00:00',
      startedAt: '2026-01-15 09:00:00',
      completedAt: '2026-01-15 09:10:00',
      durationMs: 600_000,
    });
    await s.pause(String(weekly.id));
    const listed = (await s.list()) as Array<Record<string, unknown>>;
    expect(listed.map((r) => [r.id, r.kind, r.deviceId, r.paused, r.nextRunAt, r.lastStatus])).toEqual([
      [daily.id, 'daily', 'a1b2c3', false, '2026-01-16 09:00:00', 'failed'],
      [weekly.id, 'weekly', 'a1b2c3', true, null, null],
      [once.id, 'once', 'a1b2c3', false, '2026-02-01 10:00:00', null],
    ]);
    expect(listed[0]).toMatchObject({ lastError: 'text: expired', lastAt: '2026-01-15 09:10:00' });

    await s.resume(String(weekly.id));
    await s.remove(String(once.id));
    expect(((await s.list()) as Array<{ id: number; paused: boolean }>).map((r) => [r.id, r.paused])).toEqual([
      [daily.id, false],
      [weekly.id, false],
    ]);
  });

  it('refuses bad input with 400 and unknown ids with 404', async () => {
    const store = await storeWithRoom();
    const s = dashboardSchedules(store, () => NOW);
    const status = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as HttpError).status;
    expect(await status(s.add({ bot: 'demo-bot', channelId: ROOM, text: 'x', kind: 'daily', at: '25:00' }))).toBe(400);
    expect(await status(s.add({ bot: 'demo-bot', channelId: ROOM, text: 'x', kind: 'weekly', at: '09:00' }))).toBe(400);
    expect(await status(s.add({ bot: 'demo-bot', channelId: '999', text: 'x', kind: 'daily', at: '09:00' }))).toBe(400);
    expect(await status(s.pause('abc'))).toBe(400);
    expect(await status(s.remove('4242'))).toBe(404);
    expect(await store.schedules.listSchedules()).toEqual([]);
  });
});
