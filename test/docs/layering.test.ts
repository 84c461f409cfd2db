import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** Every relative import of the .ts files directly in `dir`, resolved to a repo path (`src/…/x.ts`). */
function importsOf(dir: string): Array<{ file: string; target: string }> {
  const out: Array<{ file: string; target: string }> = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    if (!name.endsWith('.ts')) continue;
    const file = join(ROOT, dir, name);
    const text = readFileSync(file, 'utf8');
    // `import … from '…'` and `export … from '…'`, type-only ones included
    for (const m of text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)) {
      const target = resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts');
      out.push({ file: relative(ROOT, file), target: relative(ROOT, target) });
    }
  }
  return out;
}

describe('layering (DESIGN.md §2)', () => {
  it('sees the imports it checks', () => {
    expect(importsOf('src/actors').length).toBeGreaterThan(20);
    expect(importsOf('src/gateway').some((i) => i.target === 'src/gateway/gateway-options.ts')).toBe(true);
  });

  it('actors import nothing from infra, not even types', () => {
    const bad = importsOf('src/actors').filter((i) => i.target.startsWith('src/infra/'));
    expect(bad).toEqual([]);
  });

  it('no module of the gateway imports gateway.ts', () => {
    const bad = importsOf('src/gateway').filter(
      (i) => i.target === 'src/gateway/gateway.ts' && i.file !== 'src/gateway/gateway.ts',
    );
    expect(bad).toEqual([]);
  });
});
