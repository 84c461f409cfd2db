import { statfs as fsStatfs } from 'node:fs/promises';
import os from 'node:os';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { SystemSampleRow } from '../store/types.js';

/** The parts of `node:os` the sampler reads, injectable for tests. */
export interface HostProbe {
  cpus(): ReadonlyArray<{ times: { user: number; nice: number; sys: number; idle: number; irq: number } }>;
  totalmem(): number;
  freemem(): number;
  /** fs.statfs of a path: block counts and block size */
  statfs(path: string): Promise<{ bsize: number; blocks: number; bfree: number; bavail: number }>;
}

export const nodeHostProbe: HostProbe = {
  cpus: () => os.cpus(),
  totalmem: () => os.totalmem(),
  freemem: () => os.freemem(),
  statfs: (path) => fsStatfs(path),
};

export interface SystemSamplerOptions {
  clock: Clock;
  writer: { system(row: SystemSampleRow): void };
  /** the `database` log category; without it, incomplete samples are silent */
  log?: Logger;
  /** PROTOCOL §8.5 server_name */
  serverName: string;
  /** disk usage is that of the filesystem holding this folder */
  dataDir: string;
  /** config telemetry.systemSampleMs (PROTOCOL §8.5: 300 s) */
  intervalMs?: number;
  /** registered connections right now */
  activeConnections: () => number;
  /** messages waiting in the dispatcher's mailbox right now */
  mailboxDepth: () => number;
  probe?: HostProbe;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

interface CpuTotals {
  busy: number;
  total: number;
}

/** PROTOCOL §8.5: host samples into kb_system_monitor, handed to the telemetry writer. */
export class SystemSampler {
  private readonly opts: SystemSamplerOptions;
  private readonly probe: HostProbe;
  private readonly intervalMs: number;
  private timer: unknown = null;
  private lastCpu: CpuTotals | null = null;
  private sampling = false;
  private failing = false;

  constructor(opts: SystemSamplerOptions) {
    this.opts = opts;
    this.probe = opts.probe ?? nodeHostProbe;
    this.intervalMs = opts.intervalMs ?? 300_000;
  }

  start(): void {
    if (this.timer !== null) return;
    // Baseline now, so the first sample's CPU % covers the first interval.
    this.lastCpu = this.cpuTotals();
    this.timer = this.opts.clock.setTimeout(this.tick, this.intervalMs);
  }

  stop(): void {
    if (this.timer === null) return;
    this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Builds one row from the host's state now. Never rejects; unreadable parts are 0. */
  async sample(): Promise<SystemSampleRow> {
    const cpu = this.cpuPercent();
    let complete = cpu !== null;
    const cpuPercent = cpu ?? 0;
    let memoryTotal = 0;
    let memoryUsed = 0;
    try {
      memoryTotal = this.probe.totalmem();
      memoryUsed = Math.max(0, memoryTotal - this.probe.freemem());
    } catch (err) {
      complete = false;
      this.warnOnce(err, 'memory');
    }
    let diskUsagePercent = 0;
    try {
      const fs = await this.probe.statfs(this.opts.dataDir);
      // Like df: used / (used + available to unprivileged users).
      const used = fs.blocks - fs.bfree;
      const denominator = used + fs.bavail;
      diskUsagePercent = denominator > 0 ? round2((used / denominator) * 100) : 0;
    } catch (err) {
      complete = false;
      this.warnOnce(err, 'disk');
    }
    if (complete) this.failing = false;
    return {
      serverName: this.opts.serverName,
      cpuPercent,
      memoryTotal,
      memoryUsed,
      memoryPercent: memoryTotal > 0 ? round2((memoryUsed / memoryTotal) * 100) : 0,
      diskUsagePercent,
      activeConnections: this.safeCount(this.opts.activeConnections),
      messageQueueSize: this.safeCount(this.opts.mailboxDepth),
    };
  }

  private readonly tick = (): void => {
    this.timer = this.opts.clock.setTimeout(this.tick, this.intervalMs);
    // A statfs that hangs (dead network mount) must not pile up samples.
    if (this.sampling) return;
    this.sampling = true;
    this.sample()
      .then((row) => this.opts.writer.system(row))
      .catch((err: unknown) => this.warnOnce(err, 'sample'))
      .finally(() => {
        this.sampling = false;
      });
  };

  /** Host CPU % since the previous call, from os.cpus() time deltas; null when unreadable. */
  private cpuPercent(): number | null {
    try {
      const now = this.cpuTotals();
      const last = this.lastCpu;
      this.lastCpu = now;
      if (last === null) return 0;
      const total = now.total - last.total;
      return total > 0 ? round2(Math.max(0, ((now.busy - last.busy) / total) * 100)) : 0;
    } catch (err) {
      this.warnOnce(err, 'cpu');
      return null;
    }
  }

  private cpuTotals(): CpuTotals {
    let busy = 0;
    let total = 0;
    for (const cpu of this.probe.cpus()) {
      const t = cpu.times;
      const all = t.user + t.nice + t.sys + t.idle + t.irq;
      total += all;
      busy += all - t.idle;
    }
    return { busy, total };
  }

  private safeCount(read: () => number): number {
    try {
      const value = read();
      return Number.isFinite(value) ? Math.max(0, Math.trunc(value)) : 0;
    } catch {
      return 0;
    }
  }

  /** One warning per run of incomplete samples; samples go on with 0 for the unreadable part. */
  private warnOnce(err: unknown, part: string): void {
    if (this.failing) {
      this.opts.log?.debug({ err, part }, 'host sample incomplete');
      return;
    }
    this.failing = true;
    this.opts.log?.warn({ err, part, dataDir: this.opts.dataDir }, 'host sample incomplete: unreadable values are 0');
  }
}
