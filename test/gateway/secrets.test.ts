import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAdminToken, resolveAdminToken, resolveKeys } from '../../src/gateway/secrets.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'msgbot-secrets-'));
  dirs.push(d);
  return d;
}

describe('secrets in the data folder', () => {
  it('generates the HMAC pair and the admin token once, into one 0600 file, and reuses them', () => {
    const dir = tempDir();
    const keys = resolveKeys(dir);
    expect(keys.source).toBe('generated');
    expect(readAdminToken(dir)).toBeUndefined();
    const token = resolveAdminToken(dir);
    expect(token.source).toBe('generated');
    expect(token.token.length).toBeGreaterThanOrEqual(32);
    const file = join(dir, 'secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ ...keys.keys, adminToken: token.token });
    expect(resolveKeys(dir)).toMatchObject({ keys: keys.keys, source: 'file' });
    expect(resolveAdminToken(dir)).toMatchObject({ token: token.token, source: 'file' });
    expect(readAdminToken(dir)).toBe(token.token);
  });

  it('prefers configured values and keeps what the file already holds', () => {
    const dir = tempDir();
    const configured = 'configured-token-0123456789';
    expect(resolveAdminToken(dir, configured)).toEqual({ token: configured, source: 'config' });
    expect(readAdminToken(dir, configured)).toBe(configured);
    const token = resolveAdminToken(dir).token;
    const keys = resolveKeys(dir);
    expect(keys.source).toBe('generated');
    expect(resolveAdminToken(dir).token).toBe(token);
  });

  it('takes the HMAC pair from one source: one configured value without the other is an error', () => {
    const dir = tempDir();
    resolveKeys(dir); // the data folder has a pair now
    expect(() => resolveKeys(dir, 'configured-secret')).toThrow(
      /hmac\.secret \(MSGBOT_HMAC_SECRET\) is set but hmac\.salt \(MSGBOT_HMAC_SALT\) is not/,
    );
    expect(() => resolveKeys(dir, undefined, 'configured-salt')).toThrow(
      /hmac\.salt \(MSGBOT_HMAC_SALT\) is set but hmac\.secret \(MSGBOT_HMAC_SECRET\) is not/,
    );
    expect(resolveKeys(dir, 'a', 'b')).toEqual({ keys: { secret: 'a', salt: 'b' }, source: 'config' });
  });
});
