import type { Clock } from './clock.js';
import type { ScheduleComponent } from './outbox.js';
import type { SendPort } from './send.js';

/**
 * What the scheduler actor is given (DESIGN.md §2: actors never import infra). The store side is
 * implemented by src/infra/store/schedules-*.ts; times are naive KST text (PROTOCOL §8.0)
 * computed by the gateway, never the database's NOW().
 */

/** The columns of a kb_schedule row the scheduler reads (PROTOCOL §8.6). */
export interface ScheduleRow {
  id: number;
  title: string;
  targetBotName: string;
  targetDeviceId: string | null;
  targetRoomId: string;
  messageText: string | null;
  /** the JSON column as stored: parsed JSON, or the raw text when it is not JSON */
  messageImages1: unknown;
  messageImages2: unknown;
  imageStorageMode: string;
  sendIntervalSeconds: number;
  mediaWaitTime1: number;
  mediaWaitTime2: number;
  scheduleType: string;
  scheduleTime: string;
  scheduleWeekdays: string | null;
  status: string;
  nextSendAt: string | null;
  lastSentAt: string | null;
  sendCount: number;
}

export type ScheduleLogStatus = 'success' | 'partial' | 'failed';

/** One kb_schedule_logs row (PROTOCOL §8.7), JSON values in the JSON columns ([REC]). */
export interface ScheduleLogEntry {
  scheduleId: number;
  targetRoomId: string;
  targetDeviceId: string | null;
  sentMessageText: string | null;
  /** written as JSON, e.g. {"count": 3} */
  sentImages1: unknown;
  sentImages2: unknown;
  sendComponents: string;
  status: ScheduleLogStatus;
  errorMessage: string | null;
  /** written as JSON: the outcome of every component */
  apiResponse: unknown;
  scheduledAt: string;
  startedAt: string;
  completedAt: string | null;
  durationMs: number;
}

export interface DueQuery {
  /** KST now */
  now: string;
  /** bots with at least one live connection */
  bots: readonly string[];
  limit: number;
  /** catch-up pass: next_send_at ≥ since and no success/partial log row for it */
  since?: string;
}

/** A claimed row (a run started and not advanced), and whether its run was logged. */
export type ClaimedSchedule = ScheduleRow & { nextSendAt: string; lastSentAt: string; logged: boolean };

/** The store operations the scheduler needs (src/infra/store/schedule-types.ts extends it). */
export interface SchedulerStorePort {
  dueSchedules(query: DueQuery): Promise<ScheduleRow[]>;
  /** PROTOCOL §7.12 claim: sets last_sent_at = now only if still unsent for `scheduledAt`; true if we won */
  claimSchedule(id: number, scheduledAt: string, now: string): Promise<boolean>;
  /**
   * Active rows that are claimed (last_sent_at ≥ next_send_at): runs going now, or cut short by a
   * crash; `logged` when kb_schedule_logs has a row for their next_send_at. Oldest first, at most `limit`.
   */
  claimedSchedules(limit: number): Promise<ClaimedSchedule[]>;
  /** Takes a claim over: last_sent_at = now only if it is still `claimedAt` for `scheduledAt`; true if we won */
  reclaimSchedule(id: number, scheduledAt: string, claimedAt: string, now: string): Promise<boolean>;
  insertScheduleLog(entry: ScheduleLogEntry): Promise<void>;
  /** once ⇒ completed; daily/weekly ⇒ next_send_at; error ⇒ status error. Every run adds 1 to send_count. */
  advanceSchedule(
    id: number,
    next: { status: 'completed' | 'error' } | { nextSendAt: string },
    now: string,
  ): Promise<void>;
}

/** Approval and room title (PROTOCOL §8.1, §8.2), as the scheduler checks them ([REC]). */
export interface SchedulerDirectoryPort {
  deviceStatus(botName: string, deviceId: string): Promise<string | undefined>;
  room(botName: string, roomId: string, deviceId: string): Promise<{ title: string; status: string } | undefined>;
}

export type ScheduleRunOutcome = ScheduleLogStatus | 'skipped';

/** One send of a scheduled run as the send record (msgbot_outbox) has it. */
export interface RunSendRecord {
  id: string;
  component: ScheduleComponent;
  status: 'queued' | 'delivered' | 'failed';
  reason?: string;
  detail?: string;
  /** queued by this gateway (docs/decisions.md "Durable sends") */
  ours: boolean;
}

/** The send record's side of finishing runs a crash cut short (absent: no record, no recovery). */
export interface SchedulerRecoveryPort {
  sendsOfRun(scheduleId: number, scheduledAt: string): Promise<RunSendRecord[]>;
  /** a run closed without them: its sends still queued in the record fail `interrupted` */
  abandon(ids: readonly string[], detail: string): Promise<void>;
}

/** What recovery did with a claimed row: sent what was left, logged it as it was, or only advanced it. */
export type RecoveryAction = 'resumed' | 'closed' | 'advanced';

export interface SchedulerSettings {
  /** PROTOCOL §7.12: the catch-up pass runs this long after start (10 s) */
  startDelayMs: number;
  /** catch-up window in seconds (300) */
  catchUpWindowS: number;
  /** schedules taken per poll (10) */
  maxPerPoll: number;
  /** pause between two schedules of one bot (0.5 s) */
  perBotGapMs: number;
  /** bounds of the stagger between bots, seconds (1 and 10) */
  staggerMinS: number;
  staggerMaxS: number;
  /** a claim with no log row and none of our sends is taken over after this long (scheduler.staleClaimMs) */
  staleClaimMs: number;
}

export interface SchedulerPorts {
  clock: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;
  store: SchedulerStorePort;
  directory: SchedulerDirectoryPort;
  send: SendPort;
  /** images of one group as base64 items (PROTOCOL §7.12 image sources); a throw means `bad-media` */
  loadImages(value: unknown, mode: string): Promise<string[]>;
  /** bots with at least one live connection */
  liveBots(): readonly string[];
  newId(): string;
  /** metric + log of one finished schedule */
  onRun(scheduleId: number, outcome: ScheduleRunOutcome, detail?: string): void;
  /** a pass that threw (store down): logged, the next poll tries again */
  onError(error: unknown): void;
  /** the send record, to finish runs a crash cut short; absent: claimed rows are left as they are */
  recovery?: SchedulerRecoveryPort;
  /** metric + log of one interrupted run taken over */
  onRecover?(scheduleId: number, action: RecoveryAction, detail: string): void;
}
