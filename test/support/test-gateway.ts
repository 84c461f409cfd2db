import { Writable } from 'node:stream';
import { SimulatedClock } from 'xstate';
import { Gateway } from '../../src/gateway/gateway.js';
import type { BotModule } from '../../src/handlers/api.js';
import type { Clock } from '../../src/infra/clock.js';
import { type Config, type ConfigInput, configSchema } from '../../src/infra/config/schema.js';
import { createLoggers } from '../../src/infra/logger.js';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import type { Store } from '../../src/infra/store/types.js';
import { KEYS } from './fake-connection.js';

export interface TestGatewayOptions {
  config?: ConfigInput;
  store?: Store;
  /** true (default): timers run on a SimulatedClock the test advances */
  simulated?: boolean;
  bots?: BotModule[];
  random?: () => number;
}

/** A real gateway on 127.0.0.1:<ephemeral> with an in-memory SQLite store and captured JSON logs. */
export async function startTestGateway(opts: TestGatewayOptions = {}) {
  const input: ConfigInput = {
    host: '127.0.0.1',
    port: 0,
    ...opts.config,
    admin: { host: '127.0.0.1', port: 0 },
  };
  const config: Config = configSchema.parse(input);
  const store = opts.store ?? openSqliteStore(':memory:');
  await store.migrate();
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const loggers = createLoggers({ level: 'debug', destination });
  const simulated = opts.simulated ?? true;
  const clock = simulated ? new SimulatedClock() : undefined;
  clock?.set(Date.now());
  const gateway = new Gateway({
    config,
    store,
    loggers,
    keys: KEYS,
    clock: clock as unknown as Clock | undefined,
    bots: opts.bots,
    random: opts.random ?? (() => 0.5),
  });
  await gateway.start();
  return {
    gateway,
    store,
    clock,
    config,
    logs,
    port: gateway.port,
    /** advances simulated time and lets socket I/O and promises run */
    async advance(ms: number) {
      clock?.increment(ms);
      await new Promise((r) => setTimeout(r, 20));
    },
    async stop() {
      await gateway.stop(1_000);
      await store.close();
    },
  };
}

export function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('condition not met in time'));
      setTimeout(tick, 5);
    };
    tick();
  });
}
