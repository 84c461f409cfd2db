import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KEYS } from '../support/fake-connection.js';
import { spawnDaemon } from './child.js';

/** SIGHUP re-imports the handler module in the running daemon; a broken module keeps the old one. */

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-sighup-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const bot = (prefix: string) =>
  `export default { commands: [{ prefix: '${prefix}', run: (ctx) => ctx.reply('${prefix}') }] };\n`;

it('SIGHUP reloads the handler module, and logs a failing one without dropping the old', async () => {
  const file = join(dir, 'bot.mjs');
  writeFileSync(file, bot('!one'));
  const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--handlers', file], {
    MSGBOT_DATA_DIR: join(dir, 'data'),
    MSGBOT_HMAC_SECRET: KEYS.secret,
    MSGBOT_HMAC_SALT: KEYS.salt,
  });
  try {
    await d.waitLog((l) => l.msg === 'listening for phones');
    writeFileSync(file, bot('!two'));
    d.child.kill('SIGHUP');
    const ok = await d.waitLog((l) => l.msg === 'handlers reloaded');
    expect(ok.commands).toEqual(['!two']);
    writeFileSync(file, 'export default { commands: [ oops\n');
    d.child.kill('SIGHUP');
    const bad = await d.waitLog((l) => l.msg === 'handler reload failed; the previous module keeps serving');
    expect(bad.level).toBe(50);
    expect(JSON.stringify(bad.err)).toContain('cannot be loaded');
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
  } finally {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  }
});
