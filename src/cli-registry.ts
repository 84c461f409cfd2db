import { type Command, InvalidArgumentError, Option } from 'commander';
import { fetchStatus, type OnlineView, onlineView } from './cli-status.js';
import { BOT_WIDE_DEVICE, isBotWide } from './gateway/room-rule.js';
import type { Config } from './infra/config/schema.js';
import { DEVICE_STATUSES, type Store } from './infra/store/types.js';

/**
 * `devices …` and `rooms …` (PROTOCOL §7.3, §7.8, §8.1–8.2). A device or room that does not
 * exist is refused (a typo would otherwise approve nothing that ever connects) unless `--create`
 * pre-registers it; `rooms approve <bot> <channelId>` without `--device` also records a bot-wide
 * rule that every device's first message in the room follows.
 */

export interface RegistryDeps {
  config(): Config;
  withStore<T>(fn: (store: Store) => Promise<T>): Promise<T>;
}

/** `devices <verb>` and `rooms <verb>`: the verb and the status it sets. */
const STATUS_VERBS = [
  ['approve', 'approved'],
  ['block', 'blocked'],
  ['revoke', 'revoked'],
  ['deny', 'denied'],
  ['pending', 'pending'],
] as const;

function statusOption(): Option {
  return new Option('--status <status>', 'only this status').choices([...DEVICE_STATUSES]);
}

/** Tab-separated rows under a header, each column padded to its widest cell. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

async function online(config: Config): Promise<OnlineView> {
  return onlineView(await fetchStatus(config));
}

export function registerRegistryCommands(program: Command, deps: RegistryDeps): void {
  const devices = program.command('devices').description('device registry (kb_bot_devices)');
  devices
    .command('list')
    .description('every device with its status; ONLINE asks the running daemon ("?" when it does not answer)')
    .addOption(statusOption())
    .option('--json', 'JSON output')
    .action(async (o: { status?: string; json?: boolean }) => {
      await deps.withStore(async (store) => {
        const rows = (await store.listDevices()).filter((r) => o.status === undefined || r.status === o.status);
        const view = await online(deps.config());
        if (o.json) {
          const out = rows.map((r) => ({ ...r, online: view.device(r.botName, r.deviceId) }));
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) {
          process.stdout.write('no devices\n');
          return;
        }
        process.stdout.write(
          table(
            ['BOT', 'DEVICE', 'STATUS', 'ONLINE', 'VERSION', 'IP', 'UPDATED (KST)'],
            rows.map((r) => [
              r.botName,
              r.deviceId,
              r.status,
              view.text(view.device(r.botName, r.deviceId)),
              r.clientVersion ?? '',
              r.ipAddress ?? '',
              r.updatedAt ?? r.createdAt ?? '',
            ]),
          ),
        );
      });
    });

  for (const [name, st] of STATUS_VERBS) {
    devices
      .command(`${name} <bot> <device>`)
      .description(`set a device to ${st}`)
      .option('--reason <text>', 'rejection reason')
      .option('--create', 'pre-register a device that never connected')
      .action(async (bot: string, device: string, o: { reason?: string; create?: boolean }) => {
        await deps.withStore(async (store) => {
          if (o.create !== true && (await store.getDevice({ botName: bot, deviceId: device })) === undefined) {
            const known = (await store.listDevices()).filter((d) => d.botName === bot).map((d) => d.deviceId);
            throw new InvalidArgumentError(
              `no device ${device} of bot ${bot} in this store${known.length > 0 ? ` (its devices: ${known.join(', ')})` : ''}; check the ids, or add --create to pre-register it before it connects`,
            );
          }
          const row = await store.setDeviceStatus({ botName: bot, deviceId: device }, st, o.reason);
          process.stdout.write(`${row.botName} ${row.deviceId}: ${row.status} (live connections follow within 5 s)\n`);
        });
      });
  }

  const rooms = program.command('rooms').description('room registry (kb_rooms)');
  rooms
    .command('list')
    .description('rooms per (channel, bot, device); device "*" is a bot-wide rule; ONLINE: is its device connected')
    .option('--bot <bot>', 'only this bot')
    .addOption(statusOption())
    .option('--json', 'JSON output')
    .action(async (o: { bot?: string; status?: string; json?: boolean }) => {
      await deps.withStore(async (store) => {
        const rows = await store.listRooms({ botName: o.bot, status: o.status });
        const view = await online(deps.config());
        const onlineOf = (botName: string, deviceId: string) =>
          isBotWide(deviceId) ? view.bot(botName) : view.device(botName, deviceId);
        if (o.json) {
          const out = rows.map((r) => ({ ...r, online: onlineOf(r.botName, r.deviceId) }));
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) {
          process.stdout.write('no rooms\n');
          return;
        }
        process.stdout.write(
          table(
            ['BOT', 'CHANNEL', 'DEVICE', 'STATUS', 'ONLINE', 'ROOM'],
            rows.map((r) => [
              r.botName,
              r.roomId,
              isBotWide(r.deviceId) ? '* (every device)' : r.deviceId,
              r.status,
              view.text(onlineOf(r.botName, r.deviceId)),
              r.roomName,
            ]),
          ),
        );
      });
    });

  for (const [name, st] of STATUS_VERBS) {
    rooms
      .command(`${name} <bot> <channelId>`)
      .description(`set a room to ${st} for every device of the bot, now and later (or one device with --device)`)
      .option('--device <device>', 'only this device')
      .option('--create', 'pre-register the room of a bot or device the store has not seen yet')
      .action(async (bot: string, channelId: string, o: { device?: string; create?: boolean }) => {
        if (!/^\d+$/.test(channelId)) throw new InvalidArgumentError('channelId is a decimal digit string');
        await deps.withStore(async (store) => {
          if (o.device !== undefined) {
            const exists = await store.getRoom({ roomId: channelId, botName: bot, deviceId: o.device });
            if (exists === undefined && o.create !== true) {
              throw new InvalidArgumentError(
                `no room ${channelId} of ${bot} on device ${o.device} yet; check the ids, leave out --device to set it for every device of the bot, or add --create to pre-register it`,
              );
            }
            const n = await store.setRoomStatus(bot, channelId, st, o.device);
            process.stdout.write(`${n} room row(s) ${st}\n`);
            return;
          }
          // every row of the room, and the bot-wide rule later first messages follow
          const seen = (await store.listRooms({ botName: bot })).filter((r) => r.roomId === channelId);
          if (seen.length === 0 && o.create !== true) {
            const botKnown =
              (await store.listDevices()).some((d) => d.botName === bot) || (await store.roomStatuses(bot)).length > 0;
            if (!botKnown) {
              throw new InvalidArgumentError(
                `no device or room of bot ${bot} in this store; check the bot name, or add --create to pre-register the room`,
              );
            }
          }
          const n = await store.setRoomStatus(bot, channelId, st);
          if (!seen.some((r) => isBotWide(r.deviceId))) await store.setRoomStatus(bot, channelId, st, BOT_WIDE_DEVICE);
          const devicesSeen = seen.filter((r) => !isBotWide(r.deviceId)).length;
          process.stdout.write(
            devicesSeen === 0
              ? `room ${channelId} of ${bot}: ${st} for every device (not seen yet; applies at its first message)\n`
              : `room ${channelId} of ${bot}: ${st} for every device (${n} room row(s) changed)\n`,
          );
        });
      });
  }
}
