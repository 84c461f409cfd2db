import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { defaultProcessName, ProcessRowKeeper, processRowFor } from '../../src/infra/process-row.js';
import { openSqliteStore, type SqliteStore } from '../../src/infra/store/sqlite.js';

/** PROTOCOL §7.1, §7.13: the process row on the simulated clock. */
describe('process row keeper', () => {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  async function setup() {
    const clock = new SimulatedClock();
    clock.set(Date.UTC(2026, 0, 15, 3, 0, 0)); // 12:00:00 KST
    store = openSqliteStore(':memory:', { clock });
    await store.migrate();
    await store.processes.ensureProcess('gw-01', 'host-a', 1490, '2026-01-15 11:00:00');
    let stats = { cpuAvg: 0, cpuMax: 0, rssAvgMb: 0, rssMaxMb: 0 };
    const sampler = {
      running: false,
      start() {
        this.running = true;
      },
      stop() {
        this.running = false;
      },
      stats: () => stats,
    };
    const keeper = new ProcessRowKeeper({
      store: store.processes,
      name: 'gw-01',
      clock,
      heartbeatMs: 3_000,
      pid: 777,
      sampler,
    });
    const flush = async () => {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    };
    return { clock, keeper, sampler, flush, setStats: (s: typeof stats) => (stats = s), s: store };
  }

  it('starting → running with heartbeats every heartbeatMs → stopping → stopped', async () => {
    const { clock, keeper, sampler, flush, setStats, s } = await setup();
    await keeper.starting();
    expect(await s.processes.getProcess('gw-01')).toMatchObject({ status: 'starting', pid: 777 });
    await keeper.running();
    expect(sampler.running).toBe(true);
    expect((await s.processes.getProcess('gw-01'))?.lastHeartbeat).toBeNull();
    setStats({ cpuAvg: 4.5, cpuMax: 9, rssAvgMb: 60.25, rssMaxMb: 61 });
    clock.increment(3_000);
    await flush();
    expect(await s.processes.getProcess('gw-01')).toMatchObject({
      status: 'running',
      cpuUsage: 4.5,
      memoryUsage: 60.25,
      lastHeartbeat: '2026-01-15 12:00:03',
    });
    clock.increment(3_000);
    await flush();
    expect((await s.processes.getProcess('gw-01'))?.lastHeartbeat).toBe('2026-01-15 12:00:06');
    await keeper.stopping();
    expect((await s.processes.getProcess('gw-01'))?.status).toBe('stopping');
    await keeper.stopped();
    clock.increment(10_000);
    await flush();
    expect(await s.processes.getProcess('gw-01')).toMatchObject({
      status: 'stopped',
      pid: null,
      cpuUsage: 0,
      memoryUsage: 0,
      lastHeartbeat: '2026-01-15 12:00:06',
    });
    expect(sampler.running).toBe(false);
  });

  it('error status; a failing database only reports', async () => {
    const { keeper, s } = await setup();
    await keeper.error();
    expect((await s.processes.getProcess('gw-01'))?.status).toBe('error');
    const errors: string[] = [];
    const broken = new ProcessRowKeeper({
      store: {
        ...s.processes,
        setProcessStatus: async () => Promise.reject(new Error('db down')),
        processHeartbeat: async () => Promise.reject(new Error('db down')),
      },
      name: 'gw-01',
      clock: new SimulatedClock(),
      heartbeatMs: 1_000,
      sampler: { start() {}, stop() {}, stats: () => ({ cpuAvg: 0, cpuMax: 0, rssAvgMb: 0, rssMaxMb: 0 }) },
      onError: (_e, what) => errors.push(what),
    });
    await broken.starting();
    await broken.heartbeat();
    expect(errors).toEqual(['status starting', 'heartbeat']);
  });

  it('serve --name needs the row and its port; the default name is host:port', async () => {
    const { s } = await setup();
    expect(await processRowFor(s.processes, 'gw-01')).toEqual({ port: 1490, type: 'live' });
    await expect(processRowFor(s.processes, 'nope')).rejects.toThrow(/no row with process_name "nope"/);
    expect(defaultProcessName(1485, 'box')).toBe('box:1485');
  });
});
