import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
// concurrent tests: clean-ups go through each test's own context (the module-level onTestFinished
// cannot tell which concurrent test is running)
import { afterAll, beforeAll, describe, it } from 'vitest';
import { kstText } from '../../src/actors/schedule-rules.js';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { cliOk, runCli, spawnDaemon } from './child.js';

/**
 * PROTOCOL §7.12, §7.1, §7.13: `schedules …` on the store and `serve --name` with its
 * kb_server_processes row, run as child processes like `npx msgbot-gateway`.
 */

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-sched-cli-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function env(name: string): Record<string, string> {
  return { MSGBOT_DATA_DIR: join(dir, name) };
}

async function withDb<T>(name: string, fn: (s: ReturnType<typeof openSqliteStore>) => Promise<T>): Promise<T> {
  const store = openSqliteStore(join(dir, name, 'msgbot.db'));
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function until(predicate: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.concurrent('schedules CLI', { timeout: 90_000 }, () => {
  it('adds daily, weekly and once (with an image) schedules; lists, pauses, resumes and deletes them', async ({
    expect,
  }) => {
    const e = env('schedules');
    mkdirSync(join(dir, 'schedules'), { recursive: true });
    await cliOk(['migrate'], e); // only serve and migrate create a database
    const png = join(dir, 'schedules', 'pic.png');
    writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const daily = await cliOk(
      [
        'schedules',
        'add',
        'demo-bot',
        '18469710452305870',
        '--device',
        'a1b2',
        '--text',
        '좋은 아침',
        '--daily',
        '09:00',
      ],
      e,
    );
    expect(daily.stdout).toMatch(/^schedule 1 added: daily, next \d{4}-\d{2}-\d{2} 09:00:00 KST\n$/);
    const weekly = await cliOk(
      [
        'schedules',
        'add',
        'demo-bot',
        '18469710452305870',
        '--device',
        'a1b2',
        '--text',
        'weekly',
        '--weekly',
        'monday,friday',
        '18:30',
      ],
      e,
    );
    expect(weekly.stdout).toMatch(/schedule 2 added: weekly, next .* 18:30:00 KST/);
    await cliOk(
      [
        'schedules',
        'add',
        'demo-bot',
        '18469710452305870',
        '--device',
        'a1b2',
        '--image',
        png,
        '--media-wait',
        '1500',
        '--once',
        '2099-01-02 03:04',
      ],
      e,
    );
    const list = await cliOk(['schedules', 'list'], e);
    expect(list.stdout.trim().split('\n')).toHaveLength(3);
    expect(list.stdout).toContain('weekly monday,friday 18:30:00');
    const rows = await withDb('schedules', async (s) => s.schedules.listSchedules());
    expect(rows.map((r) => [r.scheduleType, r.status, r.targetDeviceId])).toEqual([
      ['daily', 'active', 'a1b2'],
      ['weekly', 'active', 'a1b2'],
      ['once', 'active', 'a1b2'],
    ]);
    expect(rows[2]).toMatchObject({
      nextSendAt: '2099-01-02 03:04:00',
      imageStorageMode: 'base64',
      mediaWaitTime1: 1500,
      messageImages1: [{ base64: Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64'), name: 'pic.png' }],
    });
    expect((rows[0]?.nextSendAt ?? '') > kstText(Date.now() - 1000)).toBe(true);

    expect((await cliOk(['schedules', 'pause', '2'], e)).stdout).toBe('schedule 2: inactive\n');
    const paused = JSON.parse((await cliOk(['schedules', 'list', '--status', 'inactive', '--json'], e)).stdout);
    expect(paused.map((r: { id: number }) => r.id)).toEqual([2]);
    expect((await cliOk(['schedules', 'resume', '2'], e)).stdout).toBe('schedule 2: active\n');
    expect((await cliOk(['schedules', 'delete', '1'], e)).stdout).toBe('schedule 1 deleted\n');
    const missing = await runCli(['schedules', 'delete', '1'], e);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('no schedule 1\n');
  });

  it('refuses an add without exactly one timing, without content, or with a bad time', async ({ expect }) => {
    const e = env('bad-add');
    await cliOk(['migrate'], e);
    const base = ['schedules', 'add', 'demo-bot', '18469710452305870', '--device', 'a1b2'];
    const none = await runCli([...base, '--text', 'x'], e);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('exactly one of --once');
    const empty = await runCli([...base, '--daily', '09:00'], e);
    expect(empty.stderr).toContain('--text and/or --image');
    const badTime = await runCli([...base, '--text', 'x', '--daily', '25:00'], e);
    expect(badTime.stderr).toContain('want a time of day HH:MM');
    const badDays = await runCli([...base, '--text', 'x', '--weekly', 'funday', '09:00'], e);
    expect(badDays.stderr).toContain('comma list of monday');
    expect(await withDb('bad-add', async (s) => s.schedules.listSchedules())).toEqual([]);
  });
});

// Daemons one at a time, with room for a loaded machine.
describe('serve and its kb_server_processes row', { timeout: 90_000 }, () => {
  it('serve --name without a kb_server_processes row stops with a clear error', async ({ expect }) => {
    const r = await runCli(['serve', '--name', 'gw-missing', '--admin-port', '0'], env('no-row'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('kb_server_processes has no row with process_name "gw-missing"');
  });

  it('serve --name listens on the row port and keeps the row current: starting → running → stopped', async ({
    expect,
    onTestFinished,
  }) => {
    const e = {
      ...env('named'),
      MSGBOT_PROCESS_HEARTBEAT_MS: '200',
      MSGBOT_HMAC_SECRET: KEYS.secret,
      MSGBOT_HMAC_SALT: KEYS.salt,
      MSGBOT_TIMERS_PING_INTERVAL_MS: '300',
      MSGBOT_TIMERS_PING_JITTER_MS: '0',
      MSGBOT_TELEMETRY_FLUSH_MS: '100',
    };
    const port = await freePort();
    await withDb('named', async (s) => {
      await s.processes.ensureProcess('gw-test-01', 'test-host', port, kstText(Date.now()));
    });
    const d = spawnDaemon(['--name', 'gw-test-01', '--host', '127.0.0.1', '--admin-port', '0'], e);
    onTestFinished(() => {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    });
    const started = await d.waitLog((l) => l.msg === 'started by process name', 45_000);
    expect(started).toMatchObject({ processName: 'gw-test-01', port, type: 'live' });
    const listening = await d.waitLog((l) => l.msg === 'listening for phones', 45_000);
    expect(Number(listening.port)).toBe(port);
    await until(async () =>
      withDb('named', async (s) => (await s.processes.getProcess('gw-test-01'))?.lastHeartbeat != null),
    );
    const running = await withDb('named', async (s) => s.processes.getProcess('gw-test-01'));
    expect(running).toMatchObject({ status: 'running', pid: d.child.pid });
    // PROTOCOL §8.4: the ping rows carry the process name
    const phone = await BridgeClient.connect({ port, secret: KEYS.secret, salt: KEYS.salt });
    onTestFinished(() => phone.close());
    const pingNames = () =>
      withDb('named', async (s) =>
        (s as unknown as { db: { prepare(q: string): { all(): { process_name: string }[] } } }).db
          .prepare('SELECT process_name FROM kb_ping_monitor')
          .all()
          .map((r) => r.process_name),
      );
    await until(async () => (await pingNames()).length > 0);
    expect(new Set(await pingNames())).toEqual(new Set(['gw-test-01']));
    phone.close();
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
    const stopped = await withDb('named', async (s) => s.processes.getProcess('gw-test-01'));
    expect(stopped).toMatchObject({ status: 'stopped', pid: null, cpuUsage: 0, memoryUsage: 0 });
  });

  it('serve without --name keeps a row named after host and port', async ({ expect, onTestFinished }) => {
    const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--admin-port', '0'], env('unnamed'));
    onTestFinished(() => {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    });
    const port = Number((await d.waitLog((l) => l.msg === 'listening for phones', 45_000)).port);
    const name = `${hostname()}:${port}`;
    await until(async () => withDb('unnamed', async (s) => (await s.processes.getProcess(name))?.status === 'running'));
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
    expect(await withDb('unnamed', async (s) => s.processes.getProcess(name))).toMatchObject({
      status: 'stopped',
      port,
    });
  });
});
