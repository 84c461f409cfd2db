import type { ChatMessage } from '../actors/job.js';
import { shellQuote } from '../infra/cli-hint.js';
import type { Logger } from '../infra/logger.js';

/**
 * PROTOCOL §7.8: a message in a room that is not approved gets no reply. So that the operator
 * sees such a room without reading debug logs, the first of its messages since start is logged at
 * info with the command that approves it (for every device of the bot, cli-registry.ts).
 */
export class PendingRoomNotices {
  private readonly seen = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly cliPrefix: string,
    private readonly max = 100_000,
  ) {}

  /** Logs once per (bot, device, channel) while the process runs. */
  notice(m: ChatMessage, status: string): void {
    if (m.channelId === null) return; // PROTOCOL §9 item 21: no channel id, nothing to approve
    const id = `${m.botName}\u0000${m.deviceId}\u0000${m.channelId}`;
    if (this.seen.has(id)) return;
    if (this.seen.size >= this.max) this.seen.clear();
    this.seen.add(id);
    this.log.info(
      {
        traceId: m.traceId,
        botName: m.botName,
        deviceId: m.deviceId,
        channelId: m.channelId,
        room: m.room,
        roomStatus: status,
        approve: `${this.cliPrefix} rooms approve ${shellQuote(m.botName)} ${m.channelId}`,
      },
      'room not approved: its messages get no reply; to approve it run the command in "approve"',
    );
  }
}
