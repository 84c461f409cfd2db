import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/infra/config/load.js';

const ROOT = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Section numbers of the headings of a markdown file: `### 7.9 Command syntax` → 7.9, `## 8. Data` → 8. */
function headingNumbers(file: string): Set<string> {
  const numbers = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s/.exec(line);
    if (m) numbers.add(m[1]!);
  }
  return numbers;
}

function citations(pattern: RegExp): Map<string, string[]> {
  const cited = new Map<string, string[]>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(pattern)) {
      const list = cited.get(m[1]!) ?? [];
      list.push(file.slice(ROOT.length + 1));
      cited.set(m[1]!, list);
    }
  }
  return cited;
}

describe('the documents the code cites are in the repo', () => {
  it('every PROTOCOL §x.y cited in src/ is a heading of docs/PROTOCOL.md', () => {
    const headings = headingNumbers(join(ROOT, 'docs', 'PROTOCOL.md'));
    const cited = citations(/PROTOCOL(?:\.md)? §(\d+(?:\.\d+)*)/g);
    expect(cited.size).toBeGreaterThan(20);
    const missing = [...cited].filter(([n]) => !headings.has(n)).map(([n, files]) => `§${n} (${files.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('every DESIGN.md §n cited in src/ is a heading of docs/DESIGN.md', () => {
    const headings = headingNumbers(join(ROOT, 'docs', 'DESIGN.md'));
    const cited = citations(/DESIGN(?:\.md)? §(\d+(?:\.\d+)*)/g);
    expect(cited.size).toBeGreaterThan(0);
    const missing = [...cited].filter(([n]) => !headings.has(n)).map(([n, files]) => `§${n} (${files.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('docs/PROTOCOL.md says it is the contract as implemented', () => {
    const text = readFileSync(join(ROOT, 'docs', 'PROTOCOL.md'), 'utf8');
    expect(text.slice(0, 600)).toMatch(/contract as implemented/);
  });

  it('no comment in src/ cites an issue number instead of a section', () => {
    const offenders = sourceFiles(join(ROOT, 'src')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${file.slice(ROOT.length + 1)}:${i + 1}` }))
        .filter(({ line }) => /\bissue \d+/i.test(line))
        .map(({ at }) => at),
    );
    expect(offenders).toEqual([]);
  });

  it('the sample config the systemd unit names exists and passes the config schema', () => {
    const unit = readFileSync(join(ROOT, 'deploy', 'msgbot-gateway.service'), 'utf8');
    expect(unit).toContain('deploy/msgbot.config.example.json');
    const file = join(ROOT, 'deploy', 'msgbot.config.example.json');
    const config = loadConfig({ file, env: {} });
    expect(config.port).toBe(1485);
    expect(config.admin.host).toBe('127.0.0.1');
  });
});
