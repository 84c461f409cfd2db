import { advanceAfterRun, botStaggerMs, catchUpSince, kstText } from './schedule-rules.js';
import type {
  ScheduleLogStatus,
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

type ComponentName = 'text' | 'images_1' | 'images_2';

interface ComponentResult {
  component: ComponentName;
  status: 'delivered' | 'failed';
  reason?: string;
  detail?: string;
  count?: number;
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
  const bots = [...new Set(ports.liveBots())].filter((b) => !busy.has(b));
  if (bots.length === 0 || signal.aborted) return summary;
  const nowMs = ports.clock.now();
  const rows = await ports.store.dueSchedules({
    now: kstText(nowMs),
    bots,
    limit: settings.maxPerPoll,
    ...(mode === 'catchup' ? { since: catchUpSince(nowMs, settings.catchUpWindowS) } : {}),
  });
  summary.candidates = rows.length;
  const groups = new Map<string, ScheduleRow[]>();
  for (const row of rows) {
    const group = groups.get(row.targetBotName);
    if (group) group.push(row);
    else groups.set(row.targetBotName, [row]);
  }
  const stagger = botStaggerMs(nowMs, groups.size, settings.staggerMinS, settings.staggerMaxS);
  summary.bots = groups.size;
  [...groups].forEach(([bot, group], i) => {
    busy.add(bot);
    const run = (async () => {
      try {
        await sleep(ports, i * stagger, signal);
        for (const [j, row] of group.entries()) {
          if (j > 0) await sleep(ports, settings.perBotGapMs, signal);
          await runSchedule(ports, row, signal);
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

/** One row: claim, check, send, log, advance. Returns the outcome that was logged (or skipped). */
export async function runSchedule(
  ports: SchedulerPorts,
  row: ScheduleRow,
  signal?: AbortSignal,
): Promise<ScheduleRunOutcome> {
  const scheduledAt = row.nextSendAt;
  if (scheduledAt === null) return 'skipped';
  const startedMs = ports.clock.now();
  if (!(await ports.store.claimSchedule(row.id, scheduledAt, kstText(startedMs)))) {
    ports.onRun(row.id, 'skipped', 'claimed by another server');
    return 'skipped';
  }
  const results = await deliver(ports, row, signal);
  const delivered = results.filter((r) => r.status === 'delivered').length;
  const status: ScheduleLogStatus =
    results.length > 0 && delivered === results.length ? 'success' : delivered > 0 ? 'partial' : 'failed';
  const failures = results
    .filter((r) => r.status === 'failed')
    .map((r) => `${r.component}: ${r.reason}${r.detail ? ` (${r.detail})` : ''}`);
  const errorMessage = results.length === 0 ? 'nothing to send' : failures.length > 0 ? failures.join('; ') : null;
  const endMs = ports.clock.now();
  const images = (name: ComponentName) => {
    const r = results.find((x) => x.component === name);
    return r === undefined ? null : { count: r.count ?? 0, status: r.status };
  };
  await ports.store.insertScheduleLog({
    scheduleId: row.id,
    targetRoomId: row.targetRoomId,
    targetDeviceId: row.targetDeviceId,
    sentMessageText: row.messageText,
    sentImages1: images('images_1'),
    sentImages2: images('images_2'),
    sendComponents: results.map((r) => r.component).join(','),
    status,
    errorMessage,
    apiResponse: { components: results },
    scheduledAt,
    startedAt: kstText(startedMs),
    completedAt: kstText(endMs),
    durationMs: endMs - startedMs,
  });
  const advance = advanceAfterRun(row.scheduleType, startedMs, row.scheduleTime, row.scheduleWeekdays);
  await ports.store.advanceSchedule(
    row.id,
    advance.kind === 'next' ? { nextSendAt: advance.nextSendAt } : { status: advance.kind },
    kstText(endMs),
  );
  ports.onRun(row.id, status, errorMessage ?? undefined);
  return status;
}

function present(value: unknown): boolean {
  return value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0) && value !== '';
}

async function deliver(ports: SchedulerPorts, row: ScheduleRow, signal?: AbortSignal): Promise<ComponentResult[]> {
  const wanted: ComponentName[] = [];
  if (row.messageText !== null && row.messageText !== '') wanted.push('text');
  if (present(row.messageImages1)) wanted.push('images_1');
  if (present(row.messageImages2)) wanted.push('images_2');
  const failAll = (reason: string, detail?: string): ComponentResult[] =>
    wanted.map((component) => ({ component, status: 'failed', reason, ...(detail ? { detail } : {}) }));
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
        id: ports.newId(),
        kind: 'scheduled',
        botName: row.targetBotName,
        deviceId,
        channelId: row.targetRoomId,
        ...(titled ? { roomTitle: room.title } : {}),
        traceId,
        scheduleId: row.id,
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
  if (wanted.includes('text')) {
    results.push(
      titled
        ? await send('text', { text: row.messageText ?? '' })
        : { component: 'text', status: 'failed', reason: 'no-room-title' },
    );
  }
  if (wanted.includes('images_1')) results.push(await sendImages('images_1', row.messageImages1, row.mediaWaitTime1));
  if (wanted.includes('images_2')) {
    try {
      if (wanted.includes('images_1')) await sleep(ports, row.sendIntervalSeconds * 1000, signal);
      results.push(await sendImages('images_2', row.messageImages2, row.mediaWaitTime2));
    } catch {
      results.push({ component: 'images_2', status: 'failed', reason: 'shutdown' });
    }
  }
  return results;
}
