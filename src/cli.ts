#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { connectionMachine } from './actors/connection.js';
import { startDaemon, storeUrl } from './daemon.js';
import { ConfigError, loadConfig, printableConfig } from './infra/config/load.js';
import type { Config } from './infra/config/schema.js';
import { maskUrlPassword } from './infra/config/secrets.js';
import { toMermaid } from './infra/diagram.js';
import { openStore } from './infra/store/open.js';
import type { Store } from './infra/store/types.js';
import { registerSendCommand } from './send-cli.js';

const program = new Command('msgbot-gateway')
  .description('Server for MessengerBot R bridge phones (KakaoTalk bots)')
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

async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const c = config();
  const store = await openStore(storeUrl(c), { connectTimeoutMs: c.db.connectTimeoutMs });
  try {
    await store.migrate();
    for (const warning of store.lastMigration?.warnings ?? []) process.stderr.write(`migration warning: ${warning}\n`);
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
  .action(
    async (o: {
      host?: string;
      port?: number;
      handlers?: string;
      mode?: string;
      adminPort?: number;
      inspect?: string | true;
      pretty?: boolean;
    }) => {
      const flags: Record<string, unknown> = {};
      if (o.host !== undefined) flags.host = o.host;
      if (o.port !== undefined) flags.port = o.port;
      if (o.handlers !== undefined) flags.handlers = o.handlers;
      if (o.mode !== undefined) flags['processing.mode'] = o.mode;
      if (o.adminPort !== undefined) flags['admin.port'] = o.adminPort;
      if (o.inspect !== undefined) flags.inspect = o.inspect === true ? 'log' : o.inspect;
      if (o.pretty) flags['log.pretty'] = true;
      const c = config(flags);
      const daemon = await startDaemon(c);
      const log = daemon.loggers.root;
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          log.warn({ signal }, 'second signal: exiting at once');
          process.exit(1);
        }
        stopping = true;
        log.info({ signal, deadlineMs: c.shutdownMs }, 'stopping: finishing in-flight messages');
        daemon.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'stop failed');
            process.exit(1);
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
      });
    },
  );

program
  .command('migrate')
  .description('create missing tables and columns (never drops or retypes)')
  .action(async () => {
    const c = config();
    await withStore(async () => {
      process.stdout.write(`migrated ${maskUrlPassword(storeUrl(c))}\n`);
    });
  });

const devices = program.command('devices').description('device registry (kb_bot_devices)');
devices
  .command('list')
  .option('--status <status>', 'only this status')
  .option('--json', 'JSON output')
  .action(async (o: { status?: string; json?: boolean }) => {
    await withStore(async (store) => {
      const rows = (await store.listDevices()).filter((r) => o.status === undefined || r.status === o.status);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) process.stdout.write('no devices\n');
      for (const r of rows) {
        process.stdout.write(
          `${r.botName}\t${r.deviceId}\t${r.status}\t${r.clientVersion ?? ''}\t${r.ipAddress ?? ''}\t${r.updatedAt ?? r.createdAt ?? ''}\n`,
        );
      }
    });
  });
/** `devices <verb>` and `rooms <verb>`: the verb and the status it sets (PROTOCOL §7.3, §8.2). */
const STATUS_VERBS = [
  ['approve', 'approved'],
  ['block', 'blocked'],
  ['revoke', 'revoked'],
  ['deny', 'denied'],
  ['pending', 'pending'],
] as const;

for (const [name, st] of STATUS_VERBS) {
  devices
    .command(`${name} <bot> <device>`)
    .description(`set a device to ${st}${name === 'approve' ? ' (creates the row if it never connected)' : ''}`)
    .option('--reason <text>', 'rejection reason')
    .action(async (bot: string, device: string, o: { reason?: string }) => {
      await withStore(async (store) => {
        const row = await store.setDeviceStatus({ botName: bot, deviceId: device }, st, o.reason);
        process.stdout.write(`${row.botName} ${row.deviceId}: ${row.status} (live connections follow within 5 s)\n`);
      });
    });
}

const rooms = program.command('rooms').description('room registry (kb_rooms)');
rooms
  .command('list')
  .option('--bot <bot>', 'only this bot')
  .option('--status <status>', 'only this status')
  .option('--json', 'JSON output')
  .action(async (o: { bot?: string; status?: string; json?: boolean }) => {
    await withStore(async (store) => {
      const rows = await store.listRooms({ botName: o.bot, status: o.status });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) process.stdout.write('no rooms\n');
      for (const r of rows)
        process.stdout.write(`${r.botName}\t${r.roomId}\t${r.deviceId}\t${r.status}\t${r.roomName}\n`);
    });
  });
for (const [name, st] of STATUS_VERBS) {
  rooms
    .command(`${name} <bot> <channelId>`)
    .description(`set a room to ${st} for every device of the bot (or one with --device)`)
    .option('--device <device>', 'only this device (creates the row if missing)')
    .action(async (bot: string, channelId: string, o: { device?: string }) => {
      if (!/^\d+$/.test(channelId)) throw new InvalidArgumentError('channelId is a decimal digit string');
      await withStore(async (store) => {
        const n = await store.setRoomStatus(bot, channelId, st, o.device);
        process.stdout.write(
          n === 0
            ? `no room ${channelId} of ${bot} yet (it appears after its first message, or use --device)\n`
            : `${n} room row(s) ${st}\n`,
        );
        if (n === 0) process.exitCode = 1;
      });
    });
}

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
