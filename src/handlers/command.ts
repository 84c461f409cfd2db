/**
 * Command-line parsing and parameter validation, exactly as the reference server does it
 * (PROTOCOL §7.9). Pure: no I/O, no clock.
 */

export interface ParsedCommandLine {
  /** the prefix that matched at index 0 */
  prefix: string;
  /** everything after the prefix, trimmed at both ends */
  argText: string;
  /** argText without any `--name=value` token, trimmed at both ends (inner spacing kept) */
  prompt: string;
  /** every `--name=value` token, declared or not; a repeated name keeps its last value */
  params: Map<string, string>;
}

export type ParamType = 'string' | 'int';

export interface ParamDecl {
  type: ParamType;
  default?: string | number;
}

export type ParamDecls = Readonly<Record<string, ParamDecl>>;

export type ParamValues = Record<string, string | number>;

export type ParamValidation = { ok: true; values: ParamValues } | { ok: false; error: string };

// PROTOCOL §7.9: name = ASCII letters, digits and '-'; value = a run of non-whitespace.
// No word boundary: the reference finds the tokens anywhere in the argument text.
const PARAM_TOKEN = /--([A-Za-z0-9-]+)=(\S+)/g;

// Python's int() accepts a sign and '_' between digits; the reference parses with it.
const INT_TEXT = /^[+-]?\d+(?:_\d+)*$/;

const WORD_END = /[\p{L}\p{N}_]$/u;
const WORD_START = /^[\p{L}\p{N}_]/u;

/**
 * PROTOCOL §7.9: a text is a command only if it starts exactly (case-sensitive, no leading
 * whitespace) with the prefix. Unlike the reference's pure prefix test, the prefix must end on a
 * word boundary (docs/decisions.md "Command prefixes"): `# echoes` and `# echo2` are not `# echo`,
 * `# echo hi` and `# echo` are.
 */
export function prefixMatches(prefix: string, text: string): boolean {
  if (prefix.length === 0 || !text.startsWith(prefix)) return false;
  if (text.length === prefix.length) return true;
  return !(WORD_END.test(prefix) && WORD_START.test(text.slice(prefix.length, prefix.length + 2)));
}

/** The first of `prefixes`, in the order given, that `text` starts with (see prefixMatches). */
export function parseCommandLine(text: string, prefixes: readonly string[]): ParsedCommandLine | undefined {
  for (const prefix of prefixes) {
    if (prefixMatches(prefix, text)) return parseArguments(prefix, text.slice(prefix.length));
  }
  return undefined;
}

/** Splits what follows a matched prefix into prompt and parameters (PROTOCOL §7.9). */
export function parseArguments(prefix: string, rest: string): ParsedCommandLine {
  const argText = rest.trim();
  const params = new Map<string, string>();
  // Fast path: most commands carry no parameter at all.
  if (!argText.includes('--')) return { prefix, argText, prompt: argText, params };
  const prompt = argText
    .replace(PARAM_TOKEN, (_token, name: string, value: string) => {
      params.set(name, value);
      return '';
    })
    .trim();
  return { prefix, argText, prompt, params };
}

/** The exact reply of §7.9 for a declared int parameter whose value does not parse. */
export function paramErrorReply(name: string, value: string): string {
  return `❌ 파라미터 오류: 파라미터 '${name}'의 값이 올바른 int 형식이 아닙니다: ${value}`;
}

/** The exact reply of §7.9 for a command that needs a prompt and got none. */
export function usageReply(prefix: string): string {
  return `사용법: ${prefix} {내용}`;
}

/** Parses like Python's int(): optional sign, ASCII digits, '_' between digit groups. */
export function parseIntParam(value: string): number | undefined {
  if (!INT_TEXT.test(value)) return undefined;
  return Number(value.replaceAll('_', ''));
}

/**
 * PROTOCOL §7.9: validates `params` against the command's declared parameters. Undeclared names
 * are ignored, defaults are applied, the first declared int that does not parse (in declaration
 * order) yields the exact error reply.
 */
export function validateParams(params: ReadonlyMap<string, string>, decls: ParamDecls | undefined): ParamValidation {
  const values: ParamValues = {};
  if (decls === undefined) return { ok: true, values };
  for (const [name, decl] of Object.entries(decls)) {
    const raw = params.get(name);
    if (raw === undefined) {
      if (decl.default !== undefined) values[name] = decl.default;
      continue;
    }
    if (decl.type === 'int') {
      const n = parseIntParam(raw);
      if (n === undefined) return { ok: false, error: paramErrorReply(name, raw) };
      values[name] = n;
    } else {
      values[name] = raw;
    }
  }
  return { ok: true, values };
}
