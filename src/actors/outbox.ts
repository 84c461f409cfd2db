import type { SendFailureReason, SendMedia } from './send.js';

/**
 * The durable send record (DESIGN.md §2 "Outbound path": waits for the phone while it is away,
 * bounded and durable), as a port: an API or scheduled send is stored when it is accepted and
 * queued on its phone's path, and its outcome when it settles. On start the queued API sends are
 * read back (re-submitted, or expired), a scheduled run cut short by a crash is finished from the
 * rows of that run, and `GET /messages/<id>` answers from here once the in-memory outcomes have
 * forgotten an id. Handler replies never come here (the durable mailbox replays their messages).
 *
 * SQLite and MySQL implement it (src/infra/outbox). Writes run in call order; a synchronous store
 * (SQLite) has written when the call returns, an asynchronous one returns the write's promise.
 */

export type OutboxKind = 'api' | 'scheduled';
export type OutboxStatus = 'queued' | 'delivered' | 'failed';

/** One component of a scheduled run (PROTOCOL §7.12 "Components, in order"). */
export type ScheduleComponent = 'text' | 'images_1' | 'images_2';

export interface OutboxEntry {
  /** the SendRequest id (`GET /messages/<id>`) */
  id: string;
  kind: OutboxKind;
  botName: string;
  /** the phone the send was queued for (resolved before queueing) */
  deviceId: string;
  channelId: string;
  traceId: string;
  /** epoch ms: when it was accepted (its hold, outbound.holdMs, counts from here) */
  acceptedAt: number;
  /** the gateway that queued it (docs/decisions.md "Durable sends": whose run a claim is) */
  owner: string;
  /** an API send's content, re-submitted after a restart; scheduled sends keep none (the run reloads it) */
  roomTitle?: string;
  text?: string;
  media?: SendMedia;
  /** a scheduled send: kb_schedule.id, the run's next_send_at (KST text) and the component */
  scheduleId?: number;
  scheduledAt?: string;
  component?: ScheduleComponent;
}

export interface OutboxRecord extends OutboxEntry {
  status: OutboxStatus;
  reason?: SendFailureReason;
  detail?: string;
  /** epoch ms of the outcome */
  settledAt?: number;
}

export type OutboxOutcome =
  | { status: 'delivered'; deviceId: string; at: number }
  | { status: 'failed'; reason: SendFailureReason; detail?: string; at: number };

export interface Outbox {
  /** Stores an accepted, queued send (again: a resumed run's component keeps its id; the row is reset). */
  add(entry: OutboxEntry): void | Promise<void>;
  /** Stores a send's outcome. */
  settle(id: string, outcome: OutboxOutcome): void | Promise<void>;
  /** Sends still queued, in the order they were accepted. */
  queued(): Promise<OutboxRecord[]>;
  get(id: string): Promise<OutboxRecord | undefined>;
  /** The sends of one scheduled run, in the order they were accepted. */
  ofRun(scheduleId: number, scheduledAt: string): Promise<OutboxRecord[]>;
  /**
   * The delivered sends carrying any of these trace ids (a replayed message's `ctx.send`s that
   * reached their phones before a restart); those of one trace id in the order they were accepted.
   */
  deliveredOf(traceIds: readonly string[]): Promise<OutboxRecord[]>;
  /**
   * Deletes sends settled before `before` (epoch ms), and sends still queued that were accepted
   * before it (long past any hold: left by a gateway that never came back); returns how many.
   */
  prune(before: number): Promise<number>;
  /** Creates our table if missing (`msgbot_outbox`; never touches the kb_* tables). */
  migrate(): Promise<void>;
  close(): Promise<void>;
}
