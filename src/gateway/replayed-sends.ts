import type { Clock } from '../actors/clock.js';
import type { OutboxRecord } from '../actors/outbox.js';
import type { SendMedia, SendOutcome } from '../actors/send.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { SendInput } from './send-requests.js';

export interface ReplayedSendsOptions {
  clock: Clock;
  metrics: Metrics;
  /** the `message` log category */
  log: Logger;
  /**
   * How long the loaded sends are kept at most (processing.replayWindowMs + deadlineMs: a
   * replayed message waits that long for its phone, then its handler runs to its deadline).
   * A message that finishes drops its own sooner.
   */
  keepMs: number;
}

/**
 * A replayed message's `ctx.send`s that were delivered before the restart (DESIGN.md §2 durable
 * mailbox; docs/decisions.md "Durable sends"). The replayed handler runs again and calls
 * `ctx.send` again; a call with the same trace id, target (bot, channel, and device if it names
 * one) and content as a stored delivered send is answered with that send's outcome and not sent
 * again. Matched by content, not by position: sends to different phones can be delivered out of
 * call order. Each stored send answers one call at most.
 *
 * Loaded once at start, empty afterwards for good: a send with a fresh trace id looks at nothing
 * but the size of an empty map. Handler replies never come here (DurableMailbox.alreadyWritten).
 */
export class ReplayedSends {
  /** trace id → its delivered sends not met again yet, in the order they were accepted */
  private readonly byTrace = new Map<string, OutboxRecord[]>();
  private timer: unknown;

  constructor(private readonly o: ReplayedSendsOptions) {}

  /** Start-up: the delivered sends of the replayed messages (SendJournal.deliveredOf). */
  load(records: readonly OutboxRecord[]): void {
    for (const r of records) {
      const list = this.byTrace.get(r.traceId);
      if (list === undefined) this.byTrace.set(r.traceId, [r]);
      else list.push(r);
    }
    if (this.byTrace.size === 0) return;
    this.o.clock.clearTimeout(this.timer);
    this.timer = this.o.clock.setTimeout(() => this.byTrace.clear(), this.o.keepMs);
    this.o.log.info(
      { traces: this.byTrace.size, sends: records.length },
      'sends of replayed messages delivered before the restart; not sent again',
    );
  }

  /**
   * A handler's `ctx.send`: the delivered outcome of a stored send it repeats (taken: it answers
   * no other call), or undefined when it is to be sent.
   */
  take(input: SendInput): SendOutcome | undefined {
    if (this.byTrace.size === 0 || input.traceId === undefined) return undefined;
    const stored = this.byTrace.get(input.traceId);
    if (stored === undefined) return undefined;
    const i = stored.findIndex((r) => repeats(input, r));
    if (i < 0) return undefined;
    const r = stored[i]!;
    stored.splice(i, 1);
    if (stored.length === 0) this.byTrace.delete(input.traceId);
    this.o.metrics.outbox.inc({ event: 'not-resent' });
    this.o.log.info(
      { traceId: r.traceId, sendId: r.id, botName: r.botName, deviceId: r.deviceId, channelId: r.channelId },
      'ctx.send delivered before the restart; not sent again',
    );
    return { id: r.id, status: 'delivered', deviceId: r.deviceId, at: r.settledAt ?? r.acceptedAt };
  }

  /** A message's job ended: its sends can no longer be asked for. */
  finished(traceId: string): void {
    if (this.byTrace.size === 0) return;
    this.byTrace.delete(traceId);
  }

  /** How many stored sends are still kept. */
  get size(): number {
    let n = 0;
    for (const list of this.byTrace.values()) n += list.length;
    return n;
  }

  stop(): void {
    this.o.clock.clearTimeout(this.timer);
    this.byTrace.clear();
  }
}

/** Whether a call asks for the stored send again: same target and same content. */
function repeats(input: SendInput, r: OutboxRecord): boolean {
  return (
    input.botName === r.botName &&
    input.channelId === r.channelId &&
    (input.deviceId === undefined || input.deviceId === r.deviceId) &&
    input.text === r.text &&
    sameMedia(input.media, r.media)
  );
}

function sameMedia(a: SendMedia | undefined, b: SendMedia | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return sameList(a.urls, b.urls) && sameList(a.imagesBase64, b.imagesBase64) && a.waitMs === b.waitMs;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
