/**
 * Reloading the operator's handler module at run time (SIGHUP, `PUT /handlers/reload`): the new
 * module is imported fresh and checked first; only when it loads are the gateway's commands
 * swapped, so a broken edit keeps the old module serving. Connections are untouched; messages
 * already routed finish with the module they started with.
 */
import type { Logger } from '../infra/logger.js';
import type { BotModule } from './api.js';
import { loadHandlerModule } from './load.js';
import { commandPrefixes } from './setup.js';

export type HandlerReloadResult =
  | { ok: true; file: string; commands: string[]; catchAll: boolean }
  | { ok: false; file: string | undefined; error: string };

export interface HandlerReloaderOptions {
  /** config `handlers`; undefined: nothing to reload */
  file: string | undefined;
  /** installs the new modules (Gateway.setBots) */
  install(bots: BotModule[]): void;
  log: Logger;
}

export function createHandlerReloader(opts: HandlerReloaderOptions): () => Promise<HandlerReloadResult> {
  let running: Promise<HandlerReloadResult> | undefined;
  const reload = async (): Promise<HandlerReloadResult> => {
    const { file, log } = opts;
    if (file === undefined) {
      const error = 'no handler module configured (handlers / --handlers)';
      log.debug(error);
      return { ok: false, file, error };
    }
    let bot: BotModule;
    try {
      bot = await loadHandlerModule(file, { fresh: true });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log.error({ err, handlers: file }, 'handler reload failed; the previous module keeps serving');
      return { ok: false, file, error };
    }
    opts.install([bot]);
    const commands = commandPrefixes([bot]);
    const catchAll = bot.onMessage !== undefined;
    log.info({ handlers: file, commands, catchAll }, 'handlers reloaded');
    return { ok: true, file, commands, catchAll };
  };
  // one reload at a time; a request during a reload gets that reload's result
  return () => {
    running ??= reload().finally(() => {
      running = undefined;
    });
    return running;
  };
}
