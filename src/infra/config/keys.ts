import { z } from 'zod';
import { configSchema, defaultConfig } from './schema.js';

/**
 * The leaves of the config schema, found by walking the zod schema itself, so a key added to
 * schema.ts gets its env var, its coercion, its README row and its `config print` line without
 * anyone touching this file.
 */

/** What a leaf accepts, read from the zod checks. */
export type LeafType =
  | { kind: 'integer'; min?: number; max?: number }
  | { kind: 'number'; min?: number; max?: number }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'string'; minLength?: number; pattern?: RegExp }
  /** a record with free keys (admins): one leaf whose text form is JSON */
  | { kind: 'json' };

export interface ConfigLeaf {
  /** path segments, e.g. ['limits', 'maxLineBytes'] */
  segments: readonly string[];
  /** dotted path, e.g. 'limits.maxLineBytes' */
  path: string;
  /** `MSGBOT_` + the path in upper snake case */
  env: string;
  type: LeafType;
  /** the default after parsing (undefined: unset unless configured) */
  default: unknown;
  description: string;
  /** whether the value (or, for db.url, its password) is masked when shown */
  secret: boolean;
}

/** Keys whose value must never be printed; db.url only has its password masked. */
const SECRET_PATHS = new Set(['hmac.secret', 'hmac.salt', 'admin.token', 'db.url']);

/** `rooms.autoApprove` → `MSGBOT_ROOMS_AUTO_APPROVE`. */
export function envNameOf(segments: readonly string[]): string {
  return `MSGBOT_${segments.map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

/** Strips default/optional wrappers, keeping the outermost description (zod 4 keeps it on the wrapper). */
function unwrap(schema: z.ZodType): { inner: z.ZodType; description: string | undefined } {
  let inner = schema;
  let description = schema.description;
  for (;;) {
    if (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) {
      inner = inner.unwrap() as z.ZodType;
      description ??= inner.description;
    } else {
      return { inner, description };
    }
  }
}

function numberType(schema: z.ZodNumber): LeafType {
  type Bound = { value: number; inclusive: boolean };
  let integer = false;
  let lower: Bound | undefined;
  let upper: Bound | undefined;
  for (const check of schema._zod.def.checks ?? []) {
    const def = check._zod.def as z.core.$ZodCheckDef & { value?: unknown; inclusive?: boolean; format?: string };
    if (def.check === 'number_format' && (def.format === 'safeint' || def.format === 'int32')) integer = true;
    if (typeof def.value !== 'number') continue;
    if (def.check === 'greater_than') lower = { value: def.value, inclusive: def.inclusive !== false };
    if (def.check === 'less_than') upper = { value: def.value, inclusive: def.inclusive !== false };
  }
  // For integers an exclusive bound becomes an inclusive one (positive() → min 1): it reads better.
  const type: { kind: 'integer' | 'number'; min?: number; max?: number } = { kind: integer ? 'integer' : 'number' };
  if (lower) type.min = lower.inclusive || !integer ? lower.value : lower.value + 1;
  if (upper) type.max = upper.inclusive || !integer ? upper.value : upper.value - 1;
  return type;
}

function stringType(schema: z.ZodString): LeafType {
  const type: { kind: 'string'; minLength?: number; pattern?: RegExp } = { kind: 'string' };
  for (const check of schema._zod.def.checks ?? []) {
    const def = check._zod.def as z.core.$ZodCheckDef & { minimum?: number; pattern?: RegExp };
    if (def.check === 'min_length' && typeof def.minimum === 'number') type.minLength = def.minimum;
    if (def.check === 'string_format' && def.pattern instanceof RegExp) type.pattern = def.pattern;
  }
  return type;
}

function leafType(schema: z.ZodType, path: string): LeafType {
  if (schema instanceof z.ZodNumber) return numberType(schema);
  if (schema instanceof z.ZodBoolean) return { kind: 'boolean' };
  if (schema instanceof z.ZodEnum) return { kind: 'enum', values: schema.options.map(String) };
  if (schema instanceof z.ZodString) return stringType(schema);
  // A new kind of leaf must be taught here (coercion and messages depend on it).
  throw new Error(`config key ${path}: unsupported schema type ${schema._zod.def.type}`);
}

function getPath(obj: unknown, segments: readonly string[]): unknown {
  let cur = obj;
  for (const s of segments) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur;
}

function walk(schema: z.ZodType, segments: string[], defaults: unknown, out: ConfigLeaf[]): void {
  const { inner, description } = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
      walk(child, [...segments, key], defaults, out);
    }
    return;
  }
  if (inner instanceof z.ZodRecord) {
    // A record with enum keys (log.categories) becomes one leaf per key: MSGBOT_LOG_CATEGORIES_CLIENT.
    const keyType = inner._zod.def.keyType as z.ZodType;
    if (!(keyType instanceof z.ZodEnum)) {
      // Free keys (admins): the whole record is one leaf, given as JSON in env vars and flags.
      const path = segments.join('.');
      out.push({
        segments,
        path,
        env: envNameOf(segments),
        type: { kind: 'json' },
        default: getPath(defaults, segments),
        description: description ?? '',
        secret: SECRET_PATHS.has(path),
      });
      return;
    }
    const valueSchema = inner._zod.def.valueType as z.ZodType;
    for (const key of keyType.options.map(String)) {
      const leafSegments = [...segments, key];
      const path = leafSegments.join('.');
      out.push({
        segments: leafSegments,
        path,
        env: envNameOf(leafSegments),
        type: leafType(unwrap(valueSchema).inner, path),
        default: getPath(defaults, leafSegments),
        description: `${description ?? ''}: ${key}`.replace(/^: /, ''),
        secret: SECRET_PATHS.has(path),
      });
    }
    return;
  }
  const path = segments.join('.');
  out.push({
    segments,
    path,
    env: envNameOf(segments),
    type: leafType(inner, path),
    default: getPath(defaults, segments),
    description: description ?? '',
    secret: SECRET_PATHS.has(path),
  });
}

function collectLeaves(): readonly ConfigLeaf[] {
  const out: ConfigLeaf[] = [];
  walk(configSchema, [], defaultConfig(), out);
  const seen = new Map<string, string>();
  for (const leaf of out) {
    const other = seen.get(leaf.env);
    // Two paths with one env name would make one of them unreachable: fail loudly at start-up.
    if (other) throw new Error(`config keys ${other} and ${leaf.path} both map to ${leaf.env}`);
    seen.set(leaf.env, leaf.path);
  }
  return out;
}

/** Every leaf of the schema, in schema order. */
export const CONFIG_LEAVES: readonly ConfigLeaf[] = collectLeaves();

const byPath = new Map(CONFIG_LEAVES.map((l) => [l.path, l]));

export function leafByPath(path: string): ConfigLeaf | undefined {
  return byPath.get(path);
}

/** Human text of what a leaf accepts, e.g. `an integer 0–65535`. */
export function allowedText(type: LeafType): string {
  switch (type.kind) {
    case 'integer':
    case 'number': {
      const noun = type.kind === 'integer' ? 'an integer' : 'a number';
      if (type.min !== undefined && type.max !== undefined) return `${noun} ${type.min}–${type.max}`;
      if (type.min !== undefined) return `${noun} ≥ ${type.min}`;
      if (type.max !== undefined) return `${noun} ≤ ${type.max}`;
      return noun;
    }
    case 'boolean':
      return 'true or false';
    case 'json':
      return 'a JSON object';
    case 'enum':
      return `one of ${type.values.join(', ')}`;
    case 'string':
      if (type.pattern) return `a string matching ${type.pattern}`;
      return type.minLength ? 'a non-empty string' : 'a string';
  }
}
