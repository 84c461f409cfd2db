import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { firstDaily, firstWeekly, kstText, parseKst, parseTimeOfDay, parseWeekdays } from './actors/schedule-rules.js';
import type { NewSchedule, ScheduleStore } from './infra/store/schedule-types.js';

/**
 * `msgbot-gateway schedules list | add | pause | resume | delete` (PROTOCOL §7.12, §8.6): rows in
 * kb_schedule as the back office writes them, so the gateway's scheduler (or the reference
 * server) delivers them. Times are naive KST (§8.0) computed here, never the database's NOW().
 */

type WithSchedules = <T>(fn: (schedules: ScheduleStore) => Promise<T>) => Promise<T>;

const FAR_FUTURE = '2099-12-31 23:59:59';

const addOptions = z
  .object({
    device: z.string().min(1).max(100),
    text: z.string().min(1).optional(),
    image: z.array(z.string().min(1)).default([]),
    mediaWait: z.number().int().nonnegative().default(0),
    title: z.string().min(1).max(255).optional(),
    once: z.string().optional(),
    daily: z.string().optional(),
    weekly: z.array(z.string()).optional(),
    until: z.string().optional(),
  })
  .refine((o) => [o.once, o.daily, o.weekly].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of --once <datetime>, --daily <HH:MM>, --weekly <days> <HH:MM>',
  })
  .refine((o) => o.text !== undefined || o.image.length > 0, { message: 'give --text and/or --image' });

function kstArg(text: string, what: string): string {
  const withSeconds = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}$/.test(text) ? `${text}:00` : text;
  const ms = parseKst(withSeconds);
  if (ms === undefined) throw new InvalidArgumentError(`${what}: want "YYYY-MM-DD HH:MM" (KST), got "${text}"`);
  return kstText(ms);
}

function timeArg(text: string): string {
  const tod = parseTimeOfDay(text);
  if (tod === undefined) throw new InvalidArgumentError(`want a time of day HH:MM, got "${text}"`);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(tod / 3600))}:${p(Math.floor(tod / 60) % 60)}:${p(tod % 60)}`;
}

/** The row an `add` invocation describes; `nowMs` is the current time. */
export function scheduleFromOptions(
  bot: string,
  channelId: string,
  raw: Record<string, unknown>,
  nowMs: number,
  readImage: (file: string) => Buffer = (f) => readFileSync(f),
): NewSchedule {
  if (!/^\d+$/.test(channelId)) throw new InvalidArgumentError('channelId is a decimal digit string');
  const parsed = addOptions.safeParse(raw);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues.map((i) => i.message).join('; '));
  const o = parsed.data;
  const now = kstText(nowMs);
  let type: NewSchedule['scheduleType'];
  let time: string;
  let next: string | undefined;
  let date: string | null = null;
  let weekdays: string | null = null;
  if (o.once !== undefined) {
    type = 'once';
    next = kstArg(o.once, '--once');
    date = next.slice(0, 10);
    time = next.slice(11);
  } else if (o.daily !== undefined) {
    type = 'daily';
    time = timeArg(o.daily);
    next = firstDaily(nowMs, time);
  } else {
    type = 'weekly';
    const [days, at, ...rest] = o.weekly ?? [];
    if (days === undefined || at === undefined || rest.length > 0) {
      throw new InvalidArgumentError('--weekly takes two values: <days> <HH:MM>, e.g. --weekly monday,friday 09:00');
    }
    const names = parseWeekdays(days);
    if (names.length === 0 || names.length !== days.split(',').length) {
      throw new InvalidArgumentError(`--weekly days: comma list of monday…sunday, got "${days}"`);
    }
    weekdays = names.join(',');
    time = timeArg(at);
    next = firstWeekly(nowMs, time, weekdays);
  }
  if (next === undefined) throw new InvalidArgumentError('no due time could be computed');
  const images = o.image.map((file) => {
    try {
      return { base64: readImage(file).toString('base64'), name: basename(file) };
    } catch (error) {
      throw new InvalidArgumentError(`--image ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  const validUntil = o.until === undefined ? FAR_FUTURE : kstArg(o.until, '--until');
  return {
    title: o.title ?? (o.text ?? `${images.length} image(s)`).slice(0, 50),
    botName: bot,
    deviceId: o.device,
    roomId: channelId,
    messageText: o.text ?? null,
    images1: images.length > 0 ? images : null,
    imageStorageMode: 'base64',
    mediaWaitTime1: o.mediaWait,
    scheduleType: type,
    scheduleDate: date,
    scheduleTime: time,
    scheduleWeekdays: weekdays,
    validFrom: now < next ? now : next,
    validUntil,
    nextSendAt: next,
    now,
  };
}

function integerArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('not a non-negative integer');
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerScheduleCommands(program: Command, withSchedules: WithSchedules): void {
  const schedules = program.command('schedules').description('scheduled messages (kb_schedule, PROTOCOL §7.12)');
  schedules
    .command('list')
    .option('--bot <bot>', 'only this bot')
    .option('--status <status>', 'only this status (active, inactive, completed, error)')
    .option('--json', 'JSON output')
    .action(async (o: { bot?: string; status?: string; json?: boolean }) => {
      await withSchedules(async (store) => {
        const rows = await store.listSchedules({ botName: o.bot, status: o.status });
        if (o.json) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) process.stdout.write('no schedules\n');
        for (const r of rows) {
          const when = r.scheduleType === 'weekly' ? `weekly ${r.scheduleWeekdays ?? ''}` : r.scheduleType;
          process.stdout.write(
            `${r.id}\t${r.status}\t${when} ${r.scheduleTime}\tnext ${r.nextSendAt ?? '-'}\t${r.targetBotName}\t${r.targetDeviceId ?? ''}\t${r.targetRoomId}\tsent ${r.sendCount}\t${r.title}\n`,
          );
        }
      });
    });
  schedules
    .command('add <bot> <channelId>')
    .description('add a schedule: --device, --text and/or --image, and one of --once, --daily, --weekly')
    .requiredOption('--device <device>', 'the phone (device id) that posts it')
    .option('--text <text>', 'message text')
    .option('--image <file>', 'an image file, sent as base64 (repeatable: one image group)', collect)
    .option('--media-wait <ms>', 'media_wait_time of the image group', integerArg)
    .option('--title <title>', 'title shown in the back office')
    .option('--once <datetime>', 'once, at "YYYY-MM-DD HH:MM" KST')
    .option('--daily <HH:MM>', 'every day at HH:MM KST')
    .option('--weekly <days_and_time...>', 'on these days at HH:MM KST: --weekly monday,friday 09:00')
    .option('--until <datetime>', 'valid until "YYYY-MM-DD HH:MM" KST (default: no end)')
    .action(async (bot: string, channelId: string, o: Record<string, unknown>) => {
      const schedule = scheduleFromOptions(bot, channelId, o, Date.now());
      await withSchedules(async (store) => {
        const id = await store.addSchedule(schedule);
        process.stdout.write(`schedule ${id} added: ${schedule.scheduleType}, next ${schedule.nextSendAt} KST\n`);
      });
    });
  const verbs = [
    ['pause', 'inactive'],
    ['resume', 'active'],
  ] as const;
  for (const [verb, status] of verbs) {
    schedules
      .command(`${verb} <id>`)
      .description(`set a schedule ${status}`)
      .action(async (id: string) => {
        await withSchedules(async (store) => {
          const ok = await store.setScheduleStatus(integerArg(id), status, kstText(Date.now()));
          process.stdout.write(ok ? `schedule ${id}: ${status}\n` : `no schedule ${id}\n`);
          if (!ok) process.exitCode = 1;
        });
      });
  }
  schedules
    .command('delete <id>')
    .description('delete a schedule and its delivery log')
    .action(async (id: string) => {
      await withSchedules(async (store) => {
        const ok = await store.deleteSchedule(integerArg(id));
        process.stdout.write(ok ? `schedule ${id} deleted\n` : `no schedule ${id}\n`);
        if (!ok) process.exitCode = 1;
      });
    });
}
