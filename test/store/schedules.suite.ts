import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScheduleLogEntry } from '../../src/actors/scheduler-ports.js';
import type { NewSchedule } from '../../src/infra/store/schedule-types.js';
import type { OpenHarness, StoreHarness } from './store.suite.js';

/** One schedule as the CLI adds it; times are naive KST text (PROTOCOL §8.0). */
export function newSchedule(over: Partial<NewSchedule> = {}): NewSchedule {
  return {
    title: '아침 공지',
    botName: 'demo-bot',
    deviceId: 'dev-1',
    roomId: '18469710452305870',
    messageText: '좋은 아침입니다 ☀️',
    images1: null,
    imageStorageMode: 'base64',
    mediaWaitTime1: 0,
    scheduleType: 'once',
    scheduleDate: '2026-01-15',
    scheduleTime: '12:00:00',
    scheduleWeekdays: null,
    validFrom: '2026-01-01 00:00:00',
    validUntil: '2026-12-31 23:59:59',
    nextSendAt: '2026-01-15 12:00:00',
    now: '2026-01-15 11:00:00',
    ...over,
  };
}

function logEntry(scheduleId: number, over: Partial<ScheduleLogEntry> = {}): ScheduleLogEntry {
  return {
    scheduleId,
    targetRoomId: '18469710452305870',
    targetDeviceId: 'dev-1',
    sentMessageText: 'hi',
    sentImages1: { count: 2, status: 'delivered' },
    sentImages2: null,
    sendComponents: 'text,images_1',
    status: 'success',
    errorMessage: null,
    apiResponse: { components: [{ component: 'text', status: 'delivered' }] },
    scheduledAt: '2026-01-15 12:00:00',
    startedAt: '2026-01-15 12:00:01',
    completedAt: '2026-01-15 12:00:03',
    durationMs: 2000,
    ...over,
  };
}

const NOW = '2026-01-15 12:00:30';

/** PROTOCOL §7.12–§7.13, §8.6–§8.9 on both dialects. */
export function describeScheduleStore(name: string, open: OpenHarness): void {
  describe(`${name}: schedules and processes`, () => {
    let h: StoreHarness;
    beforeEach(async () => {
      h = await open({ now: () => Date.UTC(2026, 0, 15, 3, 0, 30) });
      for (const t of ['kb_schedule_logs', 'kb_schedule', 'kb_server_processes', 'kb_servers'])
        await h.query(`DELETE FROM ${t}`);
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('lists due rows of live bots only, within validity, in next_send_at order, at most `limit`', async () => {
      const s = h.store.schedules;
      const late = await s.addSchedule(newSchedule({ nextSendAt: '2026-01-15 12:00:00' }));
      const early = await s.addSchedule(newSchedule({ nextSendAt: '2026-01-15 11:59:00' }));
      await s.addSchedule(newSchedule({ nextSendAt: '2026-01-15 12:01:00' })); // not yet
      await s.addSchedule(newSchedule({ botName: 'other-bot' })); // bot not live
      await s.addSchedule(newSchedule({ validUntil: '2026-01-15 12:00:10' })); // expired
      await s.addSchedule(newSchedule({ validFrom: '2026-01-16 00:00:00' })); // not yet valid
      const paused = await s.addSchedule(newSchedule());
      await s.setScheduleStatus(paused, 'inactive', NOW);
      const due = await s.dueSchedules({ now: NOW, bots: ['demo-bot'], limit: 10 });
      expect(due.map((r) => r.id)).toEqual([early, late]);
      expect(await s.dueSchedules({ now: NOW, bots: ['demo-bot'], limit: 1 })).toHaveLength(1);
      expect(await s.dueSchedules({ now: NOW, bots: [], limit: 10 })).toEqual([]);
      const [row] = due;
      expect(row).toMatchObject({
        title: '아침 공지',
        targetBotName: 'demo-bot',
        targetDeviceId: 'dev-1',
        targetRoomId: '18469710452305870',
        messageText: '좋은 아침입니다 ☀️',
        imageStorageMode: 'base64',
        scheduleType: 'once',
        scheduleTime: '12:00:00',
        status: 'active',
        nextSendAt: '2026-01-15 11:59:00',
        lastSentAt: null,
        sendCount: 0,
      });
    });

    it('lists claimed rows (runs not advanced) with whether they were logged; a take-over wins once', async () => {
      const s = h.store.schedules;
      const running = await s.addSchedule(newSchedule({ nextSendAt: '2026-01-15 12:00:00' }));
      const logged = await s.addSchedule(newSchedule({ nextSendAt: '2026-01-15 11:59:00' }));
      await s.addSchedule(newSchedule()); // due, not claimed
      const done = await s.addSchedule(newSchedule());
      for (const id of [running, logged, done]) {
        const row = (await s.listSchedules()).find((r) => r.id === id)!;
        expect(await s.claimSchedule(id, row.nextSendAt!, '2026-01-15 12:00:05')).toBe(true);
      }
      await s.insertScheduleLog(logEntry(logged, { scheduledAt: '2026-01-15 11:59:00' }));
      await s.insertScheduleLog(logEntry(done));
      await s.advanceSchedule(done, { status: 'completed' }, NOW);
      const claimed = await s.claimedSchedules(10);
      expect(claimed.map((r) => [r.id, r.logged, r.lastSentAt])).toEqual([
        [logged, true, '2026-01-15 12:00:05'],
        [running, false, '2026-01-15 12:00:05'],
      ]);
      expect(await s.claimedSchedules(1)).toHaveLength(1);
      // compare and set: the first take-over wins, a second with the old claim loses
      expect(await s.reclaimSchedule(running, '2026-01-15 12:00:00', '2026-01-15 12:00:05', NOW)).toBe(true);
      expect(await s.reclaimSchedule(running, '2026-01-15 12:00:00', '2026-01-15 12:00:05', NOW)).toBe(false);
      expect(await s.reclaimSchedule(logged, '2026-01-15 12:00:00', '2026-01-15 12:00:05', NOW)).toBe(false);
      expect((await s.claimedSchedules(10)).find((r) => r.id === running)?.lastSentAt).toBe(NOW);
      // still claimed: never due again until it is advanced
      expect((await s.dueSchedules({ now: NOW, bots: ['demo-bot'], limit: 10 })).map((r) => r.id)).not.toContain(
        running,
      );
    });

    it('reads image JSON as the back office writes it', async () => {
      const s = h.store.schedules;
      const id = await s.addSchedule(
        newSchedule({ images1: [{ base64: 'iVBORw0KGgo=', name: 'a.png' }], imageStorageMode: 'base64' }),
      );
      await h.query('UPDATE kb_schedule SET message_images_2 = ? WHERE id = ?', [
        '[{"path":"x/b.png","name":"b.png"}]',
        id,
      ]);
      const [row] = await s.dueSchedules({ now: NOW, bots: ['demo-bot'], limit: 10 });
      expect(row?.messageImages1).toEqual([{ base64: 'iVBORw0KGgo=', name: 'a.png' }]);
      expect(row?.messageImages2).toEqual([{ path: 'x/b.png', name: 'b.png' }]);
    });

    it('claims a row once: the second claim (another server) loses, and a claimed row is no longer due', async () => {
      const s = h.store.schedules;
      const id = await s.addSchedule(newSchedule());
      expect(await s.claimSchedule(id, '2026-01-15 12:00:00', NOW)).toBe(true);
      expect(await s.claimSchedule(id, '2026-01-15 12:00:00', NOW)).toBe(false);
      expect(await s.dueSchedules({ now: NOW, bots: ['demo-bot'], limit: 10 })).toEqual([]);
      const [raw] = await h.query('SELECT last_sent_at FROM kb_schedule WHERE id = ?', [id]);
      expect(String(raw?.last_sent_at)).toBe(NOW);
      // a claim for a due time that is not the row's (stale candidate) also loses
      const other = await s.addSchedule(newSchedule());
      expect(await s.claimSchedule(other, '2026-01-14 12:00:00', NOW)).toBe(false);
    });

    it('catch-up: due within the window and without a success/partial log for that due time', async () => {
      const s = h.store.schedules;
      const inWindow = await s.addSchedule(newSchedule({ nextSendAt: '2026-01-15 11:58:00' }));
      await s.addSchedule(newSchedule({ nextSendAt: '2026-01-15 11:50:00' })); // before the window
      const logged = await s.addSchedule(newSchedule({ nextSendAt: '2026-01-15 11:59:00' }));
      await s.insertScheduleLog(logEntry(logged, { scheduledAt: '2026-01-15 11:59:00', status: 'partial' }));
      const failedBefore = await s.addSchedule(newSchedule({ nextSendAt: '2026-01-15 11:59:30' }));
      await s.insertScheduleLog(logEntry(failedBefore, { scheduledAt: '2026-01-15 11:59:30', status: 'failed' }));
      const due = await s.dueSchedules({ now: NOW, bots: ['demo-bot'], limit: 10, since: '2026-01-15 11:55:30' });
      expect(due.map((r) => r.id)).toEqual([inWindow, failedBefore]);
    });

    it('writes a log row with JSON values in the JSON columns', async () => {
      const s = h.store.schedules;
      const id = await s.addSchedule(newSchedule());
      await s.insertScheduleLog(logEntry(id, { status: 'partial', errorMessage: 'images_2: bad-media' }));
      const [raw] = await h.query('SELECT * FROM kb_schedule_logs WHERE schedule_id = ?', [id]);
      const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
      expect(parse(raw?.sent_images_1)).toEqual({ count: 2, status: 'delivered' });
      expect(raw?.sent_images_2).toBeNull();
      expect(parse(raw?.api_response)).toEqual({ components: [{ component: 'text', status: 'delivered' }] });
      expect(raw).toMatchObject({
        target_room_id: '18469710452305870',
        target_device_id: 'dev-1',
        send_components: 'text,images_1',
        status: 'partial',
        error_message: 'images_2: bad-media',
        scheduled_at: '2026-01-15 12:00:00',
        started_at: '2026-01-15 12:00:01',
        completed_at: '2026-01-15 12:00:03',
      });
      expect(Number(raw?.duration_ms)).toBe(2000);
    });

    it('advances: once → completed, daily/weekly → next_send_at; every run counts', async () => {
      const s = h.store.schedules;
      const once = await s.addSchedule(newSchedule());
      const daily = await s.addSchedule(newSchedule({ scheduleType: 'daily' }));
      await s.advanceSchedule(once, { status: 'completed' }, NOW);
      await s.advanceSchedule(daily, { nextSendAt: '2026-01-16 12:00:00' }, NOW);
      const rows = await s.listSchedules();
      expect(rows.map((r) => [r.id, r.status, r.nextSendAt, r.sendCount])).toEqual([
        [once, 'completed', '2026-01-15 12:00:00', 1],
        [daily, 'active', '2026-01-16 12:00:00', 1],
      ]);
    });

    it('lists, pauses, resumes and deletes (with its log rows)', async () => {
      const s = h.store.schedules;
      const a = await s.addSchedule(newSchedule({ scheduleType: 'weekly', scheduleWeekdays: 'monday,friday' }));
      const b = await s.addSchedule(newSchedule({ botName: 'b2' }));
      expect((await s.listSchedules({ botName: 'b2' })).map((r) => r.id)).toEqual([b]);
      expect((await s.listSchedules()).find((r) => r.id === a)?.scheduleWeekdays).toBe('monday,friday');
      expect(await s.setScheduleStatus(a, 'inactive', NOW)).toBe(true);
      expect((await s.listSchedules({ status: 'inactive' })).map((r) => r.id)).toEqual([a]);
      expect(await s.setScheduleStatus(a, 'active', NOW)).toBe(true);
      expect(await s.setScheduleStatus(9999, 'active', NOW)).toBe(false);
      await s.insertScheduleLog(logEntry(a));
      expect(await s.deleteSchedule(a)).toBe(true);
      expect(await s.deleteSchedule(a)).toBe(false);
      expect(await h.query('SELECT id FROM kb_schedule_logs')).toEqual([]);
      expect((await s.listSchedules()).map((r) => r.id)).toEqual([b]);
    });

    it('tells the newest log row of every schedule (last outcome)', async () => {
      const s = h.store.schedules;
      const a = await s.addSchedule(newSchedule());
      const b = await s.addSchedule(newSchedule({ botName: 'b2' }));
      await s.addSchedule(newSchedule({ botName: 'b3' }));
      await s.insertScheduleLog(logEntry(a, { status: 'failed', errorMessage: 'text: expired' }));
      await s.insertScheduleLog(logEntry(a, { status: 'success', completedAt: '2026-01-16 12:00:03' }));
      await s.insertScheduleLog(logEntry(b, { status: 'partial', errorMessage: 'images_2: bad-media' }));
      const last = await s.lastOutcomes();
      expect([...last.entries()].sort(([x], [y]) => x - y)).toEqual([
        [a, { status: 'success', at: '2026-01-16 12:00:03', error: null }],
        [b, { status: 'partial', at: '2026-01-15 12:00:03', error: 'images_2: bad-media' }],
      ]);
    });

    it('process rows: created with their server, status lifecycle and heartbeat (PROTOCOL §7.13)', async () => {
      const p = h.store.processes;
      expect(await p.getProcess('gw-01')).toBeUndefined();
      const row = await p.ensureProcess('gw-01', 'host-a', 1485, NOW);
      expect(row).toMatchObject({ processName: 'gw-01', port: 1485, status: 'stopped', pid: null });
      expect((await p.ensureProcess('gw-01', 'host-a', 1485, NOW)).serverId).toBe(row.serverId);
      await p.setProcessStatus('gw-01', 'starting', 4242, NOW);
      await p.setProcessStatus('gw-01', 'running', 4242, NOW);
      await p.processHeartbeat('gw-01', 12.345, 87.6, '2026-01-15 12:00:33');
      expect(await p.getProcess('gw-01')).toMatchObject({
        status: 'running',
        pid: 4242,
        cpuUsage: 12.35,
        memoryUsage: 87.6,
        lastHeartbeat: '2026-01-15 12:00:33',
      });
      await p.setProcessStatus('gw-01', 'stopped', null, NOW);
      expect(await p.getProcess('gw-01')).toMatchObject({ status: 'stopped', pid: null, cpuUsage: 0, memoryUsage: 0 });
      // another name on the same host and port cannot be created (UNIQUE(server_id, port))
      await expect(p.ensureProcess('gw-02', 'host-a', 1485, NOW)).rejects.toThrow(/could not create gw-02/);
      const servers = await h.query('SELECT server_name FROM kb_servers');
      expect(servers.map((r) => r.server_name)).toEqual(['host-a']);
    });
  });
}
