import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { cliOk, type DaemonProcess, type LogLine, spawnDaemon } from './child.js';

/**
 * Issue 5 §5: SIGTERM stops accepting, lets in-flight handlers finish up to MSGBOT_SHUTDOWN_MS,
 * closes and exits 0; a second signal exits at once. The real daemon, as a child process.
 */

const CHANNELS = ['100000000000000001', '100000000000000002', '100000000000000003'];

// `# slow` answers after 1.5 s; `# hang` never finishes.
const HANDLERS = `export default {
  commands: [
    {
      prefix: '# slow',
      async run(ctx) {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await ctx.reply('slow done in ' + ctx.room);
      },
    },
    { prefix: '# hang', run: () => new Promise(() => {}) },
  ],
};
`;

let dir = '';
let env: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-shutdown-'));
  writeFileSync(join(dir, 'handlers.mjs'), HANDLERS);
  env = {
    MSGBOT_DATA_DIR: dir,
    MSGBOT_HMAC_SECRET: KEYS.secret,
    MSGBOT_HMAC_SALT: KEYS.salt,
    // the per-message lines are debug: they show every accepted message's fate
    MSGBOT_LOG_CATEGORIES_MESSAGE: 'debug',
    // These tests run three daemons at once on one data folder, which the durable mailbox does not
    // support (each would replay and de-duplicate the others' messages; DESIGN.md §2).
    MSGBOT_PROCESSING_DURABLE: 'false',
  };
  // The operator's way: the CLI against the same data folder, before the daemon starts.
  await cliOk(['migrate'], env);
  // pre-registered before the phone ever connects: --create
  await cliOk(['devices', 'approve', 'demo-bot', 'a1b2c3', '--create'], env);
  // migrate created the tables; the rest only write rows (SQLite WAL, busy timeout)
  await Promise.all(
    CHANNELS.map((channel) => cliOk(['rooms', 'approve', 'demo-bot', channel, '--device', 'a1b2c3', '--create'], env)),
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts the daemon on 127.0.0.1:<ephemeral>, admin endpoint off, and connects the phone; both
 * are cleaned up when the test ends (the tests run at once, each with its own daemon, so the
 * hooks and `expect` are the test context's own).
 */
async function start(
  { onTestFinished }: TestContext,
  shutdownMs: number,
): Promise<{ d: DaemonProcess; phone: BridgeClient; port: number }> {
  const d = spawnDaemon(
    ['--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--handlers', join(dir, 'handlers.mjs')],
    { ...env, MSGBOT_SHUTDOWN_MS: String(shutdownMs) },
  );
  onTestFinished(() => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  });
  const listening = await d.waitLog((l) => l.msg === 'listening for phones');
  const port = Number(listening.port);
  if (!(port > 0)) throw new Error(`bad port in ${JSON.stringify(listening)}`);
  const phone = await BridgeClient.connect({ port, secret: KEYS.secret, salt: KEYS.salt });
  onTestFinished(() => phone.close());
  const hc = await phone.next((p) => p.event === 'handshakeComplete');
  if (hc.data.approved !== true) throw new Error('the device should be approved');
  return { d, phone, port };
}

function accepted(d: DaemonProcess): LogLine[] {
  return d.logs.filter((l) => l.msg === 'message accepted');
}

async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves true when a new TCP connection is refused or closed without a byte. */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.1', port });
    let got = false;
    s.on('data', () => {
      got = true;
    });
    s.on('error', () => resolve(true));
    s.on('close', () => resolve(!got));
    s.on('connect', () => s.write('{"clientType":"MessengerBotR","botName":"x","deviceID":"y"}\n'));
  });
}

describe.concurrent('graceful shutdown of the daemon (issue 5 §5)', () => {
  it('SIGTERM during slow handlers: every in-flight reply arrives, then exit 0 within the deadline', async (ctx) => {
    const { expect } = ctx;
    const shutdownMs = 6_000;
    const { d, phone, port } = await start(ctx, shutdownMs);
    CHANNELS.forEach((channelId, i) => {
      phone.analyze('# slow', { channelId, room: `Room ${i + 1}` });
    });
    await until(() => accepted(d).length === 3);

    const signalled = Date.now();
    d.child.kill('SIGTERM');
    await d.waitLog((l) => l.msg === 'stopping: finishing in-flight messages');
    expect(await refusesConnections(port)).toBe(true); // stopped accepting

    const replies = await Promise.all(CHANNELS.map(() => phone.next((p) => p.event === 'messageResponse', 5_000)));
    expect(replies.map((r) => r.data.text).sort()).toEqual([
      'slow done in Room 1',
      'slow done in Room 2',
      'slow done in Room 3',
    ]);
    expect(replies.map((r) => r.data.channel_id).sort()).toEqual(CHANNELS);

    const exit = await d.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalled).toBeLessThan(shutdownMs);
    await phone.waitClosed();

    const stopped = d.logs.find((l) => l.msg === 'stopped');
    expect(stopped).toMatchObject({ unfinished: 0 });
    expect(d.logs.some((l) => l.msg === 'shutdown deadline reached')).toBe(false);
    // nothing accepted is unaccounted: each accepted trace id ended processed
    for (const line of accepted(d)) {
      const fate = d.logs.filter((l) => l.traceId === line.traceId).map((l) => l.msg);
      expect(fate).toContain('message processed');
    }
  });

  it('a handler that never finishes: exit 0 after the deadline, the unfinished message named in the log', async (ctx) => {
    const { expect } = ctx;
    const shutdownMs = 800;
    const { d, phone } = await start(ctx, shutdownMs);
    phone.analyze('# hang', { channelId: CHANNELS[0] });
    await until(() => accepted(d).length === 1);
    const traceId = accepted(d)[0]!.traceId;

    const signalled = Date.now();
    d.child.kill('SIGTERM');
    const exit = await d.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalled).toBeGreaterThanOrEqual(shutdownMs);
    expect(exit.at - signalled).toBeLessThan(shutdownMs + 5_000);

    expect(d.logs.find((l) => l.msg === 'shutdown deadline reached')).toMatchObject({ running: 1, waiting: 0 });
    expect(d.logs.find((l) => l.msg === 'stopped')).toMatchObject({ unfinished: 1 });
    // the abandoned message is accounted for by its trace id
    expect(d.logs.find((l) => l.msg === 'message abandoned at shutdown')).toMatchObject({ traceId });
    expect(phone.packets.filter((p) => p.event === 'messageResponse')).toEqual([]);
  });

  it('a second signal during shutdown exits at once (code 1)', async (ctx) => {
    const { expect } = ctx;
    const shutdownMs = 20_000;
    const { d, phone } = await start(ctx, shutdownMs);
    phone.analyze('# hang', { channelId: CHANNELS[0] });
    await until(() => accepted(d).length === 1);

    d.child.kill('SIGTERM');
    await d.waitLog((l) => l.msg === 'stopping: finishing in-flight messages');
    const second = Date.now();
    d.child.kill('SIGINT');
    const exit = await d.exited;
    // cli.ts: the second signal is an operator's "now" — exit code 1, no waiting for the deadline
    expect(exit.code).toBe(1);
    expect(exit.at - second).toBeLessThan(2_000);
    expect(d.logs.find((l) => l.msg === 'second signal: exiting at once')).toMatchObject({ signal: 'SIGINT' });
    expect(d.logs.some((l) => l.msg === 'stopped')).toBe(false);
  });
});
