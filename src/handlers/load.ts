/**
 * Loads an operator's handler module (`serve --handlers ./my-bot.mjs`) and checks its shape,
 * so a mistake is reported at start-up with the file's name instead of at the first message.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { BotModule, HandlerContext } from './api.js';
import { importTypeScript, isTypeScript } from './typescript.js';

type AnyFunction = (...args: never[]) => unknown;

const fn = z.custom<AnyFunction>((v) => typeof v === 'function', { message: 'must be a function' });

const paramSchema = z
  .object({
    type: z.enum(['string', 'int']),
    default: z.union([z.string(), z.number()]).optional(),
  })
  .strict()
  .refine(
    (p) => p.default === undefined || (p.type === 'int' ? Number.isInteger(p.default) : typeof p.default === 'string'),
    {
      message: 'default does not match the type (int needs an integer, string a string)',
    },
  );

const commandSchema = z.object({
  prefix: z.string().min(1, 'prefix must not be empty'),
  params: z
    .record(
      z.string().regex(/^[A-Za-z0-9-]+$/, 'parameter names are ASCII letters, digits and "-" (PROTOCOL §7.9)'),
      paramSchema,
    )
    .optional(),
  promptRequired: z.boolean().optional(),
  adminOnly: z.boolean().optional(),
  run: fn,
});

const botModuleSchema = z
  .object({
    commands: z.array(commandSchema).optional(),
    onMessage: fn.optional(),
  })
  .refine((m) => (m.commands?.length ?? 0) > 0 || m.onMessage !== undefined, {
    message: 'a bot module needs at least one command or an onMessage handler',
  });

export class HandlerModuleError extends Error {
  override name = 'HandlerModuleError';
}

export interface LoadOptions {
  /** import a fresh copy (handler reload): the module is evaluated again, not taken from the cache */
  fresh?: boolean;
}

let generation = 0;

/**
 * Imports `path` (relative paths resolve against the working directory) and returns its bot
 * module. Accepted default exports: `defineBot({...})` / a plain `{ commands, onMessage }`
 * object, or a function, taken as the catch-all `onMessage`. A `.ts` module loads natively when
 * the gateway runs under tsx, and otherwise through tsx's `tsImport` when the `tsx` package can be
 * found (next to the handler module or the gateway; see handlers/typescript.ts).
 */
export async function loadHandlerModule(path: string, opts: LoadOptions = {}): Promise<BotModule> {
  const file = isAbsolute(path) ? path : resolve(path);
  const url = pathToFileURL(file).href + (opts.fresh === true ? `?reload=${++generation}` : '');
  let ns: Record<string, unknown>;
  try {
    ns = await importModule(file, url);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new HandlerModuleError(`handler module ${file}: cannot be loaded: ${why}`, { cause: err });
  }
  const exported = unwrapCommonJs(ns.default);
  if (exported === undefined) {
    throw new HandlerModuleError(
      `handler module ${file}: has no default export; write \`export default { commands: [...], onMessage(ctx) {...} }\``,
    );
  }
  if (typeof exported === 'function') {
    const onMessage = exported as (ctx: HandlerContext) => Promise<void> | void;
    return { onMessage: (ctx) => onMessage(ctx) };
  }
  const parsed = botModuleSchema.safeParse(exported);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(default export)'}: ${i.message}`)
      .join('; ');
    throw new HandlerModuleError(`handler module ${file}: invalid bot module: ${issues}`);
  }
  // The schema checked the shape; keep the operator's own object (its methods may use `this`).
  return exported as BotModule;
}

async function importModule(file: string, url: string): Promise<Record<string, unknown>> {
  if (!isTypeScript(file)) return (await import(url)) as Record<string, unknown>;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    // plain Node (the compiled daemon) does not know .ts: hand it to tsx if it is installed
    if ((err as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
    return importTypeScript(file);
  }
}

/**
 * A module compiled or loaded as CommonJS (a `.ts` file outside a `"type": "module"` package,
 * `tsc --module commonjs`) arrives as `{ default: { default: bot } }`: take the inner bot.
 */
function unwrapCommonJs(exported: unknown): unknown {
  if (exported === null || typeof exported !== 'object') return exported;
  const o = exported as Record<string, unknown>;
  if ('default' in o && !('commands' in o) && !('onMessage' in o)) return o.default;
  return exported;
}
