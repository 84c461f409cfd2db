import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { spawnDaemon } from './child.js';
import { freePort } from './free-port.js';

/**
 * `PUT /inspect` switches actor inspection of the running daemon (DESIGN.md §2): off by default
 * (no observer is registered, so actor events cost nothing extra), on for the actors that exist
 * and those created later, and off again.
 */

const TOKEN = 'inspect-switch-token-0123456789';

describe('actor inspection switched at run time', () => {
  it('writes inspect lines only between PUT /inspect?mode=log and mode=off', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-inspect-switch-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const adminPort = await freePort();
    const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0'], {
      MSGBOT_DATA_DIR: dir,
      MSGBOT_HMAC_SECRET: KEYS.secret,
      MSGBOT_HMAC_SALT: KEYS.salt,
      MSGBOT_ADMIN_PORT: String(adminPort),
      MSGBOT_ADMIN_TOKEN: TOKEN,
    });
    onTestFinished(() => {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    });
    const port = Number((await d.waitLog((l) => l.msg === 'listening for phones', 20_000)).port);
    await d.waitLog((l) => l.msg === 'admin endpoint listening');
    const inspectLines = () => d.logs.filter((l) => l.cat === 'inspect');
    const put = (mode: string) =>
      fetch(`http://127.0.0.1:${adminPort}/inspect?mode=${mode}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
    const session = async () => {
      const c = await BridgeClient.connect({ port, secret: KEYS.secret, salt: KEYS.salt });
      await c.next((p) => p.event === 'handshakeComplete');
      c.close();
      await c.waitClosed();
    };

    await session();
    expect(inspectLines()).toEqual([]);

    expect((await put('log')).status).toBe(204);
    await session();
    await d.waitLog((l) => l.cat === 'inspect' && l.msg === '@xstate.snapshot' && l.value === 'closed');
    // the dispatcher, which existed before the switch, is announced and observed too
    expect(inspectLines().some((l) => l.msg === '@xstate.actor' && l.machine === 'dispatcher')).toBe(true);

    expect((await put('off')).status).toBe(204);
    const seen = inspectLines().length;
    await session();
    await new Promise((r) => setTimeout(r, 300));
    expect(inspectLines()).toHaveLength(seen);
    d.child.kill('SIGTERM');
    await d.exited;
  });
});
