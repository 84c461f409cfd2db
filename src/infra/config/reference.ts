import { configEnvVars } from './load.js';

/**
 * The README configuration reference, generated from the schema so it cannot drift
 * (scripts/config-reference.ts prints or rewrites it; a test compares it with README.md).
 */

export const REFERENCE_START = '<!-- config-reference:start -->';
export const REFERENCE_END = '<!-- config-reference:end -->';

/** A table cell: pipes would end the cell and newlines the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Plain text in a cell: `<file>` would otherwise be swallowed as an HTML tag. */
function prose(text: string): string {
  return cell(text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

function code(text: string): string {
  return `\`${cell(text)}\``;
}

function defaultCell(value: unknown): string {
  if (value === undefined) return '—';
  return code(typeof value === 'string' ? value : JSON.stringify(value));
}

/** The Markdown table: key, env var, default, description (with what is allowed where it is not obvious). */
export function renderConfigReference(): string {
  const rows = ['| Key | Env var | Default | Description |', '| --- | --- | --- | --- |'];
  for (const v of configEnvVars()) {
    const showAllowed = v.type === 'integer' || v.type === 'number' || v.type === 'enum';
    const description = showAllowed ? `${v.description}; ${v.allowed}` : v.description;
    rows.push(`| ${code(v.path)} | ${code(v.env)} | ${defaultCell(v.default)} | ${prose(description)} |`);
  }
  return `${rows.join('\n')}\n`;
}

/** The text between the markers, or undefined when the README has no (well-ordered) markers. */
export function extractReferenceSection(readme: string): string | undefined {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + REFERENCE_START.length, end);
}

/** The README with the generated table between the markers; throws when the markers are missing. */
export function replaceReferenceSection(readme: string, table: string = renderConfigReference()): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) {
    throw new Error(`README has no ${REFERENCE_START} … ${REFERENCE_END} markers`);
  }
  return `${readme.slice(0, start + REFERENCE_START.length)}\n\n${table.trimEnd()}\n\n${readme.slice(end)}`;
}

/** Whether the README section matches the schema (blank lines around the table do not count). */
export function referenceIsCurrent(readme: string, table: string = renderConfigReference()): boolean {
  const section = extractReferenceSection(readme);
  return section !== undefined && section.trim() === table.trim();
}
