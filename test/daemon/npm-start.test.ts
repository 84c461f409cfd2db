import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { childEnv, type LogLine, ROOT } from './child.js';

/**
 * `npm start` runs the compiled build, and SIGTERM to npm (what a process manager, a container
 * runtime or Ctrl-C on a wrapper sends) stops the daemon: npm forwards the signal to its child,
 * which must be the daemon itself, not a shell or tsx in between that dies and leaves it running.
 */

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-npm-start-'));
  // what `prepare` does at npm install / npm ci
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, env: childEnv(), encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr}${build.stdout}`);
}, 180_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  it('runs dist/cli.js serve; SIGTERM to npm stops the daemon', async ({ expect, onTestFinished }) => {
    const npm = spawn('npm', ['start', '--', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0'], {
      cwd: ROOT,
      env: childEnv({ MSGBOT_DATA_DIR: dir }),
    });
    let daemonPid = 0;
    onTestFinished(() => {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      if (daemonPid > 0 && alive(daemonPid)) process.kill(daemonPid, 'SIGKILL');
    });
    const logs: LogLine[] = [];
    let rest = '';
    const listening = new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening" line; got ${rest}`)), 30_000);
      npm.stdout.on('data', (b: Buffer) => {
        const parts = (rest + b.toString('utf8')).split('\n');
        rest = parts.pop() ?? '';
        for (const text of parts) {
          if (!text.startsWith('{')) continue;
          const line = JSON.parse(text) as LogLine;
          logs.push(line);
          if (line.msg === 'listening for phones') {
            clearTimeout(timer);
            resolve(line);
          }
        }
      });
    });
    // 'exit', not 'close': a daemon left behind would hold npm's stdout open
    const npmExited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    const line = await listening;
    daemonPid = Number(line.pid);
    expect(daemonPid).toBeGreaterThan(0);
    expect(daemonPid).not.toBe(npm.pid);
    // the compiled build, not tsx
    const cmdline = readFileSync(`/proc/${daemonPid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain('dist/cli.js');
    expect(cmdline.join(' ')).not.toContain('tsx');

    npm.kill('SIGTERM');
    await npmExited;
    const started = Date.now();
    while (alive(daemonPid) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
    expect(alive(daemonPid)).toBe(false);
    expect(logs.some((l) => l.msg === 'stopping: finishing in-flight messages' && l.signal === 'SIGTERM')).toBe(true);
  }, 60_000);
});
