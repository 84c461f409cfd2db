import type { ScheduleComponent } from './outbox.js';
import { advanceAfterRun, kstText } from './schedule-rules.js';
import type { ScheduleLogStatus, ScheduleRow, SchedulerPorts } from './scheduler-ports.js';

/**
 * The end of a schedule run (PROTOCOL §7.12 "Afterwards"), shared by a run, a resumed run and a
 * run closed after a restart: one kb_schedule_logs row with the real outcome of every component,
 * then the row advanced.
 */

export type ComponentName = ScheduleComponent;

export interface ComponentResult {
  component: ComponentName;
  status: 'delivered' | 'failed';
  reason?: string;
  detail?: string;
  count?: number;
}

function present(value: unknown): boolean {
  return value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0) && value !== '';
}

/** PROTOCOL §7.12 "Components, in order": the ones this row has. */
export function wantedComponents(row: ScheduleRow): ComponentName[] {
  const wanted: ComponentName[] = [];
  if (row.messageText !== null && row.messageText !== '') wanted.push('text');
  if (present(row.messageImages1)) wanted.push('images_1');
  if (present(row.messageImages2)) wanted.push('images_2');
  return wanted;
}

export interface RunEnd {
  scheduledAt: string;
  /** epoch ms the run started (its claim) */
  startedMs: number;
  results: readonly ComponentResult[];
  /** said first in error_message (a run closed after a restart) */
  note?: string;
  /** added to api_response (resumed / interrupted) */
  extra?: Record<string, unknown>;
}

/** Logs the run and advances the row; returns the logged status. */
export async function logAndAdvance(ports: SchedulerPorts, row: ScheduleRow, end: RunEnd): Promise<ScheduleLogStatus> {
  const { results } = end;
  const delivered = results.filter((r) => r.status === 'delivered').length;
  const status: ScheduleLogStatus =
    results.length > 0 && delivered === results.length ? 'success' : delivered > 0 ? 'partial' : 'failed';
  const failures = results
    .filter((r) => r.status === 'failed')
    .map((r) => `${r.component}: ${r.reason}${r.detail ? ` (${r.detail})` : ''}`);
  let errorMessage = results.length === 0 ? 'nothing to send' : failures.length > 0 ? failures.join('; ') : null;
  if (end.note !== undefined && errorMessage !== null) errorMessage = `${end.note}; ${errorMessage}`;
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
    apiResponse: { components: results, ...end.extra },
    scheduledAt: end.scheduledAt,
    startedAt: kstText(end.startedMs),
    completedAt: kstText(endMs),
    durationMs: Math.max(0, endMs - end.startedMs),
  });
  await advance(ports, row, end.startedMs);
  ports.onRun(row.id, status, errorMessage ?? undefined);
  return status;
}

/** PROTOCOL §7.12: once ⇒ completed; daily/weekly ⇒ the next time from the run's start. */
export async function advance(ports: SchedulerPorts, row: ScheduleRow, startedMs: number): Promise<void> {
  const next = advanceAfterRun(row.scheduleType, startedMs, row.scheduleTime, row.scheduleWeekdays);
  await ports.store.advanceSchedule(
    row.id,
    next.kind === 'next' ? { nextSendAt: next.nextSendAt } : { status: next.kind },
    kstText(ports.clock.now()),
  );
}
