/**
 * The public handler API, published as `msgbot-gateway/handlers`:
 *
 * ```ts
 * import { defineBot } from 'msgbot-gateway/handlers';
 * export default defineBot({ commands: [{ prefix: '# hello', run: (ctx) => ctx.reply('hi') }] });
 * ```
 */
export type {
  BotModule,
  ChatMessage,
  CommandDef,
  CommandInfo,
  ConnectionInfo,
  GatewayServices,
  HandlerContext,
  Logger,
  ParamDecl,
  ParamValues,
  Reply,
  ReplyOptions,
} from './api.js';
export { defineBot } from './api.js';
