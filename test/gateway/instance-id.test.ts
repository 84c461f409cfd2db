import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveInstanceId } from '../../src/gateway/instance-id.js';

/** docs/decisions.md "Durable sends": whose rows the send record's rows are, across restarts. */
describe('instance id', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is made once into the data folder and read back on later starts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-instance-'));
    dirs.push(dir);
    const data = join(dir, 'data');
    const id = resolveInstanceId(data);
    expect(id).toMatch(/-[0-9a-f]{12}$/);
    expect(readFileSync(join(data, 'instance-id'), 'utf8').trim()).toBe(id);
    expect(resolveInstanceId(data)).toBe(id);
    writeFileSync(join(data, 'instance-id'), 'edited-by-hand\n');
    expect(resolveInstanceId(data)).toBe('edited-by-hand');
  });
});
