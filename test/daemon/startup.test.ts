import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import PinoPretty from 'pino-pretty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineAddresses } from '../../src/gateway/listening.js';
import { kstLogTime, prettyOptions } from '../../src/infra/log-pretty.js';
import { describeStore } from '../../src/startup-info.js';
import { KEYS } from '../support/fake-connection.js';
import { ROOT, runCli, spawnDaemon } from './child.js';

/** Start-up says what it is: version, store, handlers and commands, phone and admin addresses. */

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-startup-'));
  writeFileSync(
    join(dir, 'bot.mjs'),
    "export default { commands: [{ prefix: '!hi', run: (ctx) => ctx.reply('hi') }] };\n",
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = () => ({
  MSGBOT_DATA_DIR: join(dir, 'data'),
  MSGBOT_HMAC_SECRET: KEYS.secret,
  MSGBOT_HMAC_SALT: KEYS.salt,
});

describe('start-up', () => {
  it('--version prints the package.json version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('logs version, store, handlers with their commands, the phone address and the admin address', async () => {
    const d = spawnDaemon(
      ['--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--handlers', join(dir, 'bot.mjs')],
      { ...env(), MSGBOT_ADMIN_PORT: '0' },
    );
    try {
      const starting = await d.waitLog(
        (l) => String(l.msg).startsWith('msgbot-gateway ') && l.msg !== 'msgbot-gateway started',
      );
      expect(starting).toMatchObject({ msg: `msgbot-gateway ${VERSION} starting`, version: VERSION });
      const loaded = await d.waitLog((l) => l.msg === 'operator handlers loaded');
      expect(loaded).toMatchObject({ handlers: join(dir, 'bot.mjs'), commands: ['!hi'], catchAll: false });
      const started = await d.waitLog((l) => l.msg === 'msgbot-gateway started');
      const listening = await d.waitLog((l) => l.msg === 'listening for phones');
      expect(started).toMatchObject({
        version: VERSION,
        store: { kind: 'sqlite', path: join(dir, 'data', 'msgbot.db') },
        handlers: join(dir, 'bot.mjs'),
        commands: ['!hi'],
        builtins: ['# echo', '# client_info', '# IMGEXT', '# reload bots-config'],
        phones: [`127.0.0.1:${listening.port}`],
        tls: 'off',
        admin: 'off',
      });
      expect(listening.phoneAddresses).toEqual([`127.0.0.1:${listening.port}`]);
      d.child.kill('SIGTERM');
      await d.exited;
    } finally {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    }
  });

  it('names the admin address when the admin endpoint is on', async () => {
    // admin.port 0 means off in the config; an ephemeral admin port is not configurable, so a fixed free one is picked
    const port = await freePort();
    const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--admin-port', String(port)], env());
    try {
      const started = await d.waitLog((l) => l.msg === 'msgbot-gateway started');
      expect(started.admin).toBe(`http://127.0.0.1:${port}`);
      expect(started.handlers).toBeNull();
      d.child.kill('SIGTERM');
      await d.exited;
    } finally {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    }
  });

  it('--pretty writes no colour codes to a pipe and labels the time as KST', async () => {
    const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--pretty'], env());
    try {
      const deadline = Date.now() + 10_000;
      while (!d.other.join('').includes('msgbot-gateway started') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const text = d.other.join('\n');
      expect(text).toContain('msgbot-gateway started');
      expect(text).not.toContain('\u001b[');
      expect(text).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} KST\]/m);
      d.child.kill('SIGTERM');
      await d.exited;
    } finally {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    }
  });
});

describe('start-up details', () => {
  it('masks the MySQL password and gives the SQLite file as an absolute path', () => {
    expect(describeStore('mysql://bot:s3cret@db.local:3306/kakaobot')).toEqual({
      kind: 'mysql',
      url: expect.not.stringContaining('s3cret'),
    });
    expect(describeStore('sqlite:data/msgbot.db')).toEqual({
      kind: 'sqlite',
      path: join(process.cwd(), 'data/msgbot.db'),
    });
  });

  it("lists the machine's addresses when listening on 0.0.0.0", () => {
    const mine = Object.values(networkInterfaces())
      .flatMap((l) => l ?? [])
      .filter((a) => !a.internal && a.family === 'IPv4')
      .map((a) => a.address);
    expect(machineAddresses('0.0.0.0')).toEqual(mine.length > 0 ? mine : ['127.0.0.1']);
    expect(machineAddresses('0.0.0.0')).not.toContain('0.0.0.0');
    expect(machineAddresses('10.1.2.3')).toEqual(['10.1.2.3']);
  });

  it('shows KST with the label, and colours only when asked (a TTY)', () => {
    // 2026-12-06 16:49:14.123 UTC = 2026-12-07 01:49:14.123 KST
    expect(kstLogTime(Date.UTC(2026, 11, 6, 16, 49, 14, 123))).toBe('2026-12-07 01:49:14.123 KST');
    const render = (colorize: boolean): string => {
      let out = '';
      const sink = new Writable({
        write(chunk: Buffer, _e, done) {
          out += chunk.toString('utf8');
          done();
        },
      });
      const stream = PinoPretty({ ...prettyOptions({ colorize }), destination: sink, sync: true });
      pino({ base: {}, timestamp: () => ',"time":1796575754123' }, stream).info('hello');
      return out;
    };
    expect(render(false)).toBe('[2026-12-07 01:49:14.123 KST] INFO: hello\n');
    expect(render(true)).toContain('\u001b[');
  });
});

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}
