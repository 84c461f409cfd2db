import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, spawnDaemon } from '../daemon/child.js';
import { BridgeClient } from '../support/bridge-client.js';

/**
 * The dashboard as `msgbot-gateway serve` runs it: the token from the data folder, sign-in, the
 * live stream, and an approval that reaches the store. (admin.port 0 means "off", so the admin
 * port is a free one picked just before; a start that loses the port race is retried.)
 */

const dir = mkdtempSync(join(tmpdir(), 'msgbot-dash-'));
const daemons: DaemonProcess[] = [];
const phones: BridgeClient[] = [];
afterAll(async () => {
  for (const p of phones) p.close();
  for (const d of daemons) {
    if (d.child.exitCode === null && d.child.signalCode === null) {
      d.child.kill('SIGTERM');
      await d.exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startServe(): Promise<{ d: DaemonProcess; adminUrl: string; phonePort: number }> {
  for (let attempt = 0; ; attempt++) {
    const adminPort = await freePort();
    const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--admin-port', String(adminPort)], {
      MSGBOT_DATA_DIR: dir,
      MSGBOT_ADMIN_HOST: '127.0.0.1',
    });
    daemons.push(d);
    try {
      const listening = await d.waitLog((l) => l.msg === 'admin endpoint listening');
      const phones = await d.waitLog((l) => l.msg === 'listening for phones');
      return { d, adminUrl: String(listening.url), phonePort: Number(phones.port) };
    } catch (error) {
      if (attempt >= 2) throw error;
    }
  }
}

/** Reads server-sent events until `want` returns a value. */
async function untilEvent<T>(url: string, cookie: string, want: (event: string, data: unknown) => T | undefined) {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { cookie }, signal: ac.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as unknown;
        const found = want(event, data);
        if (found !== undefined) return found;
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    ac.abort();
  }
}

describe('the dashboard of `msgbot-gateway serve`', () => {
  it('sign in with adminToken from the data folder, see a phone live, approve it', async () => {
    const { adminUrl, phonePort } = await startServe();
    const secrets = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')) as Record<string, string>;
    expect((await fetch(`${adminUrl}/`)).status).toBe(200);
    const login = await fetch(`${adminUrl}/dash/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: secrets.adminToken }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const { csrf } = (await login.json()) as { csrf: string };

    const phone = await BridgeClient.connect({
      port: phonePort,
      secret: secrets.secret!,
      salt: secrets.salt!,
      deviceId: 'dev-1',
    });
    phones.push(phone);
    await phone.next((p) => p.event === 'handshakeComplete');
    type Phone = { botName: string; deviceId: string; status: string; live: unknown };
    const seen = await untilEvent(`${adminUrl}/dash/events`, cookie, (event, data) =>
      event === 'phones' ? (data as Phone[]).find((p) => p.deviceId === 'dev-1' && p.live !== null) : undefined,
    );
    expect(seen.status).toBe('pending');

    const approve = await fetch(`${adminUrl}/dash/devices/demo-bot/dev-1/approve`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(approve.status).toBe(200);
    const approved = await untilEvent(`${adminUrl}/dash/events`, cookie, (event, data) =>
      event === 'phones' ? (data as Phone[]).find((p) => p.deviceId === 'dev-1' && p.status === 'approved') : undefined,
    );
    expect(approved.live).toMatchObject({ standing: 'full', framing: 'v3.2' });
  }, 30_000);
});
