import pino, { type LevelWithSilent, type Logger } from 'pino';
import { LOG_CATEGORIES, type LogCategory } from './config/schema.js';
import { prettyDestination } from './log-pretty.js';

export type { Logger };

export interface Loggers {
  root: Logger;
  /** one child logger per category, each with its own level */
  cat: Record<LogCategory, Logger>;
  setLevel(category: LogCategory | 'all', level: LevelWithSilent): void;
  /** the current level of every category */
  levels(): Record<LogCategory, string>;
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  categories?: Partial<Record<LogCategory, LevelWithSilent>>;
  pretty?: boolean;
  /** where JSON lines go (tests pass a stream to read them back) */
  destination?: pino.DestinationStream;
}

export function createLoggers(opts: LoggerOptions = {}): Loggers {
  const level = opts.level ?? 'info';
  const destination = opts.destination ?? (opts.pretty ? prettyDestination() : pino.destination({ sync: false }));
  // The root runs at trace so each category child can be more verbose than the default.
  const root = pino({ level: 'trace', base: { pid: process.pid } }, destination);
  const cat = {} as Record<LogCategory, Logger>;
  for (const name of LOG_CATEGORIES) {
    const child = root.child({ cat: name });
    child.level = opts.categories?.[name] ?? level;
    cat[name] = child;
  }
  return {
    root,
    cat,
    setLevel(category, lvl) {
      const names = category === 'all' ? LOG_CATEGORIES : [category];
      for (const name of names) cat[name].level = lvl;
    },
    levels() {
      return Object.fromEntries(LOG_CATEGORIES.map((name) => [name, cat[name].level])) as Record<LogCategory, string>;
    },
  };
}

/** Loggers that write nothing: for tests that do not read logs. */
export function silentLoggers(): Loggers {
  return createLoggers({ level: 'silent', destination: { write: () => {} } });
}
