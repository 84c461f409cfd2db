import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { InspectionEvent } from 'xstate';
import { Gateway } from './gateway/gateway.js';
import { resolveAdminToken, resolveKeys } from './gateway/secrets.js';
import type { BotModule } from './handlers/api.js';
import { loadHandlerModule } from './handlers/load.js';
import { messageRoutes } from './infra/admin/message-routes.js';
import { startAdminServer } from './infra/admin/server.js';
import type { Config } from './infra/config/schema.js';
import { maskUrlPassword } from './infra/config/secrets.js';
import { createInspectObserver, startStatelyInspector } from './infra/inspect/index.js';
import { createLoggers, type Loggers } from './infra/logger.js';
import { createMetrics } from './infra/metrics.js';
import { openStore } from './infra/store/open.js';
import type { Store } from './infra/store/types.js';
import { RetentionJob } from './infra/telemetry/retention.js';
import { SystemSampler } from './infra/telemetry/system-sampler.js';

export function storeUrl(config: Config): string {
  return config.db.url ?? `sqlite:${join(config.dataDir, 'msgbot.db')}`;
}

export interface Daemon {
  gateway: Gateway;
  store: Store;
  loggers: Loggers;
  adminPort: number | undefined;
  /** graceful stop (issue 5 §5) */
  stop(): Promise<void>;
}

/** `msgbot-gateway serve`: store, migrations, keys, handlers, gateway, admin endpoint. */
export async function startDaemon(config: Config, opts: { loggers?: Loggers } = {}): Promise<Daemon> {
  const loggers =
    opts.loggers ??
    createLoggers({ level: config.log.level, categories: config.log.categories, pretty: config.log.pretty });
  const log = loggers.root;
  const url = storeUrl(config);
  const store = await openStore(url, { connectTimeoutMs: config.db.connectTimeoutMs });
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
  const keys = resolveKeys(config.dataDir, config.hmac.secret, config.hmac.salt);
  if (keys.source === 'generated') {
    // the values stay out of the log (log files travel further than the data folder)
    log.warn(
      { file: keys.file },
      'no HMAC secret/salt configured: generated a random pair into "file"; put its two values into the bridge script (or set MSGBOT_HMAC_SECRET / MSGBOT_HMAC_SALT)',
    );
  } else if (keys.source === 'file') {
    log.info({ file: keys.file }, 'HMAC secret and salt read from the data folder');
  }
  const bots: BotModule[] = [];
  if (config.handlers !== undefined) {
    bots.push(await loadHandlerModule(resolve(config.handlers)));
    log.info({ handlers: config.handlers }, 'operator handlers loaded');
  }

  const metrics = createMetrics({ defaultMetrics: true });
  const inspector = createInspectObserver(loggers.cat.inspect);
  inspector.setEnabled(config.inspect === 'log');
  const stately = config.inspect === 'stately' ? await startStatelyInspector() : undefined;
  if (stately !== undefined) log.info({ url: stately.url }, 'Stately inspector server started');
  const inspect = (event: InspectionEvent) => {
    inspector.observer(event);
    stately?.inspect(event);
  };

  const gateway = new Gateway({
    config,
    store,
    loggers,
    keys: keys.keys,
    metrics,
    bots,
    inspect,
    tls: readTls(config),
  });
  await gateway.start();

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
    admin = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      token: token.token,
      metrics,
      log: loggers.root,
      readiness: async () => {
        const checks: Record<string, { ok: boolean; detail?: string }> = {};
        checks.listening = { ok: gateway.port > 0 };
        try {
          await store.ping();
          checks.store = { ok: true };
        } catch (error) {
          checks.store = { ok: false, detail: error instanceof Error ? error.message : String(error) };
        }
        checks.telemetry = gateway.telemetry.healthy;
        const healthy = gateway.dispatcher.getSnapshot().context.healthy;
        checks.workers = healthy ? { ok: true } : { ok: false, detail: 'worker restart limit exceeded' };
        // degraded storage keeps serving: ready means the phones are served
        return { ready: checks.listening.ok && checks.workers.ok, checks };
      },
      actors: () => gateway.actors(),
      setLogLevel: (category, level) => loggers.setLevel(category as never, level as never),
      setInspect: (mode) => inspector.setEnabled(mode === 'log'),
      routes: messageRoutes({
        accept: (input, kind) => gateway.sender.accept(input, kind),
        outcome: (id) => gateway.sender.outcomes.get(id),
      }),
    });
    log.info({ url: `http://${config.admin.host}:${admin.port}` }, 'admin endpoint listening');
  }

  return {
    gateway,
    store,
    loggers,
    adminPort: admin?.port,
    async stop() {
      clearTimeout(migrateTimer);
      const { unfinished } = await gateway.stop(config.shutdownMs);
      sampler.stop();
      retention.stop();
      await admin?.close();
      await stately?.stop();
      await store.close();
      log.info({ unfinished }, 'stopped');
    },
  };
}

/** PEM files of `tls.certFile` / `tls.keyFile`; both or neither. */
function readTls(config: Config): { key: Buffer; cert: Buffer } | undefined {
  const { certFile, keyFile } = config.tls;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new Error('tls.certFile and tls.keyFile go together (MSGBOT_TLS_CERT_FILE, MSGBOT_TLS_KEY_FILE)');
  }
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
