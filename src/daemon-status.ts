import type { Gateway } from './gateway/gateway.js';
import { isBotWide } from './gateway/room-rule.js';
import type { StatusBody } from './infra/admin/status-route.js';
import { shellQuote } from './infra/cli-hint.js';
import type { Config } from './infra/config/schema.js';
import type { RecentErrors } from './infra/recent-errors.js';
import type { Store } from './infra/store/types.js';

/** Rows of each pending list in GET /status at most (the CLI's `devices list` has them all). */
const MAX_PENDING = 100;

/** The body of GET /status (`msgbot-gateway status`). */
export async function gatherStatus(deps: {
  gateway: Gateway;
  store: Store;
  config: Config;
  storeText: string;
  startedAt: number;
  cliPrefix: string;
  recent: RecentErrors;
}): Promise<StatusBody> {
  const { gateway, store, config, cliPrefix } = deps;
  const pending: StatusBody['pending'] = { devices: [], rooms: [], error: null };
  try {
    for (const d of await store.listDevices()) {
      if (d.status !== 'pending' || pending.devices.length >= MAX_PENDING) continue;
      pending.devices.push({
        botName: d.botName,
        deviceId: d.deviceId,
        approve: `${cliPrefix} devices approve ${shellQuote(d.botName)} ${shellQuote(d.deviceId)}`,
      });
    }
    for (const r of await store.listRooms({ status: 'pending' })) {
      if (pending.rooms.length >= MAX_PENDING) break;
      pending.rooms.push({
        botName: r.botName,
        deviceId: r.deviceId,
        channelId: r.roomId,
        roomName: r.roomName,
        approve: `${cliPrefix} rooms approve ${shellQuote(r.botName)} ${r.roomId}${isBotWide(r.deviceId) ? '' : ` --device ${shellQuote(r.deviceId)}`}`,
      });
    }
  } catch (error) {
    pending.error = error instanceof Error ? error.message : String(error);
  }
  const d = gateway.dispatcher.getSnapshot().context;
  return {
    startedAt: deps.startedAt,
    store: deps.storeText,
    connections: gateway.connectionInfos().map((c) => ({
      botName: c.botName,
      deviceId: c.deviceId,
      version: c.version,
      standing: c.standing,
      connectedAt: c.connectedAt,
    })),
    pending,
    mailbox: { waiting: d.waiting, running: d.running, capacity: config.processing.mailboxSize },
    lastErrors: deps.recent.list(),
  };
}
