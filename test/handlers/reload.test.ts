import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadHandlerModule } from '../../src/handlers/load.js';
import { createHandlerReloader } from '../../src/handlers/reload.js';
import { handlersReloadRoute } from '../../src/infra/admin/handlers-route.js';
import { type AdminServer, startAdminServer } from '../../src/infra/admin/server.js';
import { createLoggers, silentLoggers } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { startTestGateway } from '../support/test-gateway.js';

const CHANNEL = '18234567890123456';
const TOKEN = 'test-admin-token-0123456789';

let dir: string;
let file: string;
let tg: Awaited<ReturnType<typeof startTestGateway>> | undefined;
let admin: AdminServer | undefined;
const clients: BridgeClient[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-reload-'));
  file = join(dir, 'bot.mjs');
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await admin?.close();
  admin = undefined;
  await tg?.stop();
  tg = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function writeBot(version: string, prefix = '!v'): void {
  writeFileSync(
    file,
    `export default { commands: [{ prefix: '${prefix}', run: (ctx) => ctx.reply('${version}') }] };\n`,
  );
}

describe('handler reload', () => {
  it('swaps the module without dropping the phone, and keeps the old one when the new one fails', async () => {
    writeBot('v1');
    tg = await startTestGateway({ bots: [await loadHandlerModule(file)], simulated: false });
    const t = tg;
    const logs: Array<Record<string, unknown>> = [];
    const log = createLoggers({
      level: 'debug',
      destination: { write: (l: string) => void logs.push(JSON.parse(l)) },
    }).root;
    const reload = createHandlerReloader({ file, install: (m) => t.gateway.setBots(m), log });
    await t.store.setDeviceStatus({ botName: 'demo-bot', deviceId: 'a1b2c3' }, 'approved');
    await t.store.setRoomStatus('demo-bot', CHANNEL, 'approved', 'a1b2c3');
    const c = await BridgeClient.connect({ port: t.port, secret: KEYS.secret, salt: KEYS.salt });
    clients.push(c);
    await c.next((p) => p.event === 'handshakeComplete');
    const ask = async (text: string): Promise<string> => {
      c.analyze(text, { channelId: CHANNEL });
      const p = await c.next((x) => x.event === 'messageResponse');
      return String((p.data as { text?: unknown }).text);
    };
    expect(await ask('!v')).toBe('v1');

    writeBot('v2', '!w');
    const ok = await reload();
    expect(ok).toEqual({ ok: true, file, commands: ['!w'], catchAll: false });
    expect(await ask('!w')).toBe('v2');
    expect(logs.some((l) => l.msg === 'handlers reloaded' && JSON.stringify(l.commands) === '["!w"]')).toBe(true);

    writeFileSync(file, 'export default { commands: [ this is not javascript\n');
    const bad = await reload();
    expect(bad.ok).toBe(false);
    expect(logs.some((l) => l.msg === 'handler reload failed; the previous module keeps serving')).toBe(true);
    expect(await ask('!w x')).toBe('v2');

    writeFileSync(file, 'export default { nothing: true };\n');
    expect((await reload()).ok).toBe(false);
    expect(await ask('!w')).toBe('v2');

    // the same connection all along
    expect(c.closed).toBe(false);
    expect(t.logs.filter((l) => l.msg === 'connection closed')).toEqual([]);
  });

  it('PUT /handlers/reload needs the admin token and answers the commands or the load error', async () => {
    writeBot('v1', '!a');
    let installed = 0;
    const reload = createHandlerReloader({ file, install: () => installed++, log: silentLoggers().root });
    admin = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      metrics: createMetrics(),
      log: silentLoggers().root,
      token: TOKEN,
      readiness: () => ({ ready: true, checks: {} }),
      actors: () => ({}),
      setLogLevel: () => {},
      routes: [handlersReloadRoute(reload)],
    });
    const url = `http://127.0.0.1:${admin.port}/handlers/reload`;
    expect((await fetch(url, { method: 'PUT' })).status).toBe(401);
    expect(installed).toBe(0);
    const auth = { authorization: `Bearer ${TOKEN}` };
    let res = await fetch(url, { method: 'PUT', headers: auth });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, commands: ['!a'] });
    expect(installed).toBe(1);
    writeFileSync(file, 'syntax error here (\n');
    res = await fetch(url, { method: 'PUT', headers: auth });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toContain('cannot be loaded');
    expect(installed).toBe(1);
  });
});
