import type { ScheduleRow, SchedulerStorePort } from '../../actors/scheduler-ports.js';

/**
 * The store contracts of the scheduler (PROTOCOL §7.12, §8.6–§8.7) and of the process row
 * (§7.13, §8.8–§8.9). Both dialects implement them (schedules-*.ts, processes-*.ts); the
 * SQLite and MySQL stores expose them as `schedules` and `processes`.
 */

export type { ScheduleRow };

/** A schedule the CLI adds (PROTOCOL §8.6); times are naive KST text computed by the caller. */
export interface NewSchedule {
  title: string;
  botName: string;
  deviceId: string;
  roomId: string;
  messageText: string | null;
  /** elements `{ base64, name }` (mode base64) or `{ path, name }` (mode file) */
  images1: readonly Record<string, string>[] | null;
  imageStorageMode: 'file' | 'base64';
  mediaWaitTime1: number;
  scheduleType: 'once' | 'daily' | 'weekly';
  /** `YYYY-MM-DD` for once */
  scheduleDate: string | null;
  /** `HH:MM:SS` */
  scheduleTime: string;
  /** `monday,friday` for weekly */
  scheduleWeekdays: string | null;
  validFrom: string;
  validUntil: string;
  nextSendAt: string;
  now: string;
}

export interface ScheduleListFilter {
  botName?: string;
  status?: string;
}

export interface ScheduleStore extends SchedulerStorePort {
  listSchedules(filter?: ScheduleListFilter): Promise<ScheduleRow[]>;
  addSchedule(schedule: NewSchedule): Promise<number>;
  /** pause (inactive) / resume (active); false when there is no such row */
  setScheduleStatus(id: number, status: 'active' | 'inactive', now: string): Promise<boolean>;
  /** deletes the row and its log rows; false when there is no such row */
  deleteSchedule(id: number): Promise<boolean>;
  /** the newest log row of each schedule that has one */
  lastOutcomes(): Promise<Map<number, LastOutcome>>;
}

/** A schedule's newest kb_schedule_logs row, as the dashboard shows it. */
export interface LastOutcome {
  status: string;
  at: string | null;
  error: string | null;
}

export const PROCESS_STATUSES = ['stopped', 'starting', 'running', 'stopping', 'error', 'crashed'] as const;
export type ProcessStatus = (typeof PROCESS_STATUSES)[number];

export interface ProcessRow {
  processName: string;
  serverId: number;
  port: number;
  /** `test` | `live` (PROTOCOL §7.1: selects the reference's credential set) */
  type: string;
  pid: number | null;
  status: string;
  cpuUsage: number;
  memoryUsage: number;
  lastHeartbeat: string | null;
}

export interface ProcessStore {
  getProcess(processName: string): Promise<ProcessRow | undefined>;
  /**
   * The row named `processName`, created (with a kb_servers row for `host`) if missing. Throws
   * when it cannot be created (e.g. another process name already holds (server, port)).
   */
  ensureProcess(processName: string, host: string, port: number, now: string): Promise<ProcessRow>;
  /** PROTOCOL §7.13: status and pid; `stopped` also zeroes the usage columns */
  setProcessStatus(processName: string, status: ProcessStatus, pid: number | null, now: string): Promise<void>;
  /** PROTOCOL §7.13: averages and last_heartbeat */
  processHeartbeat(processName: string, cpuUsage: number, memoryUsage: number, now: string): Promise<void>;
}
