import type { Clock } from '../clock.js';

/** PROTOCOL §7.11, §8.4: the server columns of a kb_ping_monitor row. */
export interface ProcessStats {
  /** CPU % of this process, average of the kept samples (100 = one core busy) */
  cpuAvg: number;
  cpuMax: number;
  /** resident memory in MiB, average of the kept samples */
  rssAvgMb: number;
  rssMaxMb: number;
}

export interface ProcessSamplerOptions {
  clock: Clock;
  /** PROTOCOL §7.13: every 3 s */
  intervalMs?: number;
  /** PROTOCOL §7.13: the last 10 samples */
  keep?: number;
  /** cumulative CPU time in µs (process.cpuUsage), injectable for tests */
  cpuUsage?: () => { user: number; system: number };
  /** resident set size in bytes, injectable for tests */
  rssBytes?: () => number;
}

const MIB = 1024 * 1024;

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Samples this process's CPU % (cpuUsage deltas over wall time on the clock) and RSS, keeping a
 * short window so each ping row can carry average and maximum (PROTOCOL §7.13).
 */
export class ProcessSampler {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly keep: number;
  private readonly cpuUsage: () => { user: number; system: number };
  private readonly rssBytes: () => number;
  /** ring of the last `keep` samples; `count` of them are filled */
  private readonly cpu: number[];
  private readonly rss: number[];
  private next = 0;
  private count = 0;
  private lastCpuUs = 0;
  private lastAt = 0;
  private timer: unknown = null;

  constructor(opts: ProcessSamplerOptions) {
    this.clock = opts.clock;
    this.intervalMs = opts.intervalMs ?? 3_000;
    this.keep = opts.keep ?? 10;
    this.cpuUsage = opts.cpuUsage ?? (() => process.cpuUsage());
    this.rssBytes = opts.rssBytes ?? (() => process.memoryUsage.rss());
    this.cpu = new Array<number>(this.keep).fill(0);
    this.rss = new Array<number>(this.keep).fill(0);
  }

  start(): void {
    if (this.timer !== null) return;
    this.lastCpuUs = this.totalCpuUs();
    this.lastAt = this.clock.now();
    this.timer = this.clock.setTimeout(this.tick, this.intervalMs);
  }

  stop(): void {
    if (this.timer === null) return;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Average and maximum over the kept samples; zeros before the first sample. */
  stats(): ProcessStats {
    if (this.count === 0) return { cpuAvg: 0, cpuMax: 0, rssAvgMb: 0, rssMaxMb: 0 };
    let cpuSum = 0;
    let cpuMax = 0;
    let rssSum = 0;
    let rssMax = 0;
    for (let i = 0; i < this.count; i++) {
      const c = this.cpu[i]!;
      const r = this.rss[i]!;
      cpuSum += c;
      rssSum += r;
      if (c > cpuMax) cpuMax = c;
      if (r > rssMax) rssMax = r;
    }
    return {
      cpuAvg: round2(cpuSum / this.count),
      cpuMax: round2(cpuMax),
      rssAvgMb: round2(rssSum / this.count / MIB),
      rssMaxMb: round2(rssMax / MIB),
    };
  }

  private readonly tick = (): void => {
    this.timer = this.clock.setTimeout(this.tick, this.intervalMs);
    try {
      this.sample();
    } catch {
      // A failing probe only costs this sample; the statistics are best effort.
    }
  };

  private sample(): void {
    const at = this.clock.now();
    const cpuUs = this.totalCpuUs();
    const wallMs = at - this.lastAt;
    // µs of CPU over ms of wall time: ×100 for %, ÷1000 for the unit.
    const percent = wallMs > 0 ? Math.max(0, (cpuUs - this.lastCpuUs) / wallMs / 10) : 0;
    this.lastCpuUs = cpuUs;
    this.lastAt = at;
    this.cpu[this.next] = percent;
    this.rss[this.next] = this.rssBytes();
    this.next = (this.next + 1) % this.keep;
    if (this.count < this.keep) this.count++;
  }

  private totalCpuUs(): number {
    const usage = this.cpuUsage();
    return usage.user + usage.system;
  }
}
