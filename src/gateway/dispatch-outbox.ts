import type { AnyActorRef } from 'xstate';
import type { DispatcherEvent } from '../actors/dispatcher.js';
import { enqueuesTaken, type MailboxCounters, mailboxFull, sendInBatches } from '../actors/dispatcher.js';
import type { Job } from '../actors/job.js';
import type { DurableMailbox } from './durable.js';

/** The dispatcher as the outbox sees it: it takes events and tells its counters. */
export interface DispatcherPort {
  send(event: DispatcherEvent): void;
  getSnapshot(): { context: MailboxCounters };
}

export interface DispatchOutboxDeps {
  dispatcher: DispatcherPort;
  /** the durable mailbox (DESIGN.md §2): events wait there until what they carry is stored */
  durable: DurableMailbox<DispatcherEvent> | undefined;
  /** told the mailbox depth after every flush */
  depth(waiting: number): void;
}

/**
 * The way from connection actions to the dispatcher, and the gateway's "mailbox full" answer
 * (the dispatcher's own rule, `mailboxFull`, with what is still on its way counted).
 *
 * Events from a connection's action reach the dispatcher once that action is done, not inside
 * it: an actor sent to synchronously from another actor's action would run its whole step
 * (gates, workers, handlers) nested in that action. The connection's verdict never waits for
 * the dispatcher — `full()` counts what is still in the outbox — and the outbox is flushed in
 * order on the microtask queue, before any other I/O.
 */
export class DispatchOutbox {
  /** ENQUEUEs sent to the dispatcher; its counters say how many it has taken (see full) */
  private enqueued = 0;
  /** events for the dispatcher from connection actions, in order */
  private readonly events: DispatcherEvent[] = [];

  constructor(private readonly deps: DispatchOutboxDeps) {}

  /** A job for the mailbox (counted against processing.mailboxSize until the dispatcher takes it). */
  enqueue(job: Job, replyTo?: AnyActorRef): void {
    this.enqueued++;
    this.send(replyTo === undefined ? { type: 'ENQUEUE', job } : { type: 'ENQUEUE', job, replyTo });
  }

  send(event: DispatcherEvent): void {
    // DESIGN.md §2: with the durable mailbox, events wait until what they carry is stored
    if (this.deps.durable !== undefined) this.deps.durable.push(event);
    else if (this.events.push(event) === 1) queueMicrotask(this.flush);
  }

  /** Events the durable mailbox has stored, handed on in order. */
  forward(events: readonly DispatcherEvent[]): void {
    for (const event of events) this.events.push(event);
    this.flush();
  }

  private readonly sendToDispatcher = (event: DispatcherEvent): void => this.deps.dispatcher.send(event);

  readonly flush = (): void => {
    try {
      // What the dispatcher's answers make connections submit meanwhile goes out in this loop too;
      // consecutive ENQUEUEs go as one ENQUEUE.BATCH (one dispatcher step).
      sendInBatches(this.events, this.sendToDispatcher);
    } finally {
      // xstate turns a failing step into the dispatcher's error (logged fatal); never a stuck outbox
      this.events.length = 0;
    }
    this.deps.depth(this.deps.dispatcher.getSnapshot().context.waiting);
  };

  /**
   * Found by a 2,000-message burst: an ENQUEUE sent while the dispatcher is busy —
   * its MAILBOX_READY makes a connection resubmit held messages synchronously — waits in the
   * dispatcher's mailbox, so `waiting` alone let a burst through that the dispatcher then refused
   * after this gateway had answered "accepted": those messages were lost without a trace.
   * ENQUEUEs not taken yet count as waiting.
   */
  full(): boolean {
    const ctx = this.deps.dispatcher.getSnapshot().context;
    return mailboxFull(ctx, this.enqueued - enqueuesTaken(ctx));
  }
}
