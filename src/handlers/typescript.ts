/**
 * TypeScript handler modules under the compiled daemon (plain `node dist/cli.js`): Node 20 cannot
 * import `.ts` itself, so the module goes through tsx's `tsImport` — from the `tsx` package next
 * to the handler module (`npm install tsx` in the operator's folder) or else the gateway's own.
 * Each call imports in a new tsx namespace, so a reload evaluates the module and its own `.ts`
 * imports again.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export function isTypeScript(file: string): boolean {
  return /\.(c|m)?ts$/.test(file);
}

type TsImport = (specifier: string, options: string | { parentURL: string }) => Promise<unknown>;

async function findTsImport(file: string): Promise<TsImport | undefined> {
  const candidates: string[] = [];
  try {
    // the operator's own tsx, resolved from the handler module's folder
    candidates.push(pathToFileURL(createRequire(file).resolve('tsx/esm/api')).href);
  } catch {
    // not installed there
  }
  candidates.push('tsx/esm/api');
  for (const specifier of candidates) {
    try {
      const api = (await import(specifier)) as { tsImport?: unknown };
      if (typeof api.tsImport === 'function') return api.tsImport as TsImport;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

export async function importTypeScript(file: string): Promise<Record<string, unknown>> {
  const tsImport = await findTsImport(file);
  if (tsImport === undefined) {
    throw new Error(
      'a .ts handler module needs the tsx package: run `npm install tsx` in the handler folder, ' +
        'or compile the module to .mjs (tsc), or start the gateway with `node --import tsx`',
    );
  }
  const url = pathToFileURL(file).href;
  return (await tsImport(url, { parentURL: url })) as Record<string, unknown>;
}
