import type { Inbox, InboxKey, InboxStatus } from '../actors/inbox.js';
import type { ChatMessage } from '../actors/job.js';
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { HeldWrites } from '../infra/tcp/socket-actor.js';
import { Repeating } from './repeating.js';

/**
 * The gateway's side of the durable mailbox (DESIGN.md §2): accepted messages are appended to the
 * `Inbox` and the events that hand them to the dispatcher wait here until the append is written.
 * Writes are grouped: one transaction per event-loop turn (setImmediate), never one per line on
 * the socket's read path. Every dispatcher event passes through here, in order, so a
 * WAIT_FOR_ROOM never overtakes the ENQUEUEs before it.
 *
 * Replies wait here too: a connection's writes are sealed when the next grouped write starts and
 * released in the same synchronous step right after it has committed (`afterWrite`); writes made
 * while an asynchronous (MySQL) write is in flight wait for the one after it. A message's finish is buffered in the turn its reply is written, so its reply never
 * leaves before its finish is durable: a crash in between replays the message and it is answered
 * once, not twice. A handler that answers and keeps working has its count of written replies
 * stored the same way, before they leave; a replay skips that many (`alreadyWritten`). What is
 * left is the step between the commit and the write syscall.
 */
export interface DurableMailboxOptions<E> {
  inbox: Inbox;
  clock: Clock;
  metrics: Metrics;
  log: Logger;
  /** unfinished messages younger than this are replayed at start; older ones expire */
  replayWindowMs: number;
  /** finished rows are kept this long (the de-duplication window survives a restart) */
  dedupWindowMs: number;
  /** how long an asynchronous (MySQL) write may hold messages back before they run anyway */
  writeWaitMs: number;
  /** hands the events on to the dispatcher, in order */
  forward(events: E[]): void;
  /**
   * Other writes that must be stored before held socket writes leave: the send record's writes
   * in flight (SendJournal.inFlight), so a delivered send's outcome precedes its bytes.
   */
  alsoWritten?: () => Promise<void> | undefined;
}

/** The gateway's durable mailbox on `inbox` with the processing config's windows; none without an inbox. */
export function durableMailboxOf<E>(
  inbox: Inbox | undefined,
  p: Pick<Config['processing'], 'replayWindowMs' | 'dedupWindowMs' | 'inboxWriteWaitMs'>,
  deps: Pick<DurableMailboxOptions<E>, 'clock' | 'metrics' | 'log' | 'forward' | 'alsoWritten'>,
): DurableMailbox<E> | undefined {
  if (inbox === undefined) return undefined;
  return new DurableMailbox<E>({
    inbox,
    ...deps,
    replayWindowMs: p.replayWindowMs,
    dedupWindowMs: p.dedupWindowMs,
    writeWaitMs: p.inboxWriteWaitMs,
  });
}

export interface Recovery {
  /** unfinished and younger than the replay window, in append (= per-room) order */
  replay: ChatMessage[];
  expired: ChatMessage[];
  /** de-duplication keys of every message inside the window, oldest first */
  keys: InboxKey[];
}

export class DurableMailbox<E> {
  private pending: E[] = [];
  /** socket writes waiting for the next grouped write to commit */
  private held: HeldWrites[] = [];
  private scheduled = false;
  private writing: Promise<void> | undefined;
  private readonly pruning: Repeating;
  private clearSeededTimer: unknown;
  /** keys known from before the restart, for the duplicate-after-restart count */
  private seeded = new Set<string>();
  /** replies written so far of each unfinished message that has written any */
  private readonly written = new Map<string, number>();
  /** messages of `written` whose count is not stored yet (stored with the next grouped write) */
  private readonly unsaved = new Set<string>();
  /** replayed messages: replies written before the restart and not met again yet */
  private readonly toSkip = new Map<string, number>();

  constructor(private readonly o: DurableMailboxOptions<E>) {
    // often enough that one prune has little to delete
    this.pruning = new Repeating(o.clock, Math.min(10_000, Math.max(1_000, o.dedupWindowMs)), () =>
      o.inbox
        .prune(o.clock.now() - o.dedupWindowMs)
        .catch((error: unknown) => o.log.warn({ err: error }, 'durable mailbox prune failed')),
    );
  }

  /** A message accepted for processing: stored before its ENQUEUE is forwarded. */
  append(message: ChatMessage): void {
    this.o.inbox.append(message);
    this.schedule();
  }

  finish(traceId: string, status: InboxStatus): void {
    this.forget(traceId);
    this.o.inbox.finish(traceId, status, this.o.clock.now());
    this.schedule();
  }

  /**
   * One reply of an unfinished message was written to its (corked) socket. Its count is stored
   * by the next grouped write — which releases the socket — unless the job's finish comes first.
   */
  replyWritten(traceId: string): void {
    this.written.set(traceId, (this.written.get(traceId) ?? 0) + 1);
    this.unsaved.add(traceId);
    this.schedule();
  }

  /**
   * Whether the next reply of a replayed message was already written before the restart (it is
   * then not sent again); counts it off.
   */
  alreadyWritten(traceId: string): boolean {
    if (this.toSkip.size === 0) return false;
    const left = this.toSkip.get(traceId);
    if (left === undefined) return false;
    if (left <= 1) this.toSkip.delete(traceId);
    else this.toSkip.set(traceId, left - 1);
    return true;
  }

  /** A dispatcher event; forwarded once everything appended before it is written. */
  push(event: E): void {
    this.pending.push(event);
    this.schedule();
  }

  /**
   * A connection's writes: sealed when the next grouped write starts, released right after it has
   * committed, or has failed, or has taken writeWaitMs; next turn when nothing is buffered.
   */
  afterWrite(writes: HeldWrites): void {
    this.held.push(writes);
    this.schedule();
  }

  /** Whether a duplicate's key was known only from the record written before the restart. */
  fromBeforeRestart(key: string): boolean {
    return this.seeded.has(key);
  }

  /**
   * Start-up: what to replay, what expired (marked and logged here), and the keys that seed the
   * de-duplication window, so a phone that re-sends after the restart is answered once.
   */
  async recover(dedupKey: (k: InboxKey) => string | undefined): Promise<Recovery> {
    const now = this.o.clock.now();
    const unfinished = await this.o.inbox.unfinished();
    const replay: ChatMessage[] = [];
    const expired: ChatMessage[] = [];
    for (const { message: m, repliesWritten } of unfinished) {
      if (now - m.receivedAt <= this.o.replayWindowMs) {
        replay.push(m);
        if (repliesWritten > 0) {
          this.toSkip.set(m.traceId, repliesWritten);
          this.written.set(m.traceId, repliesWritten);
        }
        continue;
      }
      expired.push(m);
      this.expire(m);
    }
    const keys = (await this.o.inbox.recent(now - this.o.dedupWindowMs)).sort((a, b) => a.receivedAt - b.receivedAt);
    for (const k of keys) {
      const key = dedupKey(k);
      if (key !== undefined) this.seeded.add(key);
    }
    this.clearSeededTimer = this.o.clock.setTimeout(() => {
      this.seeded = new Set();
    }, this.o.dedupWindowMs);
    this.flushNow();
    return { replay, expired, keys };
  }

  /** A message that was not replayed within the replay window: marked, counted and logged. */
  expire(m: ChatMessage): void {
    const now = this.o.clock.now();
    this.forget(m.traceId);
    this.o.inbox.finish(m.traceId, 'expired', now);
    this.schedule();
    this.o.metrics.durability.inc({ event: 'expired' });
    this.o.log.warn(
      { traceId: m.traceId, botName: m.botName, deviceId: m.deviceId, ageMs: now - m.receivedAt },
      'message expired before it could be replayed',
    );
  }

  /** Prunes finished rows older than the de-duplication window. */
  startPruning(): void {
    this.pruning.start();
  }

  /** Writes and forwards everything pending (graceful stop). */
  async drain(): Promise<void> {
    while (this.writing !== undefined || this.busy()) {
      if (this.writing !== undefined) await this.writing;
      else this.run();
    }
  }

  async stop(): Promise<void> {
    this.pruning.stop();
    this.o.clock.clearTimeout(this.clearSeededTimer);
    await this.drain();
  }

  private busy(): boolean {
    return this.pending.length > 0 || this.held.length > 0 || this.unsaved.size > 0 || this.o.inbox.buffered > 0;
  }

  /** A message's job ended: its reply count is no longer needed. */
  private forget(traceId: string): void {
    if (this.written.size === 0 && this.toSkip.size === 0) return;
    this.written.delete(traceId);
    this.unsaved.delete(traceId);
    this.toSkip.delete(traceId);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private flushNow(): void {
    void this.write();
  }

  private readonly run = (): void => {
    this.scheduled = false;
    if (this.writing !== undefined) return; // rescheduled when the write in flight settles
    const events = this.pending;
    this.pending = [];
    const held = this.held;
    this.held = [];
    // what the sockets hold now leaves after this write; what they get meanwhile, after the next
    for (const writes of held) writes.seal();
    const result = this.withOthers(this.write(), held.length > 0);
    if (result === undefined) {
      // the same synchronous step as the commit: replies leave right behind their finishes
      for (const writes of held) writes.release();
      if (events.length > 0) this.o.forward(events);
      return;
    }
    // DESIGN.md §4: database trouble never stops chat traffic — a slow write holds messages back
    // at most writeWaitMs; later batches still wait for it, so order is kept.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      for (const writes of held) writes.release();
      if (events.length > 0) this.o.forward(events);
    };
    const timer = setTimeout(release, this.o.writeWaitMs);
    this.writing = result.then(release, release).finally(() => {
      this.writing = undefined;
      if (this.busy()) this.schedule();
    });
  };

  /** `write`, and with held socket writes also the other writes they wait for (alsoWritten). */
  private withOthers(write: Promise<void> | undefined, holding: boolean): Promise<void> | undefined {
    const others = holding ? this.o.alsoWritten?.() : undefined;
    if (others === undefined) return write;
    return write === undefined ? others : Promise.all([write, others]).then(() => {});
  }

  /** One grouped write; undefined when it completed synchronously (or failed, counted). */
  private write(): Promise<void> | undefined {
    if (this.unsaved.size > 0) {
      for (const traceId of this.unsaved) this.o.inbox.replied(traceId, this.written.get(traceId)!);
      this.unsaved.clear();
    }
    if (this.o.inbox.buffered === 0) return undefined;
    try {
      const result = this.o.inbox.flush();
      if (result === undefined) return undefined;
      return result.catch((error: unknown) => this.failed(error));
    } catch (error) {
      this.failed(error);
      return undefined;
    }
  }

  private failed(error: unknown): void {
    this.o.metrics.durability.inc({ event: 'write-error' });
    this.o.log.error({ err: error }, 'durable mailbox write failed; messages are processed without it');
  }
}
