import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configEnvVars } from '../../src/infra/config/load.js';
import {
  extractReferenceSection,
  REFERENCE_END,
  REFERENCE_START,
  referenceIsCurrent,
  renderConfigReference,
  replaceReferenceSection,
} from '../../src/infra/config/reference.js';

const readmePath = new URL('../../README.md', import.meta.url);
const readme = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '';
const hasMarkers = extractReferenceSection(readme) !== undefined;

describe('configuration reference', () => {
  it('has one row per key, with env var and default', () => {
    const table = renderConfigReference();
    const rows = table.trim().split('\n');
    expect(rows).toHaveLength(configEnvVars().length + 2);
    expect(table).toContain('| `port` | `MSGBOT_PORT` | `1485` | TCP listen port for the phones; an integer 0–65535 |');
    expect(table).toContain('| `hmac.secret` | `MSGBOT_HMAC_SECRET` | — |');
    // every row has exactly four cells (escaped pipes do not split cells)
    for (const row of rows) expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(6);
  });

  it('rewrites only the section between the markers', () => {
    const before = `# Title\n\nintro\n\n${REFERENCE_START}\nstale table\n${REFERENCE_END}\n\n## Next\n`;
    const after = replaceReferenceSection(before);
    expect(after.startsWith('# Title\n\nintro\n\n')).toBe(true);
    expect(after.endsWith(`${REFERENCE_END}\n\n## Next\n`)).toBe(true);
    expect(after).not.toContain('stale table');
    expect(referenceIsCurrent(before)).toBe(false);
    expect(referenceIsCurrent(after)).toBe(true);
    expect(replaceReferenceSection(after)).toBe(after);
    expect(() => replaceReferenceSection('# no markers\n')).toThrow(/markers/);
  });

  it.skipIf(!hasMarkers)(
    'README.md holds exactly the generated table (run scripts/config-reference.ts --write)',
    () => {
      expect(extractReferenceSection(readme)?.trim()).toBe(renderConfigReference().trim());
    },
  );
});
