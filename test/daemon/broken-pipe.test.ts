import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { cliOk, type DaemonProcess, spawnDaemon } from './child.js';

/**
 * Shutdown is bounded even when stdout is a pipe whose reader has gone (`| head`, a restarted
 * journald): pino's asynchronous destination retried EPIPE without end in its exit flush, so
 * SIGTERM logged "stopping" and the process never exited; a second signal did nothing either.
 */

const CHANNEL = '100000000000000001';
let dir = '';
let env: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-pipe-'));
  writeFileSync(
    join(dir, 'handlers.mjs'),
    "export default { commands: [{ prefix: '# hang', run: () => new Promise(() => {}) }] };\n",
  );
  env = {
    MSGBOT_DATA_DIR: dir,
    MSGBOT_HMAC_SECRET: KEYS.secret,
    MSGBOT_HMAC_SALT: KEYS.salt,
    MSGBOT_LOG_CATEGORIES_MESSAGE: 'debug',
  };
  await cliOk(['migrate'], env);
  await cliOk(['devices', 'approve', 'demo-bot', 'a1b2c3', '--create'], env);
  await cliOk(['rooms', 'approve', 'demo-bot', CHANNEL, '--device', 'a1b2c3', '--create'], env);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function start({ onTestFinished }: TestContext, shutdownMs: number): Promise<DaemonProcess> {
  const d = spawnDaemon(
    ['--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--handlers', join(dir, 'handlers.mjs')],
    { ...env, MSGBOT_SHUTDOWN_MS: String(shutdownMs) },
  );
  onTestFinished(() => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  });
  await d.waitLog((l) => l.msg === 'listening for phones');
  return d;
}

describe.concurrent('shutdown with a broken stdout pipe', () => {
  it('SIGTERM exits 0 although every log write fails with EPIPE', async (ctx) => {
    const { expect } = ctx;
    const d = await start(ctx, 2_000);
    d.child.stdout?.destroy(); // the reader goes away
    d.child.kill('SIGTERM');
    const exit = await Promise.race([
      d.exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000)),
    ]);
    expect(exit).not.toBe('hung');
    expect(exit).toMatchObject({ code: 0 });
  });

  it('a second signal exits (code 1) at once, with a handler still running and a broken pipe', async (ctx) => {
    const { expect } = ctx;
    const d = await start(ctx, 30_000);
    const listening = d.logs.find((l) => l.msg === 'listening for phones')!;
    const phone = await BridgeClient.connect({ port: Number(listening.port), secret: KEYS.secret, salt: KEYS.salt });
    ctx.onTestFinished(() => phone.close());
    await phone.next((p) => p.event === 'handshakeComplete');
    phone.analyze('# hang', { channelId: CHANNEL });
    // the hung handler holds the shutdown for 30 s; the operator's second signal must not wait
    await d.waitLog((l) => l.msg === 'message accepted');
    d.child.stdout?.destroy();
    d.child.kill('SIGTERM'); // signals are handled in the order sent
    const second = Date.now();
    d.child.kill('SIGINT');
    const exit = await Promise.race([
      d.exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000)),
    ]);
    expect(exit).not.toBe('hung');
    if (exit === 'hung') return;
    expect(exit.code).toBe(1);
    expect(exit.at - second).toBeLessThan(2_000);
  });
});
