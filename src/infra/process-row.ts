import { hostname } from 'node:os';
import type { Clock } from './clock.js';
import { kstDateTime } from './store/kst.js';
import type { ProcessStatus, ProcessStore } from './store/schedule-types.js';
import type { ProcessStats } from './telemetry/process-stats.js';

/**
 * This process's kb_server_processes row (PROTOCOL §7.1, §7.13, §8.9): `starting` (with the pid)
 * → `running` → `stopping` → `stopped` (pid NULL, zero usage), or `error`; while running, CPU and
 * memory averages and last_heartbeat every `heartbeatMs`. A database that fails a write only
 * costs that write: the row is monitoring, never a reason to stop serving.
 */

export interface ProcessRowOptions {
  store: ProcessStore;
  name: string;
  clock: Clock;
  heartbeatMs: number;
  pid?: number;
  sampler: { start(): void; stop(): void; stats(): ProcessStats };
  onError?: (error: unknown, what: string) => void;
}

/** PROTOCOL §7.13 without a process name: a row named after host and port. */
export function defaultProcessName(port: number, host = hostname()): string {
  return `${host}:${port}`.slice(0, 100);
}

/**
 * PROTOCOL §7.1: `serve --name` takes its port and type from the row; a missing row is an error
 * that says what to do.
 */
export async function processRowFor(store: ProcessStore, name: string): Promise<{ port: number; type: string }> {
  const row = await store.getProcess(name);
  if (row === undefined) {
    throw new Error(
      `kb_server_processes has no row with process_name "${name}": add one (process_name, server_id, port, type) ` +
        'as the back office does, or start without --name',
    );
  }
  if (!Number.isInteger(row.port) || row.port <= 0 || row.port > 65_535) {
    throw new Error(`kb_server_processes row "${name}" has no usable port (${row.port})`);
  }
  return { port: row.port, type: row.type };
}

export class ProcessRowKeeper {
  private timer: unknown = null;
  private readonly pid: number;

  constructor(private readonly opts: ProcessRowOptions) {
    this.pid = opts.pid ?? process.pid;
  }

  get name(): string {
    return this.opts.name;
  }

  private now(): string {
    return kstDateTime(this.opts.clock.now());
  }

  private async status(status: ProcessStatus, pid: number | null): Promise<void> {
    try {
      await this.opts.store.setProcessStatus(this.opts.name, status, pid, this.now());
    } catch (error) {
      this.opts.onError?.(error, `status ${status}`);
    }
  }

  starting(): Promise<void> {
    return this.status('starting', this.pid);
  }

  /** `running`, then a heartbeat every heartbeatMs. */
  async running(): Promise<void> {
    await this.status('running', this.pid);
    this.opts.sampler.start();
    this.schedule();
  }

  stopping(): Promise<void> {
    this.halt();
    return this.status('stopping', this.pid);
  }

  stopped(): Promise<void> {
    this.halt();
    return this.status('stopped', null);
  }

  error(): Promise<void> {
    this.halt();
    return this.status('error', this.pid);
  }

  /** One heartbeat now (also what the timer does). */
  async heartbeat(): Promise<void> {
    const s = this.opts.sampler.stats();
    try {
      await this.opts.store.processHeartbeat(this.opts.name, s.cpuAvg, s.rssAvgMb, this.now());
    } catch (error) {
      this.opts.onError?.(error, 'heartbeat');
    }
  }

  private schedule(): void {
    this.timer = this.opts.clock.setTimeout(() => {
      void this.heartbeat().finally(() => {
        if (this.timer !== null) this.schedule();
      });
    }, this.opts.heartbeatMs);
  }

  private halt(): void {
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    this.opts.sampler.stop();
  }
}
