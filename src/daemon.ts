import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { InspectionEvent } from 'xstate';
import { gatherStatus } from './daemon-status.js';
import { dashboardSchedules } from './dashboard-schedules.js';
import { Gateway } from './gateway/gateway.js';
import { resolveInstanceId } from './gateway/instance-id.js';
import { gatewayReadiness } from './gateway/readiness.js';
import { startScheduler } from './gateway/scheduler-wiring.js';
import { resolveAdminToken, resolveKeys } from './gateway/secrets.js';
import type { SendInput } from './gateway/sender.js';
import type { BotModule } from './handlers/api.js';
import { loadHandlerModule } from './handlers/load.js';
import { createHandlerReloader, type HandlerReloadResult } from './handlers/reload.js';
import { createDashboard, type Dashboard, watchStore } from './infra/admin/dashboard.js';
import { handlersReloadRoute } from './infra/admin/handlers-route.js';
import { messageRoutes } from './infra/admin/message-routes.js';
import { startAdminServer } from './infra/admin/server.js';
import { statusRoute } from './infra/admin/status-route.js';
import { type CliOrigin, cliPrefix, describeStore } from './infra/cli-hint.js';
import { systemClock } from './infra/clock.js';
import type { Config } from './infra/config/schema.js';
import { maskUrlPassword } from './infra/config/secrets.js';
import { openInbox } from './infra/inbox/open.js';
import { createInspectObserver, startStatelyInspector } from './infra/inspect/index.js';
import { LiveInspection } from './infra/inspect/live.js';
import { createLoggers, type Loggers } from './infra/logger.js';
import { createMetrics } from './infra/metrics.js';
import { openOutbox } from './infra/outbox/open.js';
import { defaultProcessName, ProcessRowKeeper, processRowFor } from './infra/process-row.js';
import { RecentErrors } from './infra/recent-errors.js';
import { kstDateTime } from './infra/store/kst.js';
import { openStore } from './infra/store/open.js';
import type { Store } from './infra/store/types.js';
import { readTlsFiles } from './infra/tcp/tls-files.js';
import { ProcessSampler } from './infra/telemetry/process-stats.js';
import { RetentionJob } from './infra/telemetry/retention.js';
import { SystemSampler } from './infra/telemetry/system-sampler.js';
import { handlersFields, startedFields, startingFields } from './startup-info.js';

export function storeUrl(config: Config): string {
  return config.db.url ?? `sqlite:${join(config.dataDir, 'msgbot.db')}`;
}

export interface Daemon {
  gateway: Gateway;
  store: Store;
  loggers: Loggers;
  adminPort: number | undefined;
  /** re-imports the handler module (SIGHUP, PUT /handlers/reload); a failing one leaves the old in place */
  reloadHandlers(): Promise<HandlerReloadResult>;
  /** re-reads the TLS certificate and key (SIGHUP); bad files are logged and the old pair kept */
  reloadTls(): boolean;
  /** graceful stop (in-flight handlers first, unlike PROTOCOL §7.14) */
  stop(): Promise<void>;
}

/** `msgbot-gateway serve`: store, migrations, keys, handlers, gateway, admin endpoint. */
export async function startDaemon(
  config: Config,
  opts: { loggers?: Loggers; origin?: CliOrigin } = {},
): Promise<Daemon> {
  const startedAt = Date.now();
  const recent = new RecentErrors();
  const loggers =
    opts.loggers ??
    createLoggers({
      level: config.log.level,
      categories: config.log.categories,
      pretty: config.log.pretty,
      onError: (level, fields, msg) => recent.add(level, fields, msg),
      ringSize: config.dashboard.logLines,
    });
  // the commands the log prints carry the daemon's store options (cli-hint.ts)
  const cli = cliPrefix(config, opts.origin);
  const log = loggers.root;
  const url = storeUrl(config);
  const starting = startingFields(url);
  log.info(starting, `msgbot-gateway ${String(starting.version)} starting`);
  let dashboard: Dashboard | undefined;
  // the dashboard's pages follow store writes (dash-store-watch.ts)
  const store = watchStore(await openStore(url, { connectTimeoutMs: config.db.connectTimeoutMs }), (change) =>
    dashboard?.feed.onStoreChange(change),
  );
  // DESIGN.md §4: database trouble never stops chat traffic; the directories fail closed, and a
  // migration that failed at start is retried until the database answers.
  let migrateTimer: NodeJS.Timeout | undefined;
  const migrate = async (): Promise<void> => {
    try {
      await store.migrate();
      for (const warning of store.lastMigration?.warnings ?? []) loggers.cat.database.warn({ warning }, 'migration');
      if (migrateTimer !== undefined) loggers.cat.database.info({ url: maskUrlPassword(url) }, 'migration done');
    } catch (error) {
      loggers.cat.database.error(
        { err: error, url: maskUrlPassword(url), retryMs: config.db.migrateRetryMs },
        'migration failed; serving from last known state and retrying',
      );
      migrateTimer = setTimeout(() => void migrate(), config.db.migrateRetryMs);
      migrateTimer.unref();
    }
  };
  await migrate();
  // PROTOCOL §7.1, §7.13: the process row (`serve --name` took its port from it in the CLI)
  let processName = config.process.name;
  let keeper: ProcessRowKeeper | undefined;
  const newKeeper = (name: string) =>
    new ProcessRowKeeper({
      store: store.processes,
      name,
      clock: systemClock,
      heartbeatMs: config.process.heartbeatMs,
      sampler: new ProcessSampler({ clock: systemClock }),
      onError: (err, what) => loggers.cat.database.warn({ err, processName: name, what }, 'process row not updated'),
    });
  if (processName !== undefined) {
    const row = await processRowFor(store.processes, processName);
    log.info({ processName, port: row.port, type: row.type }, 'started by process name');
    keeper = newKeeper(processName);
    await keeper.starting();
  }
  const keys = resolveKeys(config.dataDir, config.hmac.secret, config.hmac.salt);
  if (keys.source === 'generated') {
    // the values stay out of the log (log files travel further than the data folder)
    log.warn(
      { file: keys.file },
      'no HMAC secret/salt configured: generated a random pair into "file"; put its two values into the bridge script (or set MSGBOT_HMAC_SECRET / MSGBOT_HMAC_SALT)',
    );
  } else if (keys.source === 'file') {
    log.info({ file: keys.file }, 'HMAC secret and salt read from the data folder');
  } else {
    log.info('HMAC secret and salt from the configuration (hmac.secret, hmac.salt)');
  }
  const bots: BotModule[] = [];
  if (config.handlers !== undefined) {
    const bot = await loadHandlerModule(resolve(config.handlers));
    bots.push(bot);
    log.info(handlersFields(config.handlers, bot), 'operator handlers loaded');
  }

  // DESIGN.md §2 durable mailbox: our own table in the same database, created here like `migrate` does
  const inbox = config.processing.durable
    ? openInbox(url, {
        connectTimeoutMs: config.db.connectTimeoutMs,
        onBadRow: (seq, error) => loggers.cat.database.error({ seq, error }, 'unreadable durable mailbox row'),
      })
    : undefined;
  await inbox?.migrate();
  // DESIGN.md §2 outbound path: API and scheduled sends survive a restart (msgbot_outbox)
  const outbox = config.outbound.durable
    ? openOutbox(url, {
        connectTimeoutMs: config.db.connectTimeoutMs,
        onBadRow: (id, error) => loggers.cat.database.error({ sendId: id, error }, 'unreadable send record row'),
      })
    : undefined;
  await outbox?.migrate();

  const metrics = createMetrics({ defaultMetrics: true });
  const inspector = createInspectObserver(loggers.cat.inspect);
  inspector.setEnabled(config.inspect === 'log');
  const stately = config.inspect === 'stately' ? await startStatelyInspector() : undefined;
  if (stately !== undefined) log.info({ url: stately.url }, 'Stately inspector server started');
  // DESIGN.md §2: observers are registered only while inspection is on (they double an event's CPU)
  const inspection = new LiveInspection((event: InspectionEvent) => {
    inspector.observer(event);
    stately?.inspect(event);
  }, config.inspect !== 'off');

  const gateway = new Gateway({
    config,
    store,
    loggers,
    keys: keys.keys,
    metrics,
    bots,
    inspection,
    tls: readTlsFiles(config.tls),
    inbox,
    outbox,
    ...(outbox === undefined ? {} : { instanceId: resolveInstanceId(config.dataDir) }),
    cliPrefix: cli.prefix,
    onDelivered: (reply) => dashboard?.feed.onDelivered(reply),
    // read at every ping row: without --name the name is known once the port is bound
    get processName() {
      return processName;
    },
  });
  try {
    await gateway.start();
  } catch (error) {
    await keeper?.error();
    throw error;
  }
  if (keeper === undefined) {
    processName = defaultProcessName(gateway.port);
    try {
      await store.processes.ensureProcess(processName, hostname(), gateway.port, kstDateTime(Date.now()));
      keeper = newKeeper(processName);
    } catch (error) {
      loggers.cat.database.warn({ err: error, processName }, 'no kb_server_processes row for this process');
    }
  }
  await keeper?.running();

  // PROTOCOL §7.12: the scheduler hands its sends to the gateway's outbound path
  const scheduler =
    config.scheduler.enabled && gateway.outbound !== undefined
      ? startScheduler({
          store,
          send: gateway.outbound,
          clock: gateway.clock,
          liveBots: () => [...gateway.registry.entries()].map(([, e]) => e.info.handshake.botName),
          config: config.scheduler,
          metrics,
          log: loggers.cat.scheduler,
          recovery: gateway.journal?.recoveryPort(),
        })
      : undefined;
  if (scheduler === undefined && config.scheduler.enabled) {
    loggers.cat.scheduler.warn('scheduler not started: this gateway has no outbound path');
  }
  const reloadHandlers = createHandlerReloader({
    file: config.handlers === undefined ? undefined : resolve(config.handlers),
    install: (modules) => gateway.setBots(modules),
    log,
  });

  const sampler = new SystemSampler({
    clock: gateway.clock,
    intervalMs: config.telemetry.systemSampleMs,
    serverName: 'msgbot-gateway',
    dataDir: config.dataDir,
    writer: gateway.telemetry,
    activeConnections: () => gateway.registry.size,
    mailboxDepth: () => gateway.dispatcher.getSnapshot().context.waiting,
  });
  sampler.start();
  const retention = new RetentionJob({
    store,
    clock: gateway.clock,
    retentionDays: config.telemetry.retentionDays,
    log: loggers.cat.database,
  });
  retention.start();

  let admin: Awaited<ReturnType<typeof startAdminServer>> | undefined;
  if (config.admin.port !== 0) {
    const token = resolveAdminToken(config.dataDir, config.admin.token);
    if (token.source === 'generated') {
      log.warn({ file: token.file }, 'no admin.token configured: generated one into "file" (adminToken)');
    }
    dashboard = createDashboard({
      gateway,
      store,
      loggers,
      settings: config.dashboard,
      token: token.token,
      schedules: dashboardSchedules(store, () => Date.now()),
      // the dashboard's send form goes through the outbound path like POST /messages
      send: async (r) => {
        const input: SendInput = { botName: r.bot, channelId: r.channelId, text: r.text };
        if (r.device !== undefined) input.deviceId = r.device;
        const record = await gateway.sender.accept(input, 'api');
        return { id: record.id, status: record.status };
      },
    });
    admin = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      token: token.token,
      authorize: (req) => dashboard?.authorize(req) ?? false,
      metrics,
      log: loggers.root,
      readiness: () =>
        gatewayReadiness({
          listening: () => gateway.port > 0,
          store,
          telemetry: () => gateway.telemetry.healthy,
          workersHealthy: () => gateway.dispatcher.getSnapshot().context.healthy,
          requireStore: config.admin.readyRequiresStore,
        }),
      actors: () => gateway.actors(),
      setLogLevel: (category, level) => loggers.setLevel(category as never, level as never),
      logLevels: () => loggers.levels(),
      setInspect: (mode) => {
        inspector.setEnabled(mode === 'log');
        inspection.setEnabled(mode === 'log' || stately !== undefined);
      },
      routes: [
        ...dashboard.routes,
        ...messageRoutes({
          accept: (input, kind) => gateway.sender.accept(input, kind),
          outcome: (id) => gateway.sender.lookup(id),
        }),
        handlersReloadRoute(reloadHandlers),
        statusRoute(() =>
          gatherStatus({
            gateway,
            store,
            config,
            storeText: describeStore(url),
            startedAt,
            cliPrefix: cli.prefix,
            recent,
          }),
        ),
      ],
    });
    // the dashboard is at the url; its sign-in takes the admin token (adminToken in the file named)
    log.info(
      {
        url: `http://${config.admin.host}:${admin.port}`,
        dashboard: `http://${config.admin.host}:${admin.port}/`,
        token: token.file === undefined ? 'admin.token' : `adminToken in ${token.file}`,
      },
      'admin endpoint listening',
    );
  }

  log.info(
    startedFields({ config, url, bots, port: gateway.port, tlsPort: gateway.tlsPort, adminPort: admin?.port }),
    'msgbot-gateway started',
  );

  return {
    gateway,
    store,
    loggers,
    adminPort: admin?.port,
    reloadHandlers,
    reloadTls: () => reloadCertificate(config, gateway, loggers.cat.client),
    async stop() {
      clearTimeout(migrateTimer);
      scheduler?.stop();
      await keeper?.stopping();
      const { unfinished } = await gateway.stop(config.shutdownMs);
      sampler.stop();
      retention.stop();
      dashboard?.stop();
      await admin?.close();
      await stately?.stop();
      await keeper?.stopped();
      await store.close();
      await inbox?.close();
      await outbox?.close();
      log.info({ unfinished }, 'stopped');
    },
  };
}

/** SIGHUP: a renewed certificate (certbot) takes effect for new connections without a restart. */
export function reloadCertificate(
  config: Config,
  gateway: Pick<Gateway, 'tlsPort' | 'setCertificate'>,
  log: Loggers['root'],
): boolean {
  if (gateway.tlsPort === undefined) return false;
  try {
    const pem = readTlsFiles(config.tls);
    if (pem === undefined) return false;
    gateway.setCertificate(pem);
    log.info({ certFile: config.tls.certFile }, 'TLS certificate reloaded');
    return true;
  } catch (err) {
    log.error({ err }, 'TLS certificate reload failed; the previous certificate stays in use');
    return false;
  }
}
