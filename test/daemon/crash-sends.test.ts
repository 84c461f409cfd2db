import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createScratchDatabase, describeMysql } from '../store/mysql-scratch.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { cliOk, type DaemonProcess, spawnDaemon } from './child.js';
import { freePort } from './free-port.js';

/**
 * DESIGN.md §2 outbound path (bounded, durable), with the real process (SQLite, MariaDB): an API send
 * answered 202 while its phone is away survives a SIGKILL; after the restart the phone gets it
 * once and `GET /messages/<id>` says delivered.
 */

const CHANNEL = '18234567890123456';
const TOKEN = 'crash-sends-token-0123456789';
/** two CLI runs and two daemon starts (each a `tsx` process) on a busy host */
const TEST_MS = 120_000;

async function serve(env: Record<string, string>): Promise<{ d: DaemonProcess; port: number; admin: string }> {
  const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--admin-port', String(await freePort())], env);
  onTestFinished(() => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  });
  const listening = await d.waitLog((l) => l.msg === 'listening for phones', 20_000);
  const admin = await d.waitLog((l) => l.msg === 'admin endpoint listening', 20_000);
  return { d, port: Number(listening.port), admin: String(admin.url) };
}

async function until(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function scenario(db: () => Promise<string | undefined>) {
  it('a 202-accepted send for an away phone is delivered once after the restart', { timeout: TEST_MS }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msgbot-crash-sends-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const url = await db();
    const env: Record<string, string> = {
      MSGBOT_DATA_DIR: dir,
      MSGBOT_HMAC_SECRET: KEYS.secret,
      MSGBOT_HMAC_SALT: KEYS.salt,
      MSGBOT_ADMIN_TOKEN: TOKEN,
      ...(url === undefined ? {} : { MSGBOT_DB_URL: url }),
    };
    await cliOk(['migrate'], env);
    await cliOk(['devices', 'approve', 'demo-bot', 'a1b2c3', '--create'], env);
    await cliOk(['rooms', 'approve', 'demo-bot', CHANNEL, '--device', 'a1b2c3', '--create'], env);
    const auth = { authorization: `Bearer ${TOKEN}` };

    const first = await serve(env);
    const posted = await fetch(`${first.admin}/messages`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        bot: 'demo-bot',
        channelId: CHANNEL,
        device: 'a1b2c3',
        roomTitle: '공지방',
        text: 'kept',
      }),
    });
    expect(posted.status).toBe(202);
    const { id, status } = (await posted.json()) as { id: string; status: string };
    expect(status).toBe('queued');
    first.d.child.kill('SIGKILL');
    expect((await first.d.exited).signal).toBe('SIGKILL');

    const second = await serve(env);
    expect(
      second.d.logs.find((l) => l.msg === 'send record recovered; re-sent sends wait for their phones'),
    ).toMatchObject({ resubmitted: 1, expired: 0 });
    const outcome = async () =>
      ((await (await fetch(`${second.admin}/messages/${id}`, { headers: auth })).json()) as { status: string }).status;
    expect(await outcome()).toBe('queued');
    const phone = await BridgeClient.connect({ port: second.port, secret: KEYS.secret, salt: KEYS.salt });
    onTestFinished(() => phone.close());
    await phone.next((p) => p.event === 'handshakeComplete');
    const texts = () => phone.packets.filter((p) => p.event === 'messageResponse').map((p) => String(p.data.text));
    await until(() => texts().includes('kept'));
    expect(await outcome()).toBe('delivered');
    await new Promise((r) => setTimeout(r, 1_500)); // a second copy would be out by now (room gap 1 s)
    expect(texts()).toEqual(['kept']);
    second.d.child.kill('SIGKILL');
    await second.d.exited;
  });
}

// sequential: the helpers register clean-ups with the module-level onTestFinished
describe('API sends survive a SIGKILL, SQLite (DESIGN.md §2 outbound path)', () => {
  scenario(async () => undefined);
});

describeMysql('API sends survive a SIGKILL, MariaDB (DESIGN.md §2 outbound path)', () => {
  scenario(async () => {
    const db = await createScratchDatabase();
    onTestFinished(() => db.drop());
    return db.url;
  });
});
