import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { cliOk, spawnDaemon } from './child.js';
import { freePort } from './free-port.js';
import { parsePrometheusText } from './prometheus-text.js';

/**
 * Pending rooms are visible: the first message in a room that is not approved is logged once at
 * info with a working approve command, counted as `not-approved` (not `processed`), and
 * `rooms approve <bot> <channelId>` works before the room's first message, for every device.
 */

const EARLY = '100000000000000011'; // approved bot-wide before anything was written in it
const LATE = '100000000000000022'; // first seen by the daemon, pending

let dir = '';
let env: Record<string, string> = {};
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-pending-rooms-'));
  env = {
    MSGBOT_DATA_DIR: dir,
    MSGBOT_HMAC_SECRET: KEYS.secret,
    MSGBOT_HMAC_SALT: KEYS.salt,
    MSGBOT_LOG_CATEGORIES_MESSAGE: 'debug',
    MSGBOT_TIMERS_STANDING_REFRESH_MS: '200',
  };
  await cliOk(['migrate'], env);
  for (const device of ['phone1', 'phone2']) await cliOk(['devices', 'approve', 'demo-bot', device, '--create'], env);
  const early = await cliOk(['rooms', 'approve', 'demo-bot', EARLY], env);
  if (!early.stdout.includes('not seen yet')) throw new Error(early.stdout);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function words(command: string): string[] {
  return command.split(' ').slice(1); // tmp paths carry no spaces or quotes
}

describe('pending rooms', () => {
  it('are logged once with a working approve command, counted not-approved; bot-wide approval reaches every device', async ({
    expect,
    onTestFinished,
  }) => {
    const adminPort = await freePort();
    const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--admin-port', String(adminPort)], env);
    onTestFinished(() => {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    });
    const port = Number((await d.waitLog((l) => l.msg === 'listening for phones')).port);
    await d.waitLog((l) => l.msg === 'admin endpoint listening');
    const phones: BridgeClient[] = [];
    for (const deviceId of ['phone1', 'phone2']) {
      const p = await BridgeClient.connect({ port, secret: KEYS.secret, salt: KEYS.salt, deviceId });
      onTestFinished(() => p.close());
      expect((await p.next((x) => x.event === 'handshakeComplete')).data.approved).toBe(true);
      phones.push(p);
    }
    const [one, two] = phones as [BridgeClient, BridgeClient];

    // approved before its first message, for every device of the bot
    one.analyze('# echo early one', { channelId: EARLY });
    expect((await one.next((x) => x.event === 'messageResponse')).data.text).toBe('에코: early one');
    two.analyze('# echo early two', { channelId: EARLY });
    expect((await two.next((x) => x.event === 'messageResponse')).data.text).toBe('에코: early two');

    // a room nobody approved: two messages, one notice at info
    one.analyze('# echo late 1', { channelId: LATE, room: 'Late Room' });
    one.analyze('# echo late 2', { channelId: LATE, room: 'Late Room' });
    const unanswered = () => d.logs.filter((l) => l.msg === 'room not approved; no reply').length;
    await d.waitLog((l) => l.msg === 'room not approved; no reply' && unanswered() === 2);
    const notices = d.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('room not approved:'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ level: 30, botName: 'demo-bot', channelId: LATE, room: 'Late Room' });
    const approve = String(notices[0]!.approve);
    expect(approve).toBe(`msgbot-gateway --data ${dir} rooms approve demo-bot ${LATE}`);

    const metrics = parsePrometheusText(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text());
    expect(metrics.get('msgbot_messages_total{outcome="not-approved"}')).toBe(2);
    expect(metrics.get('msgbot_messages_total{outcome="processed"}')).toBe(2);

    // the logged command, run as printed (no env: the flags carry the store)
    const r = await cliOk(words(approve));
    expect(r.stdout).toContain(`room ${LATE} of demo-bot: approved for every device`);
    // the live cache follows within a standing refresh (200 ms here): ask until answered
    const started = Date.now();
    let answered = false;
    while (!answered && Date.now() - started < 10_000) {
      one.analyze('# echo late 3', { channelId: LATE, room: 'Late Room' });
      answered = await one
        .next((x) => x.event === 'messageResponse' && x.data.text === '에코: late 3', 1_000)
        .then(
          () => true,
          () => false,
        );
    }
    expect(answered).toBe(true);
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
  }, 60_000);
});
