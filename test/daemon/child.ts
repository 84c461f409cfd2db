import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The real CLI as a child process (`node --import tsx src/cli.ts …`), the way an operator runs
 * it, for the CLI and shutdown tests.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli.ts'];

/** The parent's environment without any MSGBOT_* variable, plus `env`. */
export function childEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('MSGBOT_')) out[name] = value;
  return { ...out, ...env };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command to completion. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Like runCli, but rejects unless the command exits 0. */
export async function cliOk(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await runCli(args, env);
  if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

export type LogLine = Record<string, unknown>;

export interface DaemonProcess {
  child: ChildProcess;
  /** every JSON line the daemon wrote to stdout so far */
  logs: LogLine[];
  /** stdout lines that were not JSON, and stderr */
  other: string[];
  /** resolves with the first log line matching `predicate` (already written or future) */
  waitLog(predicate: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** resolves when the process has exited and its output is read */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Starts `serve` with `args`; logs are JSON lines on stdout (the default). */
export function spawnDaemon(args: string[], env: Record<string, string>): DaemonProcess {
  const child = spawn(process.execPath, [...CLI, 'serve', ...args], { cwd: ROOT, env: childEnv(env) });
  const logs: LogLine[] = [];
  const other: string[] = [];
  const waiters = new Set<{ predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let rest = '';
  child.stdout?.on('data', (b: Buffer) => {
    const parts = (rest + b.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const text of parts) {
      if (text === '') continue;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        other.push(text);
        continue;
      }
      logs.push(line);
      for (const w of waiters) {
        if (w.predicate(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr?.on('data', (b: Buffer) => other.push(b.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    // 'close', not 'exit': by then stdout is drained, so every log line has been seen.
    child.on('close', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  return {
    child,
    logs,
    other,
    exited,
    waitLog(predicate, timeoutMs = 10_000) {
      const found = logs.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const last = logs.slice(-5).map((l) => JSON.stringify(l));
          reject(
            new Error(
              `no such log line within ${timeoutMs} ms; last: ${last.join('\n')}; stderr: ${other.join('\n').slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(() => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          const last = logs.slice(-5).map((l) => JSON.stringify(l));
          reject(
            new Error(
              `daemon exited first; last log lines: ${last.join('\n')}; stderr: ${other.join('\n').slice(-2000)}`,
            ),
          );
        });
      });
    },
  };
}
