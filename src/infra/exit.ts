import type { Logger } from './logger.js';

/**
 * Leaving the process without running the 'exit' handlers: pino's asynchronous destination
 * flushes synchronously on 'exit' and retries a broken pipe (stdout whose reader has gone:
 * `| head`, a restarted journald) without end, so `process.exit` could hang for ever (DESIGN.md
 * §4: shutdown is bounded). The logger gets `graceMs` to flush asynchronously first.
 */

interface ReallyExit {
  reallyExit(code: number): never;
}

/** Exits now with `code`, skipping every 'exit' handler. */
export function exitNow(code: number): never {
  // process.reallyExit is what process.exit calls after the 'exit' handlers (Node internal, stable since 0.x)
  return (process as unknown as ReallyExit).reallyExit(code);
}

/**
 * Flushes `log` (asynchronously, at most `graceMs`), then exits with `code` without the 'exit'
 * handlers. The timer is a hard bound: it fires even if the flush never calls back.
 */
export function flushAndExit(log: Logger | undefined, code: number, graceMs = 500): void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    exitNow(code);
  };
  // ref'd on purpose: an empty event loop would otherwise end the process through 'exit'
  setTimeout(finish, graceMs);
  if (log === undefined) {
    finish();
    return;
  }
  try {
    log.flush(() => finish());
  } catch {
    finish();
  }
}
