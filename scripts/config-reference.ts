/**
 * Prints the README configuration reference generated from the zod schema.
 *
 *   npx tsx scripts/config-reference.ts            print the Markdown table
 *   npx tsx scripts/config-reference.ts --write    rewrite it in README.md between the markers
 *   npx tsx scripts/config-reference.ts --check    exit 1 when README.md is out of date
 *
 * `--readme <path>` picks another file (default: README.md beside package.json).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  REFERENCE_END,
  REFERENCE_START,
  referenceIsCurrent,
  renderConfigReference,
  replaceReferenceSection,
} from '../src/infra/config/reference.js';

const args = process.argv.slice(2);
const readmeIndex = args.indexOf('--readme');
const readmePath =
  readmeIndex >= 0 && args[readmeIndex + 1]
    ? resolve(args[readmeIndex + 1]!)
    : resolve(dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
const table = renderConfigReference();

if (args.includes('--write')) {
  const readme = readFileSync(readmePath, 'utf8');
  if (!readme.includes(REFERENCE_START) || !readme.includes(REFERENCE_END)) {
    process.stderr.write(`${readmePath} has no ${REFERENCE_START} / ${REFERENCE_END} markers; add them first\n`);
    process.exit(1);
  }
  const next = replaceReferenceSection(readme, table);
  if (next !== readme) writeFileSync(readmePath, next);
  process.stdout.write(`${readmePath}: configuration reference ${next === readme ? 'already current' : 'rewritten'}\n`);
} else if (args.includes('--check')) {
  const readme = readFileSync(readmePath, 'utf8');
  if (!referenceIsCurrent(readme, table)) {
    process.stderr.write(`${readmePath}: configuration reference is out of date; run with --write\n`);
    process.exit(1);
  }
} else {
  process.stdout.write(table);
}
