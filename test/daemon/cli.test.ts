import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import { cliOk, runCli } from './child.js';

/**
 * Issue 5 §1, §4, §6: the operator's CLI (`msgbot-gateway …`), run as a child process exactly as
 * `npx msgbot-gateway` runs it (here through tsx, from the sources).
 */

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-cli-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A data folder of its own per test: the tests run at once. */
function dataDir(name: string): Record<string, string> {
  return { MSGBOT_DATA_DIR: join(dir, name) };
}

describe.concurrent('the msgbot-gateway CLI', () => {
  it('config print shows the effective config with the secrets masked', async ({ expect }) => {
    const r = await cliOk(['config', 'print'], {
      MSGBOT_HMAC_SECRET: 'very-secret-value',
      MSGBOT_HMAC_SALT: 'salty-value',
      MSGBOT_DB_URL: 'mysql://bot:db-password@db.example:3306/kakao',
      MSGBOT_PORT: '1600',
    });
    expect(r.stdout).not.toContain('very-secret-value');
    expect(r.stdout).not.toContain('salty-value');
    expect(r.stdout).not.toContain('db-password');
    const printed = JSON.parse(r.stdout) as {
      port: number;
      hmac: { secret: string; salt: string; windowMs: number };
      db: { url: string };
    };
    expect(printed.hmac).toEqual({ secret: '***', salt: '***', windowMs: 300_000 });
    expect(printed.db.url).toBe('mysql://bot:***@db.example:3306/kakao');
    expect(printed.port).toBe(1600); // the env var took effect
  });

  it('a bad value stops with exit code 2 and a message naming the key, the value and what is allowed', async ({
    expect,
  }) => {
    const r = await runCli(['config', 'print'], { MSGBOT_PORT: 'seventy' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('port');
    expect(r.stderr).toContain('"seventy"');
    expect(r.stderr).toContain('MSGBOT_PORT');
    expect(r.stderr).toMatch(/integer 0.65535/);
  });

  it('devices approve --create pre-registers the row; devices list shows it; rooms approve --device', async ({
    expect,
  }) => {
    const env = dataDir('registry');
    await cliOk(['migrate'], env);
    const approved = await cliOk(['devices', 'approve', 'demo-bot', 'a1b2c3', '--create'], env);
    expect(approved.stdout).toContain('demo-bot a1b2c3: approved');
    const list = await cliOk(['devices', 'list'], env);
    expect(list.stdout).toMatch(/^demo-bot +a1b2c3 +approved +\? /m);
    const room = await cliOk(
      ['rooms', 'approve', 'demo-bot', '18234567890123456', '--device', 'a1b2c3', '--create'],
      env,
    );
    expect(room.stdout).toContain('1 room row(s) approved');

    // the rows the daemon reads, straight from the database file
    const store = openSqliteStore(join(env.MSGBOT_DATA_DIR!, 'msgbot.db'));
    try {
      expect(await store.getDevice({ botName: 'demo-bot', deviceId: 'a1b2c3' })).toMatchObject({ status: 'approved' });
      expect(await store.listRooms({ botName: 'demo-bot' })).toEqual([
        expect.objectContaining({ roomId: '18234567890123456', deviceId: 'a1b2c3', status: 'approved' }),
      ]);
    } finally {
      await store.close();
    }
  });

  it('diagram prints a Mermaid state diagram of the connection machine', async ({ expect }) => {
    const r = await cliOk(['diagram']);
    expect(r.stdout.startsWith('stateDiagram-v2\n')).toBe(true);
    for (const state of ['handshaking', 'approved', 'active', 'closed']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+(state )?${state}\\b`, 'm'));
    }
    expect(r.stdout).toContain('[*] --> handshaking');
    expect(r.stdout).toContain('approved --> active');
    expect(r.stdout).toContain('closed --> [*]');
  });

  it('migrate succeeds, and again on the migrated database', async ({ expect }) => {
    const env = dataDir('migrate');
    const first = await cliOk(['migrate'], env);
    expect(first.stdout).toContain(`migrated sqlite:${join(dir, 'migrate', 'msgbot.db')}`);
    const second = await cliOk(['migrate'], env);
    expect(second.stdout).toBe(first.stdout);
    // stderr names the store used, nothing else
    expect(second.stderr).toBe(`store: sqlite:${join(dir, 'migrate', 'msgbot.db')}\n`);
  });
});
