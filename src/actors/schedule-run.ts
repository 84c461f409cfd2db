import { type ComponentName, type ComponentResult, logAndAdvance, wantedComponents } from './schedule-outcome.js';
import { type ResumePlan, recoverClaims } from './schedule-recovery.js';
import { botStaggerMs, catchUpSince, kstText } from './schedule-rules.js';
import type {
  RunSendRecord,
  ScheduleRow,
  ScheduleRunOutcome,
  SchedulerPorts,
  SchedulerSettings,
} from './scheduler-ports.js';
import type { SendMedia, SendOutcome } from './send.js';

/**
 * One scheduler pass (PROTOCOL §7.12): due rows, grouped per bot, bots staggered, one bot's rows
 * in sequence; each row claimed, checked ([REC] device and room approval), sent component by
 * component through the SendPort, logged with its real outcome and advanced.
 *
 * A pass returns once it has started its bots' runs: a phone that is away holds its sends on the
 * outbound path (up to outbound.holdMs), and that must not hold up the next minute's poll for the
 * other bots. A bot with a run still going is left out of the next polls until it is done (its
 * rows stay due), so one bot's schedules still go one after another.
 */

export type PassMode = 'catchup' | 'poll';

export interface PassSummary {
  mode: PassMode;
  candidates: number;
  /** bots whose runs this pass started */
  bots: number;
}

/** What outlives one pass: bots with a run going, and the signal that stops them all. */
export interface RunState {
  busy: Set<string>;
  signal: AbortSignal;
  /** the runs still going (tests and shutdown can wait for them) */
  running: Set<Promise<void>>;
}

/** Sleep on the injected clock; rejects when the pass is stopped. */
function sleep(ports: SchedulerPorts, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error('shutdown'));
      return;
    }
    if (ms <= 0) {
      resolve();
      return;
    }
    const onAbort = () => {
      ports.clock.clearTimeout(id);
      reject(new Error('shutdown'));
    };
    const id = ports.clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function runPass(
  ports: SchedulerPorts,
  settings: SchedulerSettings,
  mode: PassMode,
  state: RunState,
): Promise<PassSummary> {
  const { signal, busy } = state;
  const summary: PassSummary = { mode, candidates: 0, bots: 0 };
  if (signal.aborted) return summary;
  const live = new Set(ports.liveBots());
  // runs a crash cut short, at every pass: a claim too young to take over now may be stale later
  let resumes: ResumePlan[] = [];
  try {
    resumes = await recoverClaims(ports, settings, busy, live);
  } catch (error) {
    ports.onError(error);
  }
  const bots = [...live].filter((b) => !busy.has(b));
  if (bots.length === 0 || signal.aborted) return summary;
  const nowMs = ports.clock.now();
  const rows = await ports.store.dueSchedules({
    now: kstText(nowMs),
    bots,
    limit: settings.maxPerPoll,
    ...(mode === 'catchup' ? { since: catchUpSince(nowMs, settings.catchUpWindowS) } : {}),
  });
  summary.candidates = rows.length;
  const groups = new Map<string, { row: ScheduleRow; resume?: ResumePlan }[]>();
  const jobs = [...resumes.map((resume) => ({ row: resume.row, resume })), ...rows.map((row) => ({ row }))];
  for (const job of jobs) {
    const group = groups.get(job.row.targetBotName);
    if (group) group.push(job);
    else groups.set(job.row.targetBotName, [job]);
  }
  const stagger = botStaggerMs(nowMs, groups.size, settings.staggerMinS, settings.staggerMaxS);
  summary.bots = groups.size;
  [...groups].forEach(([bot, group], i) => {
    busy.add(bot);
    const run = (async () => {
      try {
        await sleep(ports, i * stagger, signal);
        for (const [j, job] of group.entries()) {
          if (j > 0) await sleep(ports, settings.perBotGapMs, signal);
          await runSchedule(ports, job.row, signal, job.resume);
        }
      } catch (error) {
        if (!signal.aborted) ports.onError(error);
      }
    })();
    state.running.add(run);
    void run.finally(() => {
      busy.delete(bot);
      state.running.delete(run);
    });
  });
  return summary;
}

/**
 * One row: claim, check, send, log, advance. Returns the outcome that was logged (or skipped).
 * `resume` is a run a crash cut short, already taken over (schedule-recovery.ts): no claim, its
 * settled components keep their outcomes, the ones still queued are sent under their old ids.
 */
export async function runSchedule(
  ports: SchedulerPorts,
  row: ScheduleRow,
  signal?: AbortSignal,
  resume?: ResumePlan,
): Promise<ScheduleRunOutcome> {
  const scheduledAt = row.nextSendAt;
  if (scheduledAt === null) return 'skipped';
  let startedMs = ports.clock.now();
  if (resume !== undefined) startedMs = resume.startedMs;
  else if (!(await ports.store.claimSchedule(row.id, scheduledAt, kstText(startedMs)))) {
    ports.onRun(row.id, 'skipped', 'claimed by another server');
    return 'skipped';
  }
  const results = await deliver(ports, row, scheduledAt, signal, resume?.prior);
  if (ports.recovery !== undefined && signal?.aborted === true && results.some((r) => r.reason === 'shutdown')) {
    // a graceful stop: left claimed; the next start finishes the run from the send record
    ports.onRun(row.id, 'skipped', 'stopped during the run; the next start finishes it');
    return 'skipped';
  }
  return logAndAdvance(ports, row, {
    scheduledAt,
    startedMs,
    results,
    ...(resume === undefined ? {} : { extra: { resumed: true } }),
  });
}

/** What a run settled before it was cut short, by component (from the send record). */
export type PriorSends = ReadonlyMap<ComponentName, RunSendRecord>;

function priorResult(record: RunSendRecord | undefined): ComponentResult | undefined {
  if (record === undefined || record.status === 'queued') return undefined;
  return record.status === 'delivered'
    ? { component: record.component, status: 'delivered' }
    : {
        component: record.component,
        status: 'failed',
        reason: record.reason ?? 'error',
        ...(record.detail === undefined ? {} : { detail: record.detail }),
      };
}

async function deliver(
  ports: SchedulerPorts,
  row: ScheduleRow,
  scheduledAt: string,
  signal?: AbortSignal,
  prior?: PriorSends,
): Promise<ComponentResult[]> {
  const wanted = wantedComponents(row);
  const settled = (component: ComponentName) => priorResult(prior?.get(component));
  const failAll = (reason: string, detail?: string): ComponentResult[] =>
    wanted.map(
      (component) => settled(component) ?? { component, status: 'failed', reason, ...(detail ? { detail } : {}) },
    );
  if (wanted.length === 0) return [];

  // PROTOCOL §7.12 [REC]: the target device is required, and device and room must be approved
  const deviceId = row.targetDeviceId ?? '';
  if (deviceId === '') return failAll('no-connection', 'target_device_id is empty');
  const deviceStatus = await ports.directory.deviceStatus(row.targetBotName, deviceId);
  if (deviceStatus !== 'approved') return failAll('not-approved', `device ${deviceStatus ?? 'unknown'}`);
  const room = await ports.directory.room(row.targetBotName, row.targetRoomId, deviceId);
  if (room === undefined || room.status !== 'approved')
    return failAll('not-approved', `room ${room?.status ?? 'unknown'}`);
  // PROTOCOL §4.4: text is posted by the room's title, media go by channel id — an untitled room
  // (pre-registered by `rooms approve --create`) still gets its images
  const titled = room.title.trim() !== '';

  const traceId = ports.newId();
  const send = async (component: ComponentName, body: { text: string } | { media: SendMedia }, count?: number) => {
    let outcome: SendOutcome;
    try {
      outcome = await ports.send.send({
        // a component still queued when the run was cut short keeps its id (one record row)
        id: prior?.get(component)?.id ?? ports.newId(),
        kind: 'scheduled',
        botName: row.targetBotName,
        deviceId,
        channelId: row.targetRoomId,
        ...(titled ? { roomTitle: room.title } : {}),
        traceId,
        scheduleId: row.id,
        scheduledAt,
        component,
        ...body,
      });
    } catch (error) {
      return { component, status: 'failed', reason: 'error', detail: String(error) } satisfies ComponentResult;
    }
    return outcome.status === 'delivered'
      ? ({ component, status: 'delivered', ...(count === undefined ? {} : { count }) } satisfies ComponentResult)
      : ({
          component,
          status: 'failed',
          reason: outcome.reason,
          ...(outcome.detail ? { detail: outcome.detail } : {}),
          ...(count === undefined ? {} : { count }),
        } satisfies ComponentResult);
  };
  const sendImages = async (component: ComponentName, value: unknown, waitMs: number): Promise<ComponentResult> => {
    let images: string[];
    try {
      images = await ports.loadImages(value, row.imageStorageMode);
    } catch (error) {
      return {
        component,
        status: 'failed',
        reason: 'bad-media',
        detail: error instanceof Error ? error.message : String(error),
      };
    }
    if (images.length === 0) return { component, status: 'failed', reason: 'bad-media', detail: 'no images' };
    return send(component, { media: { imagesBase64: images, ...(waitMs > 0 ? { waitMs } : {}) } }, images.length);
  };

  const results: ComponentResult[] = [];
  // text and image group 1 back-to-back; send_interval_seconds only between the image groups
  const text = settled('text');
  if (text !== undefined) results.push(text);
  else if (wanted.includes('text')) {
    results.push(
      titled
        ? await send('text', { text: row.messageText ?? '' })
        : { component: 'text', status: 'failed', reason: 'no-room-title' },
    );
  }
  const images1 = settled('images_1');
  if (images1 !== undefined) results.push(images1);
  else if (wanted.includes('images_1')) {
    results.push(await sendImages('images_1', row.messageImages1, row.mediaWaitTime1));
  }
  const images2 = settled('images_2');
  if (images2 !== undefined) results.push(images2);
  else if (wanted.includes('images_2')) {
    try {
      // the interval follows an image group sent in this run
      if (wanted.includes('images_1') && images1 === undefined) {
        await sleep(ports, row.sendIntervalSeconds * 1000, signal);
      }
      results.push(await sendImages('images_2', row.messageImages2, row.mediaWaitTime2));
    } catch {
      results.push({ component: 'images_2', status: 'failed', reason: 'shutdown' });
    }
  }
  return results;
}
