import pino, { type LevelWithSilent, type Logger } from 'pino';
import { LOG_CATEGORIES, type LogCategory } from './config/schema.js';
import { prettyDestination } from './log-pretty.js';
import { LogRing } from './log-ring.js';

export type { Logger };

export interface Loggers {
  root: Logger;
  /** one child logger per category, each with its own level */
  cat: Record<LogCategory, Logger>;
  setLevel(category: LogCategory | 'all', level: LevelWithSilent): void;
  /** the current level of every category */
  levels(): Record<LogCategory, string>;
  /** the newest lines, for the dashboard's Logs page */
  ring: LogRing;
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  categories?: Partial<Record<LogCategory, LevelWithSilent>>;
  pretty?: boolean;
  /** where JSON lines go (tests pass a stream to read them back) */
  destination?: pino.DestinationStream;
  /** called for every line at error level or above (the daemon keeps the last few for GET /status) */
  onError?(level: string, fields: Record<string, unknown>, msg: string): void;
  /** lines kept in memory (dashboard.logLines) */
  ringSize?: number;
}

export function createLoggers(opts: LoggerOptions = {}): Loggers {
  const level = opts.level ?? 'info';
  const destination = opts.destination ?? (opts.pretty ? prettyDestination() : pino.destination({ sync: false }));
  // The root runs at trace so each category child can be more verbose than the default.
  const onError = opts.onError;
  const hooks: pino.LoggerOptions['hooks'] =
    onError === undefined
      ? undefined
      : {
          logMethod(args, method, num) {
            if (num >= 50) noteError(onError, this, args, num);
            return method.apply(this, args);
          },
        };
  const ring = new LogRing(opts.ringSize ?? 500);
  const streams = pino.multistream([
    { level: 'trace', stream: destination },
    { level: 'trace', stream: ring },
  ]);
  const root = pino({ level: 'trace', base: { pid: process.pid }, ...(hooks ? { hooks } : {}) }, streams);
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
    levels() {
      return Object.fromEntries(LOG_CATEGORIES.map((name) => [name, cat[name].level])) as Record<LogCategory, string>;
    },
  };
}

function noteError(
  onError: NonNullable<LoggerOptions['onError']>,
  logger: Logger,
  args: readonly unknown[],
  num: number,
): void {
  try {
    const [first, second] = args;
    const obj = first !== null && typeof first === 'object' ? (first as Record<string, unknown>) : {};
    const msg = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
    onError(pino.levels.labels[num] ?? String(num), { ...logger.bindings(), ...obj }, msg);
  } catch {
    // never let the error ring break logging
  }
}

/** Loggers that write nothing: for tests that do not read logs. */
export function silentLoggers(): Loggers {
  return createLoggers({ level: 'silent', destination: { write: () => {} } });
}
