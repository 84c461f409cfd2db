import { Writable } from 'node:stream';
import { Gateway } from '../../src/gateway/gateway.js';
import {
  createDashboard,
  type Dashboard,
  type DashboardSchedules,
  type DashboardSend,
  watchStore,
} from '../../src/infra/admin/dashboard.js';
import { type AdminServer, startAdminServer } from '../../src/infra/admin/server.js';
import { type Config, type ConfigInput, configSchema } from '../../src/infra/config/schema.js';
import { createLoggers } from '../../src/infra/logger.js';
import { openSqliteStore } from '../../src/infra/store/sqlite.js';
import { KEYS } from '../support/fake-connection.js';

export const ADMIN_TOKEN = 'dashboard-test-token-0123456789';

/**
 * A gateway with its dashboard on a real admin endpoint, wired as src/daemon.ts wires them (the
 * daemon itself cannot take an ephemeral admin port: admin.port 0 means "off"). Both listen on
 * 127.0.0.1:<ephemeral>; the store is in-memory SQLite.
 */
export async function startDashboardGateway(
  opts: { config?: ConfigInput; send?: DashboardSend; schedules?: DashboardSchedules } = {},
) {
  const config: Config = configSchema.parse({
    host: '127.0.0.1',
    port: 0,
    ...opts.config,
    admin: { host: '127.0.0.1', port: 0, token: ADMIN_TOKEN },
    dashboard: { pushMs: 100, ...opts.config?.dashboard },
  });
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const loggers = createLoggers({ level: 'info', destination, ringSize: config.dashboard.logLines });
  let dashboard: Dashboard | undefined;
  const raw = openSqliteStore(':memory:');
  await raw.migrate();
  const store = watchStore(raw, (change) => dashboard?.feed.onStoreChange(change));
  const gateway = new Gateway({
    config,
    store,
    loggers,
    keys: KEYS,
    onDelivered: (reply) => dashboard?.feed.onDelivered(reply),
  });
  await gateway.start();
  dashboard = createDashboard({
    gateway,
    store,
    loggers,
    settings: config.dashboard,
    token: ADMIN_TOKEN,
    send: opts.send,
    schedules: opts.schedules,
  });
  const d = dashboard;
  const admin: AdminServer = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    token: ADMIN_TOKEN,
    metrics: gateway.metrics,
    log: loggers.root,
    readiness: () => ({ ready: true, checks: {} }),
    actors: () => gateway.actors(),
    setLogLevel: (category, level) => loggers.setLevel(category as never, level as never),
    routes: d.routes,
    authorize: (req) => d.authorize(req),
  });
  return {
    gateway,
    store,
    loggers,
    logs,
    config,
    dashboard: d,
    port: gateway.port,
    url: `http://127.0.0.1:${admin.port}`,
    async stop() {
      d.stop();
      await admin.close();
      await gateway.stop(1_000);
      await raw.close();
    },
  };
}

export type DashboardGateway = Awaited<ReturnType<typeof startDashboardGateway>>;
