import { describe, expect, it } from 'vitest';
import type { SystemSampleRow } from '../../src/infra/store/types.js';
import { ProcessSampler } from '../../src/infra/telemetry/process-stats.js';
import { RetentionJob } from '../../src/infra/telemetry/retention.js';
import { type HostProbe, SystemSampler } from '../../src/infra/telemetry/system-sampler.js';
import { advance, capturedLog, FakeStore, settle, simulatedClock, T0 } from './fake-store.js';

const MIB = 1024 * 1024;

describe('ProcessSampler (PROTOCOL §7.13)', () => {
  it('samples CPU % and RSS every 3 s and reports average and maximum of the last 10', () => {
    const clock = simulatedClock();
    // CPU % per 3 s sample: 10, 20, 30 then 40 … 120; RSS 100, 200, … MiB.
    const percents = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];
    let cpuUs = 0;
    let sample = 0;
    let calls = 0;
    const sampler = new ProcessSampler({
      clock,
      cpuUsage: () => {
        // first call is the baseline at start()
        if (calls++ > 0) cpuUs += ((percents[sample] ?? 0) / 100) * 3_000 * 1_000;
        return { user: cpuUs * 0.75, system: cpuUs * 0.25 };
      },
      rssBytes: () => (sample++ + 1) * 100 * MIB,
    });
    expect(sampler.stats()).toEqual({ cpuAvg: 0, cpuMax: 0, rssAvgMb: 0, rssMaxMb: 0 });
    sampler.start();
    clock.increment(2_999);
    expect(sampler.stats().cpuMax).toBe(0);
    clock.increment(1);
    clock.increment(3_000);
    clock.increment(3_000);
    expect(sampler.stats()).toEqual({ cpuAvg: 20, cpuMax: 30, rssAvgMb: 200, rssMaxMb: 300 });

    for (let i = 0; i < 9; i++) clock.increment(3_000);
    // 12 samples taken, the last 10 kept: 30 … 120 %, 300 … 1200 MiB
    expect(sampler.stats()).toEqual({ cpuAvg: 75, cpuMax: 120, rssAvgMb: 750, rssMaxMb: 1200 });

    sampler.stop();
    clock.increment(30_000);
    expect(sample).toBe(12);
  });
});

function fakeHost(over: Partial<HostProbe> = {}): { probe: HostProbe; setCpu(busy: number, idle: number): void } {
  let times = { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 };
  return {
    setCpu(busy, idle) {
      times = { user: busy / 2, nice: 0, sys: busy / 2, idle, irq: 0 };
    },
    probe: {
      // two cores, each with half the totals
      cpus: () => [
        { times: { ...times, user: times.user / 2, sys: times.sys / 2, idle: times.idle / 2 } },
        { times: { ...times, user: times.user / 2, sys: times.sys / 2, idle: times.idle / 2 } },
      ],
      totalmem: () => 8_000_000_000,
      freemem: () => 6_000_000_000,
      statfs: async () => ({ bsize: 4096, blocks: 1000, bfree: 300, bavail: 200 }),
      ...over,
    },
  };
}

describe('SystemSampler (PROTOCOL §8.5)', () => {
  it('hands one host sample to the writer every interval', async () => {
    const clock = simulatedClock();
    const host = fakeHost();
    const rows: SystemSampleRow[] = [];
    const sampler = new SystemSampler({
      clock,
      writer: { system: (row) => rows.push(row) },
      serverName: 'msgbot-gateway',
      dataDir: '/var/lib/msgbot',
      intervalMs: 300_000,
      activeConnections: () => 3,
      mailboxDepth: () => 17,
      probe: host.probe,
    });
    host.setCpu(1_000, 9_000);
    sampler.start();
    host.setCpu(1_000 + 2_500, 9_000 + 7_500);
    await advance(clock, 299_999, 100_000);
    expect(rows).toHaveLength(0);
    clock.increment(1);
    await settle();
    expect(rows).toEqual([
      {
        serverName: 'msgbot-gateway',
        cpuPercent: 25,
        memoryTotal: 8_000_000_000,
        memoryUsed: 2_000_000_000,
        memoryPercent: 25,
        // df-style: used 700 / (used 700 + available 200)
        diskUsagePercent: 77.78,
        activeConnections: 3,
        messageQueueSize: 17,
      },
    ]);
    clock.increment(300_000);
    await settle();
    expect(rows).toHaveLength(2);
    expect(rows[1]?.cpuPercent).toBe(0);
    sampler.stop();
    clock.increment(600_000);
    await settle();
    expect(rows).toHaveLength(2);
  });

  it('an unreadable disk gives 0 and one warning, never an exception', async () => {
    const clock = simulatedClock();
    const logs = capturedLog();
    const host = fakeHost({
      statfs: async () => {
        throw Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
      },
    });
    const rows: SystemSampleRow[] = [];
    const sampler = new SystemSampler({
      clock,
      log: logs.log,
      writer: { system: (row) => rows.push(row) },
      serverName: 'gw',
      dataDir: '/missing',
      intervalMs: 1_000,
      activeConnections: () => {
        throw new Error('registry gone');
      },
      mailboxDepth: () => Number.NaN,
      probe: host.probe,
    });
    sampler.start();
    await advance(clock, 3_000, 1_000);
    expect(rows.map((r) => [r.diskUsagePercent, r.activeConnections, r.messageQueueSize])).toEqual([
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(logs.at('warn')).toEqual(['host sample incomplete: unreadable values are 0']);
    sampler.stop();
  });
});

describe('RetentionJob (PROTOCOL §8.4 [REC])', () => {
  it('prunes rows older than retentionDays at start and then every hour', async () => {
    const clock = simulatedClock();
    const store = new FakeStore(clock);
    const logs = capturedLog();
    const job = new RetentionJob({ store, clock, log: logs.log, retentionDays: 7 });
    job.start();
    await settle();
    expect(store.pruned).toEqual([T0 - 7 * 86_400_000]);
    await advance(clock, 3_600_000 - 1, 600_000);
    expect(store.pruned).toHaveLength(1);
    clock.increment(1);
    await settle();
    expect(store.pruned).toEqual([T0 - 7 * 86_400_000, T0 + 3_600_000 - 7 * 86_400_000]);
    expect(logs.at('info')).toEqual(['old telemetry rows deleted', 'old telemetry rows deleted']);
    job.stop();
    clock.increment(7_200_000);
    await settle();
    expect(store.pruned).toHaveLength(2);
  });

  it('logs a database error, never throws, and tries again the next hour', async () => {
    const clock = simulatedClock();
    const store = new FakeStore(clock);
    store.pruneMode = 'fail';
    const logs = capturedLog();
    const job = new RetentionJob({ store, clock, log: logs.log, retentionDays: 2 });
    job.start();
    await settle();
    expect(logs.at('warn')).toEqual(['telemetry retention failed; retried at the next run']);
    store.pruneMode = 'ok';
    clock.increment(3_600_000);
    await settle();
    expect(store.pruned).toEqual([T0 - 2 * 86_400_000, T0 + 3_600_000 - 2 * 86_400_000]);
    expect(logs.at('info')).toEqual(['old telemetry rows deleted']);
    job.stop();
  });
});

describe('real host probes', () => {
  it('read plausible values from this machine', async () => {
    const clock = simulatedClock();
    const sampler = new SystemSampler({
      clock,
      writer: { system: () => undefined },
      serverName: 'gw',
      dataDir: '.',
      activeConnections: () => 1,
      mailboxDepth: () => 0,
    });
    const row = await sampler.sample();
    expect(row.memoryTotal).toBeGreaterThan(0);
    expect(row.memoryPercent).toBeGreaterThan(0);
    expect(row.memoryPercent).toBeLessThanOrEqual(100);
    expect(row.diskUsagePercent).toBeGreaterThan(0);
    expect(row.diskUsagePercent).toBeLessThanOrEqual(100);

    const processSampler = new ProcessSampler({ clock });
    processSampler.start();
    clock.increment(3_000);
    const stats = processSampler.stats();
    processSampler.stop();
    expect(stats.rssMaxMb).toBeGreaterThan(10);
    expect(stats.rssAvgMb).toBe(stats.rssMaxMb);
  });
});
