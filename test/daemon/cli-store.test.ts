import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { cliOk, ROOT, runCli, spawnDaemon } from './child.js';

/**
 * The CLI acts on the store the operator means: the approve command the daemon logs carries the
 * daemon's store options, the CLI names the store it used, only serve/migrate create a database,
 * and ids that do not exist are refused instead of silently inserted.
 */

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-cli-store-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Splits a logged command line the way sh does for the quoting shellQuote produces. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!);
  return words;
}

describe.concurrent('which store the CLI uses', () => {
  it('devices list on a missing SQLite file is an error naming the path and the way out; nothing is created', async ({
    expect,
  }) => {
    const data = join(dir, 'nothing-here');
    const r = await runCli(['devices', 'list'], { MSGBOT_DATA_DIR: data });
    expect(r.code).toBe(1);
    const file = join(data, 'msgbot.db');
    expect(r.stderr).toContain(`store: sqlite:${file}`);
    expect(r.stderr).toContain(`no database at ${file}`);
    expect(r.stderr).toContain('msgbot-gateway serve');
    expect(r.stderr).toContain('migrate');
    expect(r.stderr).toContain('--data');
    expect(existsSync(file)).toBe(false);
    expect(existsSync(data)).toBe(false);
  });

  it('ids that do not exist are refused with the --create hint; nothing is inserted', async ({ expect }) => {
    const env = { MSGBOT_DATA_DIR: join(dir, 'refuse') };
    await cliOk(['migrate'], env);
    const dev = await runCli(['devices', 'approve', 'demo-bot', 'typo'], env);
    expect(dev.code).toBe(1);
    expect(dev.stderr).toContain('no device typo of bot demo-bot');
    expect(dev.stderr).toContain('--create');
    const room = await runCli(['rooms', 'approve', 'demo-bot', '18234567890123456', '--device', 'typo'], env);
    expect(room.code).toBe(1);
    expect(room.stderr).toContain('--create');
    // a bot nobody has seen: a typo in the bot name
    const bot = await runCli(['rooms', 'approve', 'demo-bto', '18234567890123456'], env);
    expect(bot.code).toBe(1);
    expect(bot.stderr).toContain('no device or room of bot demo-bto');
    const store = openSqliteStore(join(env.MSGBOT_DATA_DIR, 'msgbot.db'));
    try {
      expect(await store.listDevices()).toEqual([]);
      expect(await store.listRooms()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('the approve command the daemon logs works from any folder and reaches the connected phone', async ({
    expect,
    onTestFinished,
  }) => {
    const data = join(dir, 'daemon-data');
    const d = spawnDaemon(['--data', data, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0'], {
      MSGBOT_HMAC_SECRET: KEYS.secret,
      MSGBOT_HMAC_SALT: KEYS.salt,
      MSGBOT_TIMERS_STANDING_REFRESH_MS: '200',
    });
    onTestFinished(() => {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    });
    const listening = await d.waitLog((l) => l.msg === 'listening for phones');
    const phone = await BridgeClient.connect({
      port: Number(listening.port),
      secret: KEYS.secret,
      salt: KEYS.salt,
      botName: 'demo-bot',
      deviceId: 'phone2',
    });
    onTestFinished(() => phone.close());
    const limited = await d.waitLog((l) => typeof l.approve === 'string');
    const words = shellWords(String(limited.approve));
    expect(words.slice(0, 3)).toEqual(['msgbot-gateway', '--data', data]);
    expect(words.slice(3)).toEqual(['devices', 'approve', 'demo-bot', 'phone2']);
    // run from the repository folder (cwd ROOT), which has no such data: the flags carry it
    expect(ROOT).not.toBe(data);
    const r = await cliOk(words.slice(1));
    expect(r.stderr).toContain(`store: sqlite:${join(data, 'msgbot.db')}`);
    expect(r.stdout).toContain('demo-bot phone2: approved');
    // the live connection follows: the daemon logs the standing change
    await d.waitLog((l) => l.msg === 'device standing changed' && l.deviceId === 'phone2' && l.to === 'approved');
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });
});
