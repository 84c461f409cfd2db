import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { cliOk, runCli, spawnDaemon } from './child.js';
import { freePort } from './free-port.js';

/**
 * The CLI's view of the running daemon (`status`, the ONLINE column), option checks, and what
 * start-up says about the environment and the HMAC keys.
 */

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-cli-status-'));
  writeFileSync(
    join(dir, 'handlers.mjs'),
    "export default { onMessage(ctx) { if (ctx.message.text === 'explode') throw new Error('catch-all broke'); } };\n",
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('status, lists and start-up checks', () => {
  it('status asks the daemon; lists show a header and ONLINE; unknown MSGBOT_* variables are warned about', async ({
    expect,
    onTestFinished,
  }) => {
    const data = join(dir, 'live');
    const adminPort = await freePort();
    const env = {
      MSGBOT_DATA_DIR: data,
      MSGBOT_ADMIN_PORT: String(adminPort),
      MSGBOT_HMAC_SECRET: KEYS.secret,
      MSGBOT_HMAC_SALT: KEYS.salt,
    };
    await cliOk(['migrate'], env);
    await cliOk(['devices', 'approve', 'demo-bot', 'a1b2c3', '--create'], env);
    await cliOk(['devices', 'approve', 'demo-bot', 'offline1', '--create'], env);
    await cliOk(['rooms', 'approve', 'demo-bot', '100000000000000041'], env);

    // the daemon is not running yet: ONLINE is unknown, and status says nobody answers
    const before = await cliOk(['devices', 'list'], env);
    expect(before.stdout).toMatch(/^BOT +DEVICE +STATUS +ONLINE +VERSION +IP +UPDATED \(KST\)$/m);
    expect(before.stdout).toMatch(/^demo-bot +a1b2c3 +approved +\?/m);
    const down = await runCli(['status'], env);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`no daemon answers at http://127.0.0.1:${adminPort}/status`);

    const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--handlers', join(dir, 'handlers.mjs')], {
      ...env,
      MSGBOT_PROT: '1485', // a typo
    });
    onTestFinished(() => {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    });
    const port = Number((await d.waitLog((l) => l.msg === 'listening for phones')).port);
    await d.waitLog((l) => l.msg === 'admin endpoint listening');
    expect(d.logs.find((l) => String(l.msg).startsWith('unknown MSGBOT_* environment variables'))).toMatchObject({
      level: 40,
      variables: ['MSGBOT_PROT'],
    });
    expect(d.logs.some((l) => l.msg === 'HMAC secret and salt from the configuration (hmac.secret, hmac.salt)')).toBe(
      true,
    );

    const known = await BridgeClient.connect({ port, secret: KEYS.secret, salt: KEYS.salt });
    onTestFinished(() => known.close());
    await known.next((p) => p.event === 'handshakeComplete');
    const stranger = await BridgeClient.connect({ port, secret: KEYS.secret, salt: KEYS.salt, deviceId: 'newphone' });
    onTestFinished(() => stranger.close());
    await stranger.next((p) => p.event === 'handshakeComplete');
    known.analyze('explode', { channelId: '100000000000000041' });
    await d.waitLog((l) => l.msg === 'message failed');

    const status = await cliOk(['status'], env);
    expect(status.stdout).toContain(`daemon: http://127.0.0.1:${adminPort}`);
    expect(status.stdout).toContain(`store sqlite:${join(data, 'msgbot.db')}`);
    expect(status.stdout).toContain('connections: 2');
    expect(status.stdout).toContain('pending devices: 1');
    expect(status.stdout).toContain(`msgbot-gateway --data ${data} devices approve demo-bot newphone`);
    expect(status.stdout).toMatch(/mailbox: 0 waiting, 0 running \(capacity 10000\)/);
    expect(status.stdout).toMatch(/last errors: 1\n .* error {2}message failed {2}.*"botName":"demo-bot"/);
    const json = JSON.parse((await cliOk(['status', '--json'], env)).stdout) as { connections: unknown[] };
    expect(json.connections).toHaveLength(2);

    const list = await cliOk(['devices', 'list'], env);
    expect(list.stdout).toMatch(/^demo-bot +a1b2c3 +approved +yes/m);
    expect(list.stdout).toMatch(/^demo-bot +offline1 +approved +no/m);
    expect(list.stdout).toMatch(/^demo-bot +newphone +pending +yes/m);
    const rooms = await cliOk(['rooms', 'list'], env);
    expect(rooms.stdout).toMatch(/^BOT +CHANNEL +DEVICE +STATUS +ONLINE +ROOM$/m);
    expect(rooms.stdout).toMatch(/^demo-bot +100000000000000041 +a1b2c3 +approved +yes/m);
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });

  it('an unknown --status value is an error listing the allowed ones', async ({ expect }) => {
    const env = { MSGBOT_DATA_DIR: join(dir, 'bad-status') };
    await cliOk(['migrate'], env);
    for (const what of ['devices', 'rooms']) {
      const r = await runCli([what, 'list', '--status', 'aproved'], env);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("'aproved' is invalid");
      expect(r.stderr).toContain('approved');
      expect(r.stdout).toBe('');
    }
  });

  it('a secret without a salt (or the reverse) stops start-up naming both keys', async ({ expect }) => {
    const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0'], {
      MSGBOT_DATA_DIR: join(dir, 'half-keys'),
      MSGBOT_HMAC_SECRET: 'only-the-secret',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hmac.secret (MSGBOT_HMAC_SECRET) is set but hmac.salt (MSGBOT_HMAC_SALT) is not');
  });
});
