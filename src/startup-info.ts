/**
 * What the daemon says about itself at start: version, store, handlers and their commands, where
 * phones connect and where the admin endpoint is — so an operator reading the first lines of the
 * log knows what is running and how to reach it.
 */
import { resolve } from 'node:path';
import { machineAddresses } from './gateway/listening.js';
import type { BotModule } from './handlers/api.js';
import { enabledBuiltins } from './handlers/router.js';
import type { Config } from './infra/config/schema.js';
import { maskUrlPassword } from './infra/config/secrets.js';
import { packageVersion } from './version.js';

/** The store as the operator knows it: the SQLite file's absolute path, or the MySQL URL without its password. */
export function describeStore(url: string): { kind: 'sqlite'; path: string } | { kind: 'mysql'; url: string } {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    return { kind: 'sqlite', path: file === ':memory:' ? file : resolve(file) };
  }
  return { kind: 'mysql', url: maskUrlPassword(url) };
}

export function startingFields(url: string): Record<string, unknown> {
  return { version: packageVersion(), node: process.version, pid: process.pid, store: describeStore(url) };
}

export function handlersFields(file: string, bot: BotModule): Record<string, unknown> {
  return {
    handlers: resolve(file),
    commands: (bot.commands ?? []).map((c) => c.prefix),
    catchAll: bot.onMessage !== undefined,
  };
}

export function startedFields(opts: {
  config: Config;
  url: string;
  bots: readonly BotModule[];
  port: number;
  tlsPort: number | undefined;
  adminPort: number | undefined;
}): Record<string, unknown> {
  const { config } = opts;
  const addresses = machineAddresses(config.host);
  const tlsBeside = opts.tlsPort !== undefined && opts.tlsPort !== opts.port;
  return {
    version: packageVersion(),
    store: describeStore(opts.url),
    handlers: config.handlers === undefined ? null : resolve(config.handlers),
    commands: opts.bots.flatMap((b) => (b.commands ?? []).map((c) => c.prefix)),
    builtins: enabledBuiltins(config.builtins).map((b) => b.def.prefix),
    phones: addresses.map((a) => `${a}:${opts.port}`),
    ...(tlsBeside ? { phonesTls: addresses.map((a) => `${a}:${opts.tlsPort}`) } : {}),
    tls: opts.tlsPort === undefined ? 'off' : tlsBeside ? 'beside' : 'only',
    admin: opts.adminPort === undefined ? 'off' : `http://${config.admin.host}:${opts.adminPort}`,
  };
}
