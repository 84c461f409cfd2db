import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { splitV33 } from '../../src/protocol/index.js';
import { createScratchDatabase, describeMysql } from '../store/mysql-scratch.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { v33Handshake, v33Message } from '../support/v33-lines.js';
import { cliOk, type DaemonProcess, spawnDaemon } from './child.js';

/**
 * DESIGN.md §2 durable mailbox, with the real process: a message whose handler is running when
 * the daemon is killed (SIGKILL) is answered exactly once after the restart; a phone that re-sends
 * it, or (v3.3.3) flushes its offline queue before its handshake (PROTOCOL §5.3.1, §6.5), is
 * answered once per message.
 *
 * A replayed message waits for its phone's handshake before it runs again, so its reply finds the
 * new connection however long the phone takes to come back (within processing.replayWindowMs).
 */

const CHANNEL = '18234567890123456';
const SLOW_MS = 2_500;
/** two CLI runs, two daemon starts (each a `tsx` process) and two handler runs, on a busy host */
const TEST_MS = 120_000;
const HANDLERS = `export default {
  commands: [
    {
      prefix: '# slow',
      async run(ctx) {
        ctx.log.info('slow handler started');
        await new Promise((resolve) => setTimeout(resolve, ${SLOW_MS}));
        await ctx.reply('slow done: ' + ctx.command.prompt);
      },
    },
    {
      prefix: '# twice',
      async run(ctx) {
        await ctx.reply('early: ' + ctx.command.prompt);
        ctx.log.info('twice handler answered once');
        await new Promise((resolve) => setTimeout(resolve, ${SLOW_MS}));
        await ctx.reply('late: ' + ctx.command.prompt);
      },
    },
  ],
};
`;

interface Setup {
  env: Record<string, string>;
  dir: string;
}

async function setup(dbUrl?: string): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'msgbot-crash-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'handlers.mjs'), HANDLERS);
  const env: Record<string, string> = {
    MSGBOT_DATA_DIR: dir,
    MSGBOT_HMAC_SECRET: KEYS.secret,
    MSGBOT_HMAC_SALT: KEYS.salt,
    MSGBOT_LOG_CATEGORIES_MESSAGE: 'debug',
    ...(dbUrl === undefined ? {} : { MSGBOT_DB_URL: dbUrl }),
  };
  await cliOk(['migrate'], env);
  await cliOk(['devices', 'approve', 'demo-bot', 'a1b2c3', '--create'], env);
  await cliOk(['rooms', 'approve', 'demo-bot', CHANNEL, '--device', 'a1b2c3', '--create'], env);
  return { env, dir };
}

async function serve(s: Setup): Promise<{ d: DaemonProcess; port: number }> {
  const d = spawnDaemon(
    ['--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--handlers', join(s.dir, 'handlers.mjs')],
    s.env,
  );
  onTestFinished(() => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  });
  const listening = await d.waitLog((l) => l.msg === 'listening for phones', 20_000);
  return { d, port: Number(listening.port) };
}

async function kill(d: DaemonProcess): Promise<void> {
  d.child.kill('SIGKILL');
  const exit = await d.exited;
  expect(exit.signal).toBe('SIGKILL');
}

async function phone32(port: number): Promise<BridgeClient> {
  const c = await BridgeClient.connect({ port, secret: KEYS.secret, salt: KEYS.salt });
  onTestFinished(() => c.close());
  await c.next((p) => p.event === 'handshakeComplete');
  return c;
}

const texts32 = (clients: BridgeClient[]) =>
  clients.flatMap((c) => c.packets.filter((p) => p.event === 'messageResponse').map((p) => String(p.data.text)));

/** A raw v3.3.3 phone: writes what it is given, collects the reply texts (base64 payloads). */
class Phone33 {
  readonly texts: string[] = [];
  private rest = '';
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      const parts = (this.rest + d).split('\n');
      this.rest = parts.pop() ?? '';
      for (const line of parts) {
        const { header, payload } = splitV33(line);
        const h = JSON.parse(header) as { event: string };
        if (h.event === 'messageResponse') this.texts.push(Buffer.from(payload, 'base64').toString('utf8'));
      }
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, lines: string[]): Promise<Phone33> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const p = new Phone33(socket);
    onTestFinished(() => {
      socket.destroy();
    });
    // PROTOCOL §5.3.1: the offline queue and the handshake go out in one write, queue first
    socket.write(lines.map((l) => `${l}\n`).join(''));
    return p;
  }
}

async function until(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const count = (list: string[], text: string) => list.filter((t) => t === text).length;

function scenarios(db: () => Promise<string | undefined>) {
  it('v3.2.2 phone: SIGKILL mid-handler, restart, reconnect and re-send → exactly one answer', {
    timeout: TEST_MS,
  }, async () => {
    const s = await setup(await db());
    const first = await serve(s);
    const before = await phone32(first.port);
    const line = before.analyze('# slow x', { channelId: CHANNEL });
    await first.d.waitLog((l) => l.msg === 'slow handler started');
    await kill(first.d);
    await before.waitClosed();

    const second = await serve(s);
    expect(
      second.d.logs.find((l) => l.msg === 'durable mailbox recovered; replayed messages wait for their phones'),
    ).toMatchObject({ replayed: 1 });
    // the phone comes back only after a while (PROTOCOL §6.3: about 4 s), longer than the handler
    // takes: the replay waits for it
    await new Promise((r) => setTimeout(r, SLOW_MS + 500));
    const after = await phone32(second.port);
    // PROTOCOL §6.5: a packet whose write failed is re-sent on the next connection
    after.writeRaw(`${line}\n`);
    await until(() => texts32([before, after]).includes('slow done: x'));
    await second.d.waitLog((l) => l.msg === 'duplicate dropped');
    await new Promise((r) => setTimeout(r, SLOW_MS + 500)); // a second answer would come by now
    expect(count(texts32([before, after]), 'slow done: x')).toBe(1);
    await kill(second.d);
  });

  it('v3.2.2 phone: SIGKILL after the first of two answers; the replay sends only the second', {
    timeout: TEST_MS,
  }, async () => {
    const s = await setup(await db());
    const first = await serve(s);
    const before = await phone32(first.port);
    before.analyze('# twice z', { channelId: CHANNEL });
    await until(() => texts32([before]).includes('early: z'));
    await kill(first.d);
    await before.waitClosed();

    const second = await serve(s);
    const after = await phone32(second.port);
    await until(() => texts32([after]).includes('late: z'));
    await second.d.waitLog((l) => l.msg === 'reply written before the restart; not sent again');
    await new Promise((r) => setTimeout(r, 500)); // an answer sent twice would come by now
    expect(texts32([before, after])).toEqual(['early: z', 'late: z']);
    await kill(second.d);
  });

  it('v3.3.3 phone: SIGKILL mid-handler; the offline queue flushed before the handshake is answered too', {
    timeout: TEST_MS,
  }, async () => {
    const s = await setup(await db());
    const first = await serve(s);
    const id = { deviceId: 'a1b2c3' };
    const before = await Phone33.connect(first.port, [
      v33Handshake(id, Date.now()),
      v33Message(id, KEYS, Date.now(), { text: '# slow y', logId: '3301234567890000001', channelId: CHANNEL }),
    ]);
    await first.d.waitLog((l) => l.msg === 'slow handler started');
    await kill(first.d);

    const second = await serve(s);
    const after = await Phone33.connect(second.port, [
      v33Message(id, KEYS, Date.now(), { text: '# slow queued', logId: '3301234567890000002', channelId: CHANNEL }),
      v33Handshake(id, Date.now()),
    ]);
    await until(() => after.texts.includes('slow done: y') && after.texts.includes('slow done: queued'));
    await new Promise((r) => setTimeout(r, SLOW_MS + 500));
    const all = [...before.texts, ...after.texts];
    expect(count(all, 'slow done: y')).toBe(1);
    expect(count(all, 'slow done: queued')).toBe(1);
    await kill(second.d);
  });
}

// sequential: the helpers register clean-ups with the module-level onTestFinished, which only
// knows the running test when tests do not run concurrently
describe('crash and replay, SQLite (DESIGN.md §2)', () => {
  scenarios(async () => undefined);
});

describeMysql('crash and replay, MariaDB (DESIGN.md §2)', () => {
  scenarios(async () => {
    const db = await createScratchDatabase();
    onTestFinished(() => db.drop());
    return db.url;
  });
});
