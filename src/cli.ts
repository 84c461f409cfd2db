#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { connectionMachine } from './actors/connection.js';
import { registerRegistryCommands } from './cli-registry.js';
import { registerScheduleCommands } from './cli-schedules.js';
import { fetchStatus, formatStatus } from './cli-status.js';
import { openCliStore } from './cli-store.js';
import { startDaemon, storeUrl } from './daemon.js';
import { ConfigError, loadConfig, printableConfig, unknownEnvVars } from './infra/config/load.js';
import type { Config } from './infra/config/schema.js';
import { maskUrlPassword } from './infra/config/secrets.js';
import { toMermaid } from './infra/diagram.js';
import { flushAndExit } from './infra/exit.js';
import { openInbox } from './infra/inbox/open.js';
import { openOutbox } from './infra/outbox/open.js';
import { processRowFor } from './infra/process-row.js';
import type { MysqlStore } from './infra/store/mysql.js';
import type { SqliteStore } from './infra/store/sqlite.js';
import { registerSendCommand } from './send-cli.js';
import { packageVersion } from './version.js';

const program = new Command('msgbot-gateway')
  .description('Server for MessengerBot R bridge phones (KakaoTalk bots)')
  .version(packageVersion(), '-V, --version', 'the version (from package.json)')
  .option('-c, --config <file>', 'JSON config file')
  .option('--data <dir>', 'data folder (env MSGBOT_DATA_DIR)')
  .option('--db <url>', 'database URL: sqlite:<file> or mysql://user:pass@host:3306/db (env MSGBOT_DB_URL)');

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not an integer');
  return n;
}

interface GlobalFlags {
  config?: string;
  data?: string;
  db?: string;
}

function config(extra: Record<string, unknown> = {}): Config {
  const g = program.opts<GlobalFlags>();
  const flags: Record<string, unknown> = { ...extra };
  if (g.data !== undefined) flags.dataDir = g.data;
  if (g.db !== undefined) flags['db.url'] = g.db;
  return loadConfig({ flags, env: process.env, file: g.config });
}

/** Only `serve` and `migrate` may create a database (cli-store.ts). */
async function withStore<T>(
  fn: (store: SqliteStore | MysqlStore) => Promise<T>,
  opts: { create?: boolean } = {},
): Promise<T> {
  const store = await openCliStore(config(), { create: opts.create === true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

program
  .command('serve')
  .description('run the gateway daemon (what `npm start` runs)')
  .option('--host <host>', 'listen address (env MSGBOT_HOST, default 0.0.0.0)')
  .option('--port <port>', 'listen port (env MSGBOT_PORT, default 1485)', integer)
  .option('--handlers <module>', 'operator handler module (.mjs/.js/.ts)')
  .option('--mode <mode>', 'queued | direct')
  .option('--admin-port <port>', 'admin HTTP port, 0 = off (default 9485)', integer)
  .addOption(
    new Option('--inspect [mode]', 'actor inspection: log (JSON lines) or stately').choices(['log', 'stately']),
  )
  .option('--pretty', 'human-readable logs')
  .option(
    '--name <process_name>',
    'kb_server_processes row to run as: port and type come from it (env MSGBOT_PROCESS_NAME)',
  )
  .action(
    async (o: {
      host?: string;
      port?: number;
      handlers?: string;
      mode?: string;
      adminPort?: number;
      inspect?: string | true;
      pretty?: boolean;
      name?: string;
    }) => {
      const flags: Record<string, unknown> = {};
      if (o.host !== undefined) flags.host = o.host;
      if (o.port !== undefined) flags.port = o.port;
      if (o.handlers !== undefined) flags.handlers = o.handlers;
      if (o.mode !== undefined) flags['processing.mode'] = o.mode;
      if (o.adminPort !== undefined) flags['admin.port'] = o.adminPort;
      if (o.inspect !== undefined) flags.inspect = o.inspect === true ? 'log' : o.inspect;
      if (o.pretty) flags['log.pretty'] = true;
      if (o.name !== undefined) flags['process.name'] = o.name;
      let c = config(flags);
      // PROTOCOL §7.1: started by process name, the port comes from its kb_server_processes row
      const processName = c.process.name;
      if (processName !== undefined) {
        flags.port = (await withStore((store) => processRowFor(store.processes, processName), { create: true })).port;
        c = config(flags);
      }
      const g = program.opts<GlobalFlags>();
      const daemon = await startDaemon(c, { origin: { config: g.config, data: g.data, db: g.db } });
      const log = daemon.loggers.root;
      const unknownVars = unknownEnvVars(process.env);
      if (unknownVars.length > 0) {
        log.warn(
          { variables: unknownVars },
          'unknown MSGBOT_* environment variables ignored (typos?); the README configuration reference lists every one',
        );
      }
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          log.warn({ signal }, 'second signal: exiting at once');
          flushAndExit(log, 1, 200);
          return;
        }
        stopping = true;
        log.info({ signal, deadlineMs: c.shutdownMs }, 'stopping: finishing in-flight messages');
        daemon.stop().then(
          () => flushAndExit(log, 0),
          (err: unknown) => {
            log.error({ err }, 'stop failed');
            flushAndExit(log, 1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
        try {
          const fresh = config(flags);
          daemon.loggers.setLevel('all', fresh.log.level);
          for (const [cat, level] of Object.entries(fresh.log.categories)) {
            daemon.loggers.setLevel(cat as never, level);
          }
          log.info('SIGHUP: log levels re-read');
        } catch (error) {
          log.error({ err: error }, 'SIGHUP: config invalid; levels kept');
        }
        daemon.gateway.reloadStanding().catch(() => {});
        void daemon.reloadHandlers();
        daemon.reloadTls();
      });
    },
  );

program
  .command('migrate')
  .description('create missing tables and columns (never drops or retypes)')
  .action(async () => {
    const c = config();
    await withStore(
      async () => {
        // DESIGN.md §2: the durable mailbox's and the send record's own tables (msgbot_inbox, msgbot_outbox)
        const inbox = openInbox(storeUrl(c), { connectTimeoutMs: c.db.connectTimeoutMs });
        await inbox.migrate().finally(() => inbox.close());
        const outbox = openOutbox(storeUrl(c), { connectTimeoutMs: c.db.connectTimeoutMs });
        await outbox.migrate().finally(() => outbox.close());
        process.stdout.write(`migrated ${maskUrlPassword(storeUrl(c))}\n`);
      },
      { create: true },
    );
  });

registerRegistryCommands(program, { config: () => config(), withStore });

program
  .command('status')
  .description(
    'ask the running daemon (its admin endpoint): connections, pending devices and rooms, mailbox, last errors',
  )
  .option('--json', 'JSON output')
  .action(async (o: { json?: boolean }) => {
    const answer = await fetchStatus(config());
    if (!answer.ok) {
      throw new Error(
        `no daemon answers${answer.url === undefined ? '' : ` at ${answer.url}`}: ${answer.reason} (is it running, with this --config / MSGBOT_ADMIN_PORT?)`,
      );
    }
    process.stdout.write(o.json ? `${JSON.stringify(answer.body, null, 2)}\n` : formatStatus(answer.url, answer.body));
  });

registerScheduleCommands(program, (fn) => withStore((store) => fn(store.schedules)));

registerSendCommand(program, () => config());

program
  .command('config')
  .description('configuration')
  .command('print')
  .description('the effective configuration, secrets masked')
  .action(() => {
    process.stdout.write(`${JSON.stringify(printableConfig(config()), null, 2)}\n`);
  });

program
  .command('diagram')
  .description('Mermaid state diagram of the connection machine, generated from the machine')
  .action(() => {
    process.stdout.write(toMermaid(connectionMachine));
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`config error: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
