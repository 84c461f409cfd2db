/**
 * The one rule of "mailbox full" (PROTOCOL §7.6), for the dispatcher and for whoever answers a
 * connection before its ENQUEUE arrives: `notTaken` ENQUEUEs sent but not taken yet count as waiting.
 */
export function mailboxFull(ctx: MailboxCounters, notTaken = 0): boolean {
  return ctx.waiting + notTaken >= ctx.capacity;
}

/** The dispatcher's counters that say how full its mailbox is (DispatcherContext). */
export interface MailboxCounters {
  /** processing.mailboxSize */
  readonly capacity: number;
  waiting: number;
  running: number;
  processed: number;
  failed: number;
  refused: number;
}

/** ENQUEUEs the dispatcher has taken so far, accepted or refused. */
export function enqueuesTaken(ctx: MailboxCounters): number {
  return ctx.waiting + ctx.running + ctx.processed + ctx.failed + ctx.refused;
}
