import { allowedText, CONFIG_LEAVES, type ConfigLeaf } from './keys.js';

/**
 * Turning text (an env var, or a CLI flag commander left as a string) into the leaf's type.
 * Range and pattern checks are left to the zod schema, so there is one rule per key.
 */

export type Coerced = { ok: true; value: unknown } | { ok: false; expected: string };

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export function coerceText(leaf: ConfigLeaf, raw: string): Coerced {
  switch (leaf.type.kind) {
    case 'integer': {
      const text = raw.trim();
      // Number('') is 0 and Number('1e3') is 1000: accept only plain decimal integers.
      if (!/^[+-]?\d+$/.test(text)) return { ok: false, expected: allowedText(leaf.type) };
      return { ok: true, value: Number(text) };
    }
    case 'number': {
      const text = raw.trim();
      const value = Number(text);
      if (text === '' || !Number.isFinite(value)) return { ok: false, expected: allowedText(leaf.type) };
      return { ok: true, value };
    }
    case 'boolean': {
      const text = raw.trim().toLowerCase();
      if (TRUE.has(text)) return { ok: true, value: true };
      if (FALSE.has(text)) return { ok: true, value: false };
      return { ok: false, expected: 'true/false, 1/0, yes/no or on/off' };
    }
    case 'enum':
      return { ok: true, value: raw.trim() };
    case 'string':
      return { ok: true, value: raw };
    case 'json':
      try {
        return { ok: true, value: JSON.parse(raw) as unknown };
      } catch {
        return { ok: false, expected: allowedText(leaf.type) };
      }
  }
}

/** `MSGBOT_*` variables that name no key (most likely typos), for a start-up warning. */
export function unknownEnvVars(env: NodeJS.ProcessEnv, ignore: readonly string[] = []): string[] {
  const known = new Set([...CONFIG_LEAVES.map((l) => l.env), ...ignore]);
  return Object.keys(env)
    .filter((name) => name.startsWith('MSGBOT_') && !known.has(name))
    .sort();
}
