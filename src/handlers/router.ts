/**
 * Routes one chat message to a command (PROTOCOL §7.9) or to the operators' catch-all handlers.
 * Built-ins are tested first, in the §7.9 order and with the reference's pure prefix test;
 * among operator commands the longest matching prefix wins (ties: module order, then list order).
 */
import type { ChatMessage } from '../actors/job.js';
import type { BotModule, CommandDef, CommandInfo, HandlerContext } from './api.js';
import { builtinCommands, errorText } from './builtin.js';
import { type ParsedCommandLine, parseArguments, usageReply, validateParams } from './command.js';

/** What the runner supplies; the router adds message, sender, room and command. */
export type ContextBase = Omit<HandlerContext, 'message' | 'sender' | 'room' | 'command'>;

export type Route = { kind: 'command'; def: CommandDef; line: ParsedCommandLine } | { kind: 'chat' };

export interface Router {
  /** which command (if any) the message triggers, without running anything */
  match(message: ChatMessage): Route;
  /** runs the message through its command or the catch-all handlers */
  dispatch(message: ChatMessage, base: ContextBase): Promise<void>;
}

export interface RouterOptions {
  /** false leaves the built-in commands out (default true) */
  builtins?: boolean;
  /**
   * Whether the sender may run `adminOnly` commands (config `admins`). Absent: nobody may
   * (PROTOCOL §7.9 [REC]: the reference declared admin_only and ignored it).
   */
  isAdmin?(message: ChatMessage): boolean;
}

/** PROTOCOL §7.9: the reply when a command's run throws. */
export function commandErrorReply(err: unknown): string {
  return `명령어 처리 중 오류가 발생했습니다: ${errorText(err)}`;
}

export function createRouter(modules: readonly BotModule[], options: RouterOptions = {}): Router {
  const builtins = options.builtins === false ? [] : builtinCommands;
  // Longest first, stable, so the first startsWith hit is the longest matching prefix.
  const operator = modules
    .flatMap((m) => m.commands ?? [])
    .map((def, order) => ({ def, order }))
    .sort((a, b) => b.def.prefix.length - a.def.prefix.length || a.order - b.order)
    .map((e) => e.def);
  const chatHandlers = modules.flatMap((m) => (m.onMessage ? [m.onMessage.bind(m)] : []));

  function match(message: ChatMessage): Route {
    const text = message.text;
    for (const def of builtins) {
      if (text.startsWith(def.prefix)) return commandRoute(def, text);
    }
    for (const def of operator) {
      if (def.prefix.length > 0 && text.startsWith(def.prefix)) return commandRoute(def, text);
    }
    return { kind: 'chat' };
  }

  async function dispatch(message: ChatMessage, base: ContextBase): Promise<void> {
    const route = match(message);
    if (route.kind === 'chat') {
      // PROTOCOL §7.7 step 6: built-ins never answer ordinary chat; operator catch-alls may.
      if (chatHandlers.length === 0) return;
      const ctx = makeContext(base, message, undefined);
      for (const handler of chatHandlers) await handler(ctx);
      return;
    }
    const { def, line } = route;
    if (def.adminOnly === true && options.isAdmin?.(message) !== true) {
      // PROTOCOL §7.9 [REC]: others get nothing; the attempt is logged.
      base.log.warn(
        { command: def.prefix, botName: message.botName, userHash: message.userHash, sender: message.sender },
        'admin-only command refused',
      );
      return;
    }
    // PROTOCOL §7.9, in the order listed there: parameter validation, channel restriction, prompt.
    const checked = validateParams(line.params, def.params);
    if (!checked.ok) {
      await base.reply(checked.error);
      return;
    }
    const channel = line.params.get('channel-id');
    // A null channelId is the string "None" in the reference (PROTOCOL §7.7 step 1).
    if (channel !== undefined && channel !== (message.channelId ?? 'None')) return;
    if (def.promptRequired === true && line.prompt === '') {
      await base.reply(usageReply(def.prefix));
      return;
    }
    const ctx = makeContext(base, message, { prefix: def.prefix, prompt: line.prompt, params: checked.values });
    try {
      await def.run(ctx);
    } catch (err) {
      // An abandoned message (deadline, shutdown) answers nothing more.
      if (base.signal.aborted) throw err;
      base.log.warn({ err, command: def.prefix }, 'command failed');
      await base.reply(commandErrorReply(err));
    }
  }

  return { match, dispatch };
}

function makeContext(base: ContextBase, message: ChatMessage, command: CommandInfo | undefined): HandlerContext {
  return {
    message,
    sender: message.sender,
    room: message.room,
    command,
    reply: base.reply,
    send: base.send,
    signal: base.signal,
    now: base.now,
    gateway: base.gateway,
    // A getter, not a copy: the runner creates the child logger only when a handler logs.
    get log() {
      return base.log;
    },
  };
}

function commandRoute(def: CommandDef, text: string): Route {
  return { kind: 'command', def, line: parseArguments(def.prefix, text.slice(def.prefix.length)) };
}
