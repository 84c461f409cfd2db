import { type Actor, waitFor } from 'xstate';
import type { dispatcherMachine } from '../actors/dispatcher.js';
import type { Loggers } from '../infra/logger.js';

export interface DrainSources {
  dispatcher: Actor<typeof dispatcherMachine>;
  /** handlers running in direct mode */
  directRunning(): number;
  /** sends the outbound paths can still hand to a connected phone */
  deliverable(): boolean;
  loggers: Loggers;
}

/**
 * The middle of a graceful stop: the dispatcher has been sent SHUTDOWN; running handlers, and
 * what they still send to connected phones, may finish until `deadlineMs`. Returns how many
 * accepted messages did not finish, each logged by its trace id.
 */
export async function drainForShutdown(s: DrainSources, deadlineMs: number): Promise<number> {
  const until = Date.now() + deadlineMs;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, deadlineMs);
  });
  // DESIGN.md §4: the dispatcher reaches `closed` once everything it accepted has run. The
  // deadline timer also keeps the process alive while nothing else would (a handler that hangs).
  const closed = waitFor(s.dispatcher, (snap) => snap.matches('closed'), { timeout: Number.POSITIVE_INFINITY });
  await Promise.race([closed.then(noop, noop), deadline]);
  clearTimeout(timer);
  // direct-mode handlers, and replies still going out to connected phones, are not one actor's state
  while (Date.now() < until && (s.directRunning() > 0 || s.deliverable())) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const ctx = s.dispatcher.getSnapshot().context;
  const unfinished = ctx.running + ctx.waiting + s.directRunning();
  if (unfinished > 0) {
    s.loggers.cat.dispatch.warn({ running: ctx.running, waiting: ctx.waiting }, 'shutdown deadline reached');
    // DESIGN.md §4 "nothing accepted is lost silently": each abandoned message by its trace id.
    const log = s.loggers.cat.message;
    for (const slot of ctx.workers.values()) {
      if (slot.job !== null) log.warn({ traceId: slot.job.id, stage: 'running' }, 'message abandoned at shutdown');
    }
    for (const queue of ctx.queues.values()) {
      for (const job of queue.jobs) log.warn({ traceId: job.id, stage: 'waiting' }, 'message abandoned at shutdown');
    }
  }
  return unfinished;
}

function noop(): void {}
