import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * A server under test as a separate process (its own event loop, its own RSS): the child prints
 * one JSON line `{"ready":true,"port":…}` on stdout when it listens, may print `{"stats":…}` when
 * it stops, and stops when its stdin ends.
 *
 * It runs compiled JavaScript, as `npm start` runs the daemon (`node dist/cli.js`): `bench/` and
 * `src/` are compiled once per bench run into `.bench-build/` (tsconfig.bench.json, incremental).
 * Under `node --import tsx` the TypeScript loader's own thread alone adds ~38 MiB of RSS and its
 * source-map hooks some CPU, which no operator pays. `BENCH_TSX=1` runs the sources through tsx.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD = join(ROOT, '.bench-build');
const FROM_SOURCE = process.env.BENCH_TSX === '1';
let built = false;

/** node's arguments to run `script` (a path relative to the project, `.ts`) */
function launch(script: string): string[] {
  if (FROM_SOURCE) return ['--import', 'tsx', script];
  if (!built) {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.bench.json'], { cwd: ROOT, stdio: 'inherit' });
    // src/version.ts reads the package.json one folder above src/, as it does from dist/
    copyFileSync(join(ROOT, 'package.json'), join(BUILD, 'package.json'));
    built = true;
  }
  return [join(BUILD, script.replace(/\.ts$/, '.js'))];
}
/** Linux user-space clock ticks per second (CLK_TCK); 100 on every mainstream architecture. */
const CLK_TCK = 100;
const STDERR_KEPT = 20;

const readySchema = z.object({ ready: z.literal(true), port: z.number().int().positive(), setupMs: z.number() });
const statsSchema = z.object({ stats: z.record(z.string(), z.number()) });
const profileSchema = z.object({ profile: z.string() });

export interface ChildOptions {
  script: string;
  env?: Record<string, string>;
  /** the child profiles itself between `profile-start` and `profile-stop` into this folder */
  profileDir?: string;
}

export interface RssSample {
  rssKb: number;
  hwmKb: number;
}

interface ChildOutput {
  /** the first stderr lines (XState warnings, gateway warn/error logs) */
  stderr: string[];
  stderrLines: number;
  stats: Record<string, number> | undefined;
  profile: string | undefined;
}

export class ServerChild {
  private peakRssKb = 0;
  private sampler: NodeJS.Timeout | undefined;
  private samples = 0;
  /** VmRSS in KiB once a second from startSampling() on */
  readonly rssEverySecondKb: number[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    private readonly output: ChildOutput,
    readonly port: number,
    readonly setupMs: number,
  ) {
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null) resolve(proc.exitCode);
      else proc.once('exit', (code) => resolve(code));
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get stderr(): readonly string[] {
    return this.output.stderr;
  }

  get stderrLines(): number {
    return this.output.stderrLines;
  }

  /** the CPU profile file the child wrote on `profile-stop` */
  get profile(): string | undefined {
    return this.output.profile;
  }

  /** one command line to the child (`profile-start`, `profile-stop`) */
  command(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  /** what the child printed as `{"stats":…}` when it stopped */
  get stats(): Record<string, number> | undefined {
    return this.output.stats;
  }

  static async start(o: ChildOptions): Promise<ServerChild> {
    const env = {
      ...process.env,
      ...o.env,
      ...(o.profileDir !== undefined ? { BENCH_PROFILE_DIR: o.profileDir } : {}),
    };
    // --expose-gc: the gateway child reports its heap after a full GC at the end (leak vs headroom)
    const proc = spawn(process.execPath, ['--expose-gc', ...launch(o.script)], {
      cwd: ROOT,
      env,
      stdio: 'pipe',
    });
    const output: ChildOutput = { stderr: [], stderrLines: 0, stats: undefined, profile: undefined };
    createInterface({ input: proc.stderr }).on('line', (line) => {
      output.stderrLines++;
      if (output.stderr.length < STDERR_KEPT) output.stderr.push(line);
    });
    const lines = createInterface({ input: proc.stdout });
    const onExit = (code: number | null) =>
      failReady(new Error(`${o.script} exited with ${code} before it was ready:\n${output.stderr.join('\n')}`));
    let failReady: (e: Error) => void = () => {};
    const ready = new Promise<z.infer<typeof readySchema>>((resolve, reject) => {
      failReady = reject;
      const timer = setTimeout(() => reject(new Error(`${o.script}: not ready within 60 s`)), 60_000);
      proc.once('exit', onExit);
      lines.on('line', (line) => {
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          return; // not ours
        }
        const r = readySchema.safeParse(value);
        if (r.success) {
          clearTimeout(timer);
          resolve(r.data);
          return;
        }
        const s = statsSchema.safeParse(value);
        if (s.success) output.stats = s.data.stats;
        const p = profileSchema.safeParse(value);
        if (p.success) output.profile = p.data.profile;
      });
    });
    let r: z.infer<typeof readySchema>;
    try {
      r = await ready;
    } catch (error) {
      proc.kill('SIGKILL'); // our own child, stuck before it listened
      throw error;
    }
    proc.off('exit', onExit);
    return new ServerChild(proc, output, r.port, r.setupMs);
  }

  /** Samples VmRSS every `everyMs` for the peak while the load runs. */
  startSampling(everyMs = 100): void {
    const perSecond = Math.max(1, Math.round(1000 / everyMs));
    this.sampler = setInterval(() => {
      const { rssKb } = this.rss();
      if (this.samples++ % perSecond === 0) this.rssEverySecondKb.push(rssKb);
    }, everyMs);
  }

  /** VmRSS now and VmHWM (the kernel's peak RSS of the process) in KiB. */
  rss(): RssSample {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const rssKb = field(status, 'VmRSS');
    const hwmKb = field(status, 'VmHWM');
    if (rssKb > this.peakRssKb) this.peakRssKb = rssKb;
    return { rssKb, hwmKb };
  }

  get sampledPeakRssKb(): number {
    return this.peakRssKb;
  }

  /** user + system CPU seconds the child has used so far (/proc/<pid>/stat utime, stime). */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / CLK_TCK;
  }

  /** SIGKILL, as a crash or `kill -9` would end it (`--kill-at`). */
  async kill(): Promise<void> {
    if (this.sampler !== undefined) clearInterval(this.sampler);
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** Ends the child's stdin (its signal to stop gracefully); kills it if it takes too long. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (this.sampler !== undefined) clearInterval(this.sampler);
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

function field(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return m === null ? 0 : Number(m[1]);
}
