import { InvalidArgumentError } from 'commander';
import { kstText } from './actors/schedule-rules.js';
import { scheduleFromOptions } from './cli-schedules.js';
import type { DashboardSchedules } from './infra/admin/dash-routes.js';
import { HttpError } from './infra/admin/routes.js';
import type { ScheduleStore } from './infra/store/schedule-types.js';
import type { Store } from './infra/store/types.js';

/**
 * The dashboard's Schedules page on kb_schedule (PROTOCOL §7.12, §8.6): the same rows the
 * `schedules` CLI and the back office write, built by the CLI's own `scheduleFromOptions`.
 */

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

export function dashboardSchedules(store: Store & { schedules: ScheduleStore }, now: () => number): DashboardSchedules {
  const schedules = store.schedules;
  const idOf = (text: string): number => {
    const id = Number(text);
    if (!Number.isInteger(id) || id <= 0) throw new HttpError(400, `schedule id: a positive integer, got "${text}"`);
    return id;
  };
  const found = (ok: boolean, id: number) => {
    if (!ok) throw new HttpError(404, `no schedule ${id}`);
    return { id, ok };
  };
  return {
    async list() {
      const [rows, last] = await Promise.all([schedules.listSchedules(), schedules.lastOutcomes()]);
      return rows.map((r) => ({
        id: r.id,
        botName: r.targetBotName,
        deviceId: r.targetDeviceId,
        channelId: r.targetRoomId,
        title: r.title,
        kind: r.scheduleType,
        spec: r.scheduleType === 'weekly' ? `${r.scheduleWeekdays ?? ''} ${r.scheduleTime}` : r.scheduleTime,
        text: r.messageText,
        status: r.status,
        paused: r.status === 'inactive',
        nextRunAt: r.status === 'active' ? r.nextSendAt : null,
        lastStatus: last.get(r.id)?.status ?? null,
        lastAt: last.get(r.id)?.at ?? null,
        lastError: last.get(r.id)?.error ?? null,
      }));
    },
    async add(input) {
      // device omitted: the room's approved phone (kb_rooms), as a send without device does
      let device = input.device;
      if (device === undefined) {
        const rooms = await store.listRooms({ botName: input.bot });
        const row =
          rooms.find((r) => r.roomId === input.channelId && r.status === 'approved' && r.deviceId !== '*') ??
          rooms.find((r) => r.roomId === input.channelId && r.deviceId !== '*');
        if (row === undefined)
          throw new HttpError(400, `no phone of ${input.bot} knows room ${input.channelId}; name the device`);
        device = row.deviceId;
      }
      const timing =
        input.kind === 'once'
          ? { once: input.at }
          : input.kind === 'daily'
            ? { daily: input.at }
            : { weekly: [WEEKDAYS[input.weekday ?? -1] ?? 'invalid', input.at] };
      let schedule: ReturnType<typeof scheduleFromOptions>;
      try {
        schedule = scheduleFromOptions(input.bot, input.channelId, { device, text: input.text, ...timing }, now());
      } catch (error) {
        if (error instanceof InvalidArgumentError) throw new HttpError(400, error.message);
        throw error;
      }
      const id = await schedules.addSchedule(schedule);
      return { id, nextRunAt: schedule.nextSendAt };
    },
    async pause(text) {
      const id = idOf(text);
      return found(await schedules.setScheduleStatus(id, 'inactive', kstText(now())), id);
    },
    async resume(text) {
      const id = idOf(text);
      return found(await schedules.setScheduleStatus(id, 'active', kstText(now())), id);
    },
    async remove(text) {
      const id = idOf(text);
      return found(await schedules.deleteSchedule(id), id);
    },
  };
}
