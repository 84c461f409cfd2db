/**
 * Routes one chat message to a command (PROTOCOL §7.9) or to the operators' catch-all handlers.
 * A prefix matches at index 0 and on a word boundary (`# echo2` is not `# echo`); among the
 * matching commands, built-in and operator alike, the longest prefix wins. An operator command
 * with a built-in's very prefix replaces that built-in (reported through `onShadow`); other ties
 * go by module order, then list order.
 */
import type { ChatMessage } from '../actors/job.js';
import type { BotModule, CommandDef, CommandInfo, HandlerContext } from './api.js';
import { BUILTIN_NAMES, type BuiltinName, builtinByName, errorText } from './builtin.js';
import { type ParsedCommandLine, parseArguments, prefixMatches, usageReply, validateParams } from './command.js';
import { failureFields } from './failure-fields.js';

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
  /** what the chat gets when a command throws (config processing.errorReplies; default full) */
  errorReplies?: 'full' | 'generic' | 'off';
  /** false leaves every built-in out; an object turns them off one by one (config `builtins`); default all on */
  builtins?: boolean | Partial<Record<BuiltinName, boolean>>;
  /** called once for each built-in that an operator command of the same prefix replaces */
  onShadow?(shadow: { prefix: string; builtin: BuiltinName }): void;
  /**
   * Whether the sender may run `adminOnly` commands (config `admins`). Absent: nobody may
   * (PROTOCOL §7.9 [REC]: the reference declared admin_only and ignored it).
   */
  isAdmin?(message: ChatMessage): boolean;
}

/** The enabled built-ins, in PROTOCOL §7.9 order. */
export function enabledBuiltins(setting: RouterOptions['builtins']): { name: BuiltinName; def: CommandDef }[] {
  if (setting === false) return [];
  return BUILTIN_NAMES.filter((name) => setting === undefined || setting === true || setting[name] !== false).map(
    (name) => ({ name, def: builtinByName[name] }),
  );
}

/** PROTOCOL §7.9's error reply without the error text (processing.errorReplies generic). */
export const COMMAND_ERROR_GENERIC = '명령어 처리 중 오류가 발생했습니다';

/** PROTOCOL §7.9: the reply when a command's run throws. */
export function commandErrorReply(err: unknown): string {
  return `명령어 처리 중 오류가 발생했습니다: ${errorText(err)}`;
}

export function createRouter(modules: readonly BotModule[], options: RouterOptions = {}): Router {
  const operatorDefs = modules.flatMap((m) => m.commands ?? []);
  const operatorPrefixes = new Set(operatorDefs.map((d) => d.prefix));
  const builtins = enabledBuiltins(options.builtins).filter(({ name, def }) => {
    if (!operatorPrefixes.has(def.prefix)) return true;
    options.onShadow?.({ prefix: def.prefix, builtin: name });
    return false;
  });
  // Longest first, stable (operator commands in module order, then the built-ins), so the
  // first hit is the longest matching prefix.
  const commands = [...operatorDefs, ...builtins.map((b) => b.def)]
    .map((def, order) => ({ def, order }))
    .sort((a, b) => b.def.prefix.length - a.def.prefix.length || a.order - b.order)
    .map((e) => e.def);
  const chatHandlers = modules.flatMap((m) => (m.onMessage ? [m.onMessage.bind(m)] : []));

  function match(message: ChatMessage): Route {
    const text = message.text;
    for (const def of commands) {
      if (prefixMatches(def.prefix, text)) return commandRoute(def, text);
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
      // base.log carries the trace id already
      const { traceId: _bound, ...fields } = failureFields(message, def.prefix);
      base.log.warn({ err, ...fields }, 'command failed');
      const errorReplies = options.errorReplies ?? 'full';
      if (errorReplies === 'full') await base.reply(commandErrorReply(err));
      else if (errorReplies === 'generic') await base.reply(COMMAND_ERROR_GENERIC);
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
