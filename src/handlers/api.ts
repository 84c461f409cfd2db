/**
 * The handler API: what an operator writes bot logic against, in TypeScript or JavaScript.
 *
 * ```js
 * export default defineBot({
 *   commands: [{ prefix: '# hello', run: (ctx) => ctx.reply(`hi ${ctx.sender}`) }],
 * });
 * ```
 */
import type { ChatMessage } from '../actors/job.js';
import type { SendMedia, SendOutcome } from '../actors/send.js';
import type { Logger } from '../infra/logger.js';
import type { ParamDecl, ParamValues } from './command.js';

export type { ChatMessage, Logger, ParamDecl, ParamValues, SendMedia, SendOutcome };

/** `ctx.send`: a message to another room of the same bot (exactly one of text and media). */
export interface SendToRoom {
  channelId: string;
  text?: string;
  media?: SendMedia;
  /** absent: the phone that last served that room */
  device?: string;
}

/**
 * One reply packet (PROTOCOL §4.4): a text, or media items the phone shares into the room
 * (PROTOCOL §4.5). A text equal to `@no-reply` sends nothing.
 */
export type Reply = string | { mediaUrls: string[]; waitMs?: number } | { imagesBase64: string[]; waitMs?: number };

export interface ReplyOptions {
  /**
   * Send the elements of this call back-to-back, without the reply gap between them
   * (PROTOCOL §7.10 `# echo --repeat`). The gap before the first element still applies when
   * something was sent before.
   */
  backToBack?: boolean;
}

export interface CommandInfo {
  /** the prefix that matched */
  prefix: string;
  /** the argument text without `--name=value` tokens (PROTOCOL §7.9) */
  prompt: string;
  /** declared parameters, validated, defaults applied; undeclared ones are left out */
  params: ParamValues;
}

export interface HandlerContext {
  message: ChatMessage;
  /** = message.sender */
  sender: string;
  /** = message.room (the room title the reply is posted to) */
  room: string;
  /** set when the message matched a command */
  command?: CommandInfo;
  /**
   * Sends each element as its own `messageResponse` (PROTOCOL §4.4) through the phone's outbound
   * path, spaced by `outbound.minGapMs`; resolves once each has its outcome (delivered, or failed
   * and logged — a phone that is away is waited for up to `outbound.holdMs`). Rejects when the
   * message was abandoned (deadline, shutdown) or a media item is malformed.
   */
  reply(r: Reply | Reply[], options?: ReplyOptions): Promise<void>;
  /**
   * Sends to another room of the same bot (an API send: device and room approval are checked,
   * the room title is looked up). Resolves with the outcome; never rejects for delivery failures.
   */
  send(request: SendToRoom): Promise<SendOutcome>;
  /** aborted when the message's deadline passes or the gateway shuts down */
  signal: AbortSignal;
  /** child logger carrying the message's traceId */
  log: Logger;
  /** epoch ms on the gateway's (injectable) clock */
  now(): number;
  gateway: GatewayServices;
}

export interface CommandDef {
  /** matched at index 0 of the chat text, case-sensitive, pure prefix test (PROTOCOL §7.9) */
  prefix: string;
  params?: Record<string, ParamDecl>;
  /** an empty prompt replies `사용법: <prefix> {내용}` instead of running */
  promptRequired?: boolean;
  /**
   * Only users listed in config `admins` for the bot may run it; others get nothing and the
   * attempt is logged (PROTOCOL §7.9 [REC]: the reference declared and ignored it).
   */
  adminOnly?: boolean;
  run(ctx: HandlerContext): Promise<void> | void;
}

export interface BotModule {
  commands?: CommandDef[];
  /** called for every message that is not a command */
  onMessage?(ctx: HandlerContext): Promise<void> | void;
}

/** Identity: gives JS and TS authors the types of a bot module. */
export function defineBot(m: BotModule): BotModule {
  return m;
}

export interface ConnectionInfo {
  botName: string;
  deviceId: string;
  version: string;
  state: string;
  standing: 'full' | 'limited';
  /** epoch ms */
  connectedAt: number;
  /** last ping-reply statistics of the phone, MB (PROTOCOL §4.2) */
  monitoring?: { memoryUsage?: number; totalMemory?: number };
}

/** What the gateway lends to handlers (the built-in admin commands use it). */
export interface GatewayServices {
  connections(): ConnectionInfo[];
  /** PROTOCOL §7.10 `# reload bots-config`: re-read the standing of every live connection key */
  reloadStanding(): Promise<{ checked: number; changed: number }>;
}
