import { CONFIG_LEAVES } from './keys.js';
import type { Config } from './schema.js';

export const MASK = '***';

/**
 * `mysql://user:pass@host/db` → `mysql://user:***@host/db`. The password runs to the last `@`,
 * so an unescaped `@` in it masks too much rather than too little.
 */
export function maskUrlPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)(.*)@/i, `$1${MASK}@`);
}

/** How a value of a secret key may be shown (in `config print` and in error messages). */
export function maskSecretValue(path: string, value: unknown): unknown {
  if (value === undefined) return value;
  if (path === 'db.url') return typeof value === 'string' ? maskUrlPassword(value) : value;
  return MASK;
}

/** The effective config for `config print`: secrets replaced by `***`, db.url keeps all but its password. */
export function printableConfig(c: Config): object {
  const copy = structuredClone(c) as unknown as Record<string, unknown>;
  for (const leaf of CONFIG_LEAVES) {
    if (!leaf.secret) continue;
    const parents = leaf.segments.slice(0, -1);
    const last = leaf.segments[leaf.segments.length - 1]!;
    let holder: Record<string, unknown> | undefined = copy;
    for (const s of parents) {
      const next: unknown = holder?.[s];
      holder = next !== null && typeof next === 'object' ? (next as Record<string, unknown>) : undefined;
    }
    if (holder && holder[last] !== undefined) holder[last] = maskSecretValue(leaf.path, holder[last]);
  }
  return copy;
}
