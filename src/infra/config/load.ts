import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { coerceText } from './env.js';
import { allowedText, CONFIG_LEAVES, type ConfigLeaf, leafByPath } from './keys.js';
import { type Config, configSchema } from './schema.js';
import { maskSecretValue } from './secrets.js';

export { ConfigError } from './config-error.js';
export { unknownEnvVars } from './env.js';
export { printableConfig } from './secrets.js';

export interface LoadConfigOptions {
  /** already-typed CLI values keyed by config path, e.g. `{ port: 1500, 'admin.port': 0 }`; undefined = not given */
  flags?: Record<string, unknown>;
  /** usually process.env; only `MSGBOT_*` names are read */
  env?: NodeJS.ProcessEnv;
  /** path of a JSON config file */
  file?: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function setPath(target: Json, segments: readonly string[], value: unknown): void {
  let cur = target;
  for (const s of segments.slice(0, -1)) {
    const next = cur[s];
    if (isObject(next)) {
      cur = next;
    } else {
      // A scalar where an object belongs (a bad file value) is replaced; the env/flag value wins anyway.
      const fresh: Json = {};
      cur[s] = fresh;
      cur = fresh;
    }
  }
  cur[segments[segments.length - 1]!] = value;
}

function getPath(obj: unknown, segments: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const s of segments) {
    if (!isObject(cur)) return undefined;
    cur = cur[s as string];
  }
  return cur;
}

/** The schema node at a path, unwrapped, or undefined if the path names nothing. */
function schemaAt(segments: readonly string[]): z.ZodType | undefined {
  let cur: z.ZodType = configSchema;
  for (const s of segments) {
    while (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional) cur = cur.unwrap() as z.ZodType;
    if (cur instanceof z.ZodObject) {
      const next = (cur.shape as Record<string, z.ZodType>)[s];
      if (!next) return undefined;
      cur = next;
    } else if (cur instanceof z.ZodRecord) {
      const keys = cur._zod.def.keyType as z.ZodType;
      if (keys instanceof z.ZodEnum && !keys.options.map(String).includes(s)) return undefined;
      cur = cur._zod.def.valueType as z.ZodType;
    } else {
      return undefined;
    }
  }
  return cur;
}

function knownKeysAt(segments: readonly string[]): string[] {
  let node = schemaAt(segments);
  while (node instanceof z.ZodDefault || node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
  if (node instanceof z.ZodObject) return Object.keys(node.shape);
  if (node instanceof z.ZodRecord) {
    const keys = node._zod.def.keyType as z.ZodType;
    if (keys instanceof z.ZodEnum) return keys.options.map(String);
  }
  return [];
}

/**
 * Removes keys the schema does not know from `data` (in place) and names them, so a typo in the
 * file is reported instead of silently ignored (zod objects strip unknown keys).
 */
function dropUnknownKeys(data: Json, segments: string[], file: string, problems: string[]): void {
  const known = knownKeysAt(segments);
  if (known.length === 0) return;
  for (const key of Object.keys(data)) {
    const path = [...segments, key];
    if (!known.includes(key)) {
      delete data[key];
      problems.push(`${path.join('.')}: unknown key in ${file} (known here: ${known.join(', ')})`);
      continue;
    }
    const value = data[key];
    if (isObject(value)) dropUnknownKeys(value, path, file, problems);
  }
}

function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read config file ${file}: ${(err as Error).message}`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`config file ${file} is not valid JSON: ${(err as Error).message}`]);
  }
  if (!isObject(data)) {
    throw new ConfigError([`config file ${file} must hold a JSON object, found ${JSON.stringify(data)}`]);
  }
  return data;
}

/** Remembers which source set each value, for the messages. */
function recordOrigins(data: Json, segments: string[], label: string, origins: Map<string, string>): void {
  for (const [key, value] of Object.entries(data)) {
    const path = [...segments, key];
    if (isObject(value)) recordOrigins(value, path, label, origins);
    else origins.set(path.join('.'), label);
  }
}

function originOf(path: readonly string[], origins: Map<string, string>): string {
  for (let n = path.length; n > 0; n--) {
    const label = origins.get(path.slice(0, n).join('.'));
    if (label) return label;
  }
  return 'the defaults';
}

function showValue(path: string, value: unknown): string {
  const leaf = leafByPath(path);
  const shown = leaf?.secret ? maskSecretValue(path, value) : value;
  return typeof shown === 'string' ? JSON.stringify(shown) : (JSON.stringify(shown) ?? String(shown));
}

function problem(path: string, value: unknown, origin: string, reason: string): string {
  return `${path}: ${showValue(path, value)} from ${origin} is not allowed: ${reason}`;
}

function issueText(issue: z.core.$ZodIssue, input: Json, origins: Map<string, string>): string {
  const segments = issue.path.map(String);
  const path = segments.join('.');
  const leaf = leafByPath(path);
  const value = getPath(input, issue.path);
  // A custom pattern message (db.url: "must start with sqlite: or mysql://") says more than the pattern.
  const reason = leaf && issue.code !== 'invalid_format' ? `expected ${allowedText(leaf.type)}` : `${issue.message}`;
  return problem(path || '(config)', value, originOf(segments, origins), reason);
}

function applyText(leaf: ConfigLeaf, raw: string, origin: string, input: Json, problems: string[]): boolean {
  const coerced = coerceText(leaf, raw);
  if (!coerced.ok) {
    problems.push(problem(leaf.path, raw, origin, `expected ${coerced.expected}`));
    return false;
  }
  setPath(input, leaf.segments, coerced.value);
  return true;
}

/**
 * The effective config: flags > `MSGBOT_*` env vars > config file > defaults.
 * Throws ConfigError naming every bad key, its value, its source and what is allowed.
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const origins = new Map<string, string>();
  let input: Json = {};

  if (opts.file !== undefined) {
    input = readConfigFile(opts.file);
    dropUnknownKeys(input, [], opts.file, problems);
    recordOrigins(input, [], opts.file, origins);
  }

  const env = opts.env ?? {};
  for (const leaf of CONFIG_LEAVES) {
    const raw = env[leaf.env];
    // An empty variable (`MSGBOT_HMAC_SECRET=` in an EnvironmentFile) counts as unset.
    if (raw === undefined || raw === '') continue;
    if (applyText(leaf, raw, leaf.env, input, problems)) origins.set(leaf.path, leaf.env);
  }

  for (const [path, value] of Object.entries(opts.flags ?? {})) {
    if (value === undefined) continue;
    const leaf = leafByPath(path);
    if (!leaf) {
      problems.push(`${path}: unknown key given on the command line`);
      continue;
    }
    const origin = 'the command line';
    // Commander hands over strings unless told otherwise: coerce them like env vars.
    if (typeof value === 'string' && leaf.type.kind !== 'string') {
      if (applyText(leaf, value, origin, input, problems)) origins.set(path, origin);
      continue;
    }
    setPath(input, leaf.segments, value);
    origins.set(path, origin);
  }

  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(issueText(issue, input, origins));
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

export interface ConfigEnvVar {
  path: string;
  env: string;
  /** integer | number | boolean | enum | string */
  type: string;
  /** what the key accepts, e.g. `an integer 0–65535` */
  allowed: string;
  default: unknown;
  description: string;
  secret: boolean;
}

/** Every key with its env var, for `config print`, the README reference and the tests. */
export function configEnvVars(): ConfigEnvVar[] {
  return CONFIG_LEAVES.map((leaf) => ({
    path: leaf.path,
    env: leaf.env,
    type: leaf.type.kind,
    allowed: allowedText(leaf.type),
    default: leaf.default,
    description: leaf.description,
    secret: leaf.secret,
  }));
}
