import pino, { type LevelWithSilent, type Logger } from 'pino';
import { LOG_CATEGORIES, type LogCategory } from './config/schema.js';
import { LogRing } from './log-ring.js';

export type { Logger };

export interface Loggers {
  root: Logger;
  /** one child logger per category, each with its own level */
  cat: Record<LogCategory, Logger>;
  setLevel(category: LogCategory | 'all', level: LevelWithSilent): void;
  /** the newest lines, for the dashboard's Logs page */
  ring: LogRing;
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  categories?: Partial<Record<LogCategory, LevelWithSilent>>;
  pretty?: boolean;
  /** where JSON lines go (tests pass a stream to read them back) */
  destination?: pino.DestinationStream;
  /** lines kept in memory (dashboard.logLines) */
  ringSize?: number;
}

export function createLoggers(opts: LoggerOptions = {}): Loggers {
  const level = opts.level ?? 'info';
  const destination =
    opts.destination ??
    (opts.pretty
      ? pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } })
      : pino.destination({ sync: false }));
  // The root runs at trace so each category child can be more verbose than the default.
  const ring = new LogRing(opts.ringSize ?? 500);
  const streams = pino.multistream([
    { level: 'trace', stream: destination },
    { level: 'trace', stream: ring },
  ]);
  const root = pino({ level: 'trace', base: { pid: process.pid } }, streams);
  const cat = {} as Record<LogCategory, Logger>;
  for (const name of LOG_CATEGORIES) {
    const child = root.child({ cat: name });
    child.level = opts.categories?.[name] ?? level;
    cat[name] = child;
  }
  return {
    root,
    cat,
    ring,
    setLevel(category, lvl) {
      const names = category === 'all' ? LOG_CATEGORIES : [category];
      for (const name of names) cat[name].level = lvl;
    },
  };
}

/** Loggers that write nothing: for tests that do not read logs. */
export function silentLoggers(): Loggers {
  return createLoggers({ level: 'silent', destination: { write: () => {} } });
}
