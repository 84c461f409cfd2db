import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { Gateway } from '../src/gateway/gateway.js';
import { configSchema } from '../src/infra/config/schema.js';
import { openSqliteInbox } from '../src/infra/inbox/sqlite.js';
import { createLoggers } from '../src/infra/logger.js';
import { openSqliteStore } from '../src/infra/store/sqlite.js';
import { botNameOf, channelIdOf, deviceIdOf, serverSpecSchema } from './fleet.js';
import { StallMeter } from './stalls.js';

/**
 * The gateway under test, as its own process (run by bench/run.ts): a temp SQLite store with the
 * bench devices and their rooms approved BEFORE the listener opens, the default config except
 * 127.0.0.1:0, admin off, log level warn (to stderr), and processing.mode from the spec.
 * Prints `{"ready":true,"port":…}` on stdout; stops gracefully when stdin ends. With
 * The stdin lines `measure-start` / `measure-end` bracket the measured window (event-loop delay and
 * GC pauses, stalls.ts). With BENCH_PROFILE_DIR set, the stdin lines `profile-start` / `profile-stop` take a V8 CPU profile of
 * exactly the measured window (not the setup) and print `{"profile":"<file>"}`.
 */

const spec = serverSpecSchema.parse(JSON.parse(process.env.BENCH_SERVER ?? 'null'));

const setupStart = performance.now();
const store = openSqliteStore(join(spec.dir, 'bench.db'));
await store.migrate();
if (!spec.chatLog) {
  // The --no-chat-log ablation (fleet.ts): the rows are dropped here, so the gateway does all its
  // other work and only the kb_chat_logs inserts are missing from the figures.
  store.insertChatLogs = async () => {};
}
// What `msgbot-gateway devices approve` and `rooms approve` do, for every bench phone and room.
for (let client = 0; client < spec.clients; client++) {
  const botName = botNameOf(client, spec.bots);
  const deviceId = deviceIdOf(client);
  await store.setDeviceStatus({ botName, deviceId }, 'approved');
  for (let room = 0; room < spec.rooms; room++) {
    await store.setRoomStatus(botName, channelIdOf(room), 'approved', deviceId);
  }
}
const setupMs = performance.now() - setupStart;

const config = configSchema.parse({
  host: '127.0.0.1',
  port: spec.port,
  dataDir: spec.dir,
  admin: { port: 0 },
  log: { level: 'warn' },
  processing: { mode: spec.mode, durable: spec.durable },
  // only raised when a run asks for more phones than the default cap admits
  ...(spec.clients > 100 ? { limits: { maxConnections: spec.clients } } : {}),
});
// stdout carries the ready and stats lines; logs go to stderr.
const loggers = createLoggers({ level: 'warn', destination: pino.destination({ fd: 2, sync: false }) });
const inbox = spec.durable ? openSqliteInbox(join(spec.dir, 'bench.db')) : undefined;
await inbox?.migrate();
const gateway = new Gateway({ config, store, loggers, keys: { secret: spec.secret, salt: spec.salt }, inbox });
await gateway.start();
process.stdout.write(`${JSON.stringify({ ready: true, port: gateway.port, setupMs })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const mem = process.memoryUsage();
  // Before stopping, with every connection, cache and window still live: what a full GC keeps.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapAfterGc = gc === undefined ? undefined : process.memoryUsage().heapUsed;
  // reported at once too, so a slow stop (thousands of connections) cannot lose it
  if (heapAfterGc !== undefined)
    process.stdout.write(`${JSON.stringify({ stats: { heapAfterGcBytes: heapAfterGc } })}\n`);
  const stopStarted = Date.now();
  await gateway.stop(2_000);
  process.stderr.write(`${JSON.stringify({ msg: 'bench server stopped', stopMs: Date.now() - stopStarted })}\n`);
  // Where the RSS is at the end of the load: JS heap, or buffers and native memory outside it.
  const stats: Record<string, number> = {
    heapUsedBytes: mem.heapUsed,
    heapTotalBytes: mem.heapTotal,
    externalBytes: mem.external,
    arrayBuffersBytes: mem.arrayBuffers,
    ...(heapAfterGc === undefined ? {} : { heapAfterGcBytes: heapAfterGc }),
    ...windowStats,
  };
  for (const metric of await gateway.metrics.registry.getMetricsAsJSON()) {
    if (!metric.name.endsWith('_total')) continue; // counters (prom-client's typings misstate .type)
    for (const v of metric.values) {
      const labels = Object.entries(v.labels)
        .map(([k, l]) => `${k}=${l}`)
        .join(',');
      if (v.value !== 0) stats[labels === '' ? metric.name : `${metric.name}{${labels}}`] = v.value;
    }
  }
  await store.close();
  await inbox?.close();
  process.stdout.write(`${JSON.stringify({ stats })}\n`, () => process.exit(0));
}

const profileDir = process.env.BENCH_PROFILE_DIR;
let session: Session | undefined;

const stalls = new StallMeter();
let windowStats: Record<string, number> = {};

async function command(line: string): Promise<void> {
  if (line === 'measure-start') stalls.start();
  if (line === 'measure-end') {
    windowStats = stalls.stop();
    process.stdout.write(`${JSON.stringify({ stats: windowStats })}\n`);
  }
  if (profileDir === undefined) return;
  if (line === 'profile-start' && session === undefined) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
  } else if (line === 'profile-stop' && session !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    session = undefined;
    const file = join(profileDir, `gateway-${spec.mode}-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    process.stdout.write(`${JSON.stringify({ profile: file })}\n`);
  }
}

// Commands run one after the other; the end of stdin (stop) waits for them.
let queue: Promise<void> = Promise.resolve();
createInterface({ input: process.stdin })
  .on('line', (line) => {
    queue = queue.then(() => command(line.trim()));
  })
  .on('close', () => {
    queue = queue.then(stop);
  });
process.on('SIGTERM', () => void stop());
