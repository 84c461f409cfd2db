import pino from 'pino';
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

interface EndableStream {
  end(): void;
  once(event: string, listener: () => void): unknown;
}

function endable(stream: unknown): EndableStream | undefined {
  if (stream === null || typeof stream !== 'object') return undefined;
  const s = stream as Partial<EndableStream>;
  return typeof s.end === 'function' && typeof s.once === 'function' ? (s as EndableStream) : undefined;
}

/** The logger's destination; behind a pino multistream (logger.ts: destination + ring), the one that can end. */
function streamOf(log: Logger): EndableStream | undefined {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  const streams = (stream as { streams?: readonly { stream: unknown }[] } | null)?.streams;
  if (!Array.isArray(streams)) return endable(stream);
  for (const entry of streams) {
    const found = endable(entry.stream);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Ends `log`'s destination (its buffered lines are written first; 'finish'/'close' follow), then
 * exits with `code` without the 'exit' handlers. The timer is a hard bound: it fires even when the
 * destination never finishes (a broken pipe makes pino turn end() into a no-op).
 */
export function flushAndExit(log: Logger | undefined, code: number, graceMs = 1_000): void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    exitNow(code);
  };
  // ref'd on purpose: an empty event loop would otherwise end the process through 'exit'
  setTimeout(finish, graceMs);
  const stream = log === undefined ? undefined : streamOf(log);
  if (stream === undefined) {
    finish();
    return;
  }
  try {
    stream.once('finish', finish);
    stream.once('close', finish);
    stream.once('error', finish);
    stream.end();
  } catch {
    finish();
  }
}
