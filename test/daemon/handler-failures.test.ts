import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { cliOk, type DaemonProcess, spawnDaemon } from './child.js';

/**
 * Handler failures are traceable: the failure lines carry bot, room, sender hash, command and
 * trace id; processing.errorReplies decides what the chat gets; a room whose every slot is held
 * by hung handlers is warned about once per episode.
 */

const ROOM_A = '100000000000000031';
const ROOM_B = '100000000000000032';
const HANDLERS = `export default {
  commands: [
    { prefix: '# boom', run() { throw new Error('secret detail 42'); } },
    { prefix: '# hang', run: () => new Promise(() => {}) },
  ],
  onMessage(ctx) {
    if (ctx.message.text === 'explode') throw new Error('catch-all broke');
  },
};
`;

let dir = '';
let env: Record<string, string> = {};
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-handler-failures-'));
  writeFileSync(join(dir, 'handlers.mjs'), HANDLERS);
  env = {
    MSGBOT_DATA_DIR: dir,
    MSGBOT_HMAC_SECRET: KEYS.secret,
    MSGBOT_HMAC_SALT: KEYS.salt,
    MSGBOT_LOG_CATEGORIES_MESSAGE: 'debug',
    MSGBOT_TIMERS_STANDING_REFRESH_MS: '100',
    // several daemons at once on one data folder, which the durable mailbox does not support
    // (each would replay the others' unfinished messages; DESIGN.md §2)
    MSGBOT_PROCESSING_DURABLE: 'false',
  };
  await cliOk(['migrate'], env);
  await cliOk(['devices', 'approve', 'demo-bot', 'a1b2c3', '--create'], env);
  for (const room of [ROOM_A, ROOM_B]) await cliOk(['rooms', 'approve', 'demo-bot', room], env);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function start(
  ctx: TestContext,
  extra: Record<string, string>,
): Promise<{ d: DaemonProcess; phone: BridgeClient }> {
  const d = spawnDaemon(
    ['--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--handlers', join(dir, 'handlers.mjs')],
    { ...env, ...extra },
  );
  ctx.onTestFinished(() => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  });
  const port = Number((await d.waitLog((l) => l.msg === 'listening for phones')).port);
  const phone = await BridgeClient.connect({ port, secret: KEYS.secret, salt: KEYS.salt });
  ctx.onTestFinished(() => phone.close());
  await phone.next((p) => p.event === 'handshakeComplete');
  return { d, phone };
}

const TRACE = {
  botName: 'demo-bot',
  deviceId: 'a1b2c3',
  channelId: ROOM_A,
  room: 'Failing Room',
  senderHash: 'feedbeef1234',
};

describe.concurrent('handler failures', () => {
  it('failure lines carry bot, room, sender hash, command and trace id; the default posts the §7.9 text', async (ctx) => {
    const { expect } = ctx;
    const { d, phone } = await start(ctx, {});
    phone.analyze('# boom now', { channelId: ROOM_A, room: 'Failing Room', userHash: 'feedbeef1234' });
    const reply = await phone.next((p) => p.event === 'messageResponse');
    expect(reply.data.text).toBe('명령어 처리 중 오류가 발생했습니다: secret detail 42');
    const failed = await d.waitLog((l) => l.msg === 'command failed');
    expect(failed).toMatchObject({ ...TRACE, command: '# boom' });
    expect(typeof failed.traceId).toBe('string');

    phone.analyze('explode', { channelId: ROOM_A, room: 'Failing Room', userHash: 'feedbeef1234' });
    const caught = await d.waitLog((l) => l.msg === 'message failed');
    expect(caught).toMatchObject({ ...TRACE, reason: 'error' });
    expect(caught.command).toBeUndefined();
    expect(typeof caught.traceId).toBe('string');
    d.child.kill('SIGTERM');
    await d.exited;
  });

  it('processing.errorReplies=off posts nothing into the chat; generic posts the text without the error', async (ctx) => {
    const { expect } = ctx;
    const { d, phone } = await start(ctx, { MSGBOT_PROCESSING_ERROR_REPLIES: 'off' });
    const boom = phone.analyze('# boom now', { channelId: ROOM_A, room: 'Failing Room', userHash: 'feedbeef1234' });
    expect(boom).not.toBe('');
    await d.waitLog((l) => l.msg === 'command failed');
    await d.waitLog((l) => l.msg === 'message processed');
    // whatever the failed command sent was written before this later reply
    phone.analyze('# echo after', { channelId: ROOM_A });
    const next = await phone.next((p) => p.event === 'messageResponse');
    expect(next.data.text).toBe('에코: after');
    d.child.kill('SIGTERM');
    await d.exited;

    const g = await start(ctx, { MSGBOT_PROCESSING_ERROR_REPLIES: 'generic' });
    g.phone.analyze('# boom now', { channelId: ROOM_A });
    const generic = await g.phone.next((p) => p.event === 'messageResponse');
    expect(generic.data.text).toBe('명령어 처리 중 오류가 발생했습니다');
    g.d.child.kill('SIGTERM');
    await g.d.exited;
  });

  it('a room whose every slot is held by hung handlers is warned about once per episode', async (ctx) => {
    const { expect } = ctx;
    const { d, phone } = await start(ctx, {
      MSGBOT_PROCESSING_PER_ROOM: '2',
      MSGBOT_PROCESSING_STUCK_AFTER_MS: '300',
      MSGBOT_PROCESSING_DEADLINE_MS: '1500',
    });
    const saturated = () => d.logs.filter((l) => String(l.msg).startsWith('room saturated'));
    phone.analyze('# hang 1', { channelId: ROOM_B });
    phone.analyze('# hang 2', { channelId: ROOM_B });
    // one hung handler in another room never counts
    phone.analyze('# hang 3', { channelId: ROOM_A });
    const first = await d.waitLog((l) => String(l.msg).startsWith('room saturated'));
    expect(first).toMatchObject({ level: 40, botName: 'demo-bot', channelId: ROOM_B, held: 2, perRoom: 2 });
    // the deadline ends the hung handlers: the episode is over
    await d.waitLog((l) => l.msg === 'room no longer saturated');
    expect(saturated()).toHaveLength(1);
    // a second episode is warned about again
    phone.analyze('# hang 4', { channelId: ROOM_B });
    phone.analyze('# hang 5', { channelId: ROOM_B });
    await d.waitLog((l) => String(l.msg).startsWith('room saturated') && saturated().length === 2);
    expect(saturated().every((l) => l.channelId === ROOM_B)).toBe(true);
    d.child.kill('SIGTERM');
    await d.exited;
  });
});
