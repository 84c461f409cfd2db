/**
 * The gateway's router from its config: the operator modules, the built-ins config `builtins`
 * leaves on, and a warning for every built-in an operator command replaces (PROTOCOL §7.9–§7.10).
 */
import type { Config } from '../infra/config/schema.js';
import type { Logger } from '../infra/logger.js';
import type { BotModule } from './api.js';
import { createRouter, type Router } from './router.js';

export function routerFor(
  modules: readonly BotModule[],
  config: Pick<Config, 'builtins' | 'processing' | 'admins'>,
  log: Logger,
): Router {
  const admins = config.admins;
  return createRouter(modules, {
    // PROTOCOL §7.9 [REC]: admin-only commands are enforced, by the sender's user hash per bot
    isAdmin: (m) => m.userHash !== null && (admins[m.botName]?.includes(m.userHash) ?? false),
    builtins: config.builtins,
    errorReplies: config.processing.errorReplies,
    onShadow: ({ prefix, builtin }) =>
      log.warn(
        { prefix, builtin, key: `builtins.${builtin}` },
        'an operator command has the prefix of a built-in: the operator command answers, the built-in is off',
      ),
  });
}

/** `prefix` of every command a router answers, operator commands first (for the start-up log). */
export function commandPrefixes(modules: readonly BotModule[]): string[] {
  return modules.flatMap((m) => (m.commands ?? []).map((c) => c.prefix));
}
