import { Writable } from 'node:stream';
import { type InspectionEvent, SimulatedClock } from 'xstate';
import type { Inbox } from '../../src/actors/inbox.js';
import type { Outbox } from '../../src/actors/outbox.js';
import { Gateway } from '../../src/gateway/gateway.js';
import type { BotModule } from '../../src/handlers/api.js';
import { type Clock, systemClock } from '../../src/infra/clock.js';
import { type Config, type ConfigInput, configSchema } from '../../src/infra/config/schema.js';
import { LiveInspection } from '../../src/infra/inspect/live.js';
import { createLoggers } from '../../src/infra/logger.js';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import type { Store } from '../../src/infra/store/types.js';
import { BridgeClient } from './bridge-client.js';
import { KEYS } from './fake-connection.js';

export interface TestGatewayOptions {
  config?: ConfigInput;
  store?: Store;
  /** true (default): timers run on a SimulatedClock the test advances */
  simulated?: boolean;
  /** bot modules, or a factory given the gateway's clock (for handlers that wait on it) */
  bots?: BotModule[] | ((clock: Clock) => BotModule[]);
  random?: () => number;
  /** an XState inspect observer handed to the gateway (every actor it creates) */
  inspect?: (event: InspectionEvent) => void;
  tls?: { key: Buffer; cert: Buffer };
  /** the durable mailbox (DESIGN.md §2); default none */
  inbox?: Inbox;
  /** the send record (DESIGN.md §2 outbound path); default none */
  outbox?: Outbox;
  /** the gateway's owner id in the send record */
  instanceId?: string;
  /** where the simulated clock starts (default: now) */
  clockStart?: number;
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
  /** the same lines as written (JSON.parse would hide a field written twice) */
  const rawLogs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        rawLogs.push(line);
        logs.push(JSON.parse(line));
      }
      done();
    },
  });
  const loggers = createLoggers({ level: 'debug', destination });
  const simulated = opts.simulated ?? true;
  const clock = simulated ? new SimulatedClock() : undefined;
  clock?.set(opts.clockStart ?? Date.now());
  const gateway = new Gateway({
    config,
    store,
    loggers,
    keys: KEYS,
    clock: clock as unknown as Clock | undefined,
    bots: typeof opts.bots === 'function' ? opts.bots((clock ?? systemClock) as Clock) : opts.bots,
    random: opts.random ?? (() => 0.5),
    inspection: opts.inspect === undefined ? undefined : new LiveInspection(opts.inspect, true),
    tls: opts.tls,
    inbox: opts.inbox,
    outbox: opts.outbox,
    instanceId: opts.instanceId,
  });
  await gateway.start();
  return {
    gateway,
    store,
    clock,
    config,
    logs,
    rawLogs,
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

/** A phone with the test keys, connected to `t` and through its handshake; kept in `clients` for the test's clean-up. */
export async function connectPhone(
  t: Awaited<ReturnType<typeof startTestGateway>>,
  clients: BridgeClient[],
  deviceId: string,
): Promise<BridgeClient> {
  const c = await BridgeClient.connect({
    port: t.port,
    secret: KEYS.secret,
    salt: KEYS.salt,
    deviceId,
    now: () => t.clock?.now() ?? Date.now(),
  });
  clients.push(c);
  await c.next((p) => p.event === 'handshakeComplete');
  return c;
}
