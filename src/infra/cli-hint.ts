import { resolve } from 'node:path';
import type { Config } from './config/schema.js';
import { maskUrlPassword } from './config/secrets.js';

/**
 * The `msgbot-gateway …` prefix of the commands the daemon's log tells an operator to run
 * (approve a device, a room): with the store options the daemon was started with, so the
 * command acts on the daemon's store from any folder, not on `./data` of wherever it is run.
 */

/** The global flags `serve` was started with (before defaults, env and file were merged). */
export interface CliOrigin {
  config?: string;
  data?: string;
  db?: string;
}

export function shellQuote(s: string): string {
  return /^[\w./:@,+=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function hasPassword(url: string): boolean {
  return maskUrlPassword(url) !== url;
}

/**
 * `msgbot-gateway [--config F] [--data D | --db URL]`. A MySQL URL with a password is printed
 * only when no config file carries it; then masked, and `needsPassword` is true.
 */
export function cliPrefix(
  config: Config,
  origin: CliOrigin = {},
  env: NodeJS.ProcessEnv = process.env,
): { prefix: string; needsPassword: boolean } {
  const parts = ['msgbot-gateway'];
  let needsPassword = false;
  if (origin.config !== undefined) parts.push('--config', shellQuote(resolve(origin.config)));
  const url = config.db.url;
  if (url === undefined) {
    parts.push('--data', shellQuote(resolve(config.dataDir)));
  } else if (url.startsWith('sqlite:')) {
    parts.push('--db', shellQuote(`sqlite:${resolve(url.slice('sqlite:'.length))}`));
  } else {
    // the file has it when neither --db nor MSGBOT_DB_URL overrode it
    const fromFile = origin.config !== undefined && origin.db === undefined && env.MSGBOT_DB_URL === undefined;
    if (!fromFile) {
      needsPassword = hasPassword(url);
      parts.push('--db', shellQuote(maskUrlPassword(url)));
    }
  }
  return { prefix: parts.join(' '), needsPassword };
}

/** `sqlite:<absolute path>` or the MySQL URL with its password masked (what the CLI and log show). */
export function describeStore(url: string): string {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    return file === ':memory:' || file.startsWith('file:') ? url : `sqlite:${resolve(file)}`;
  }
  return maskUrlPassword(url);
}
