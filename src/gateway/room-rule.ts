/**
 * A bot-wide room rule (PROTOCOL §7.8 [REC]): rooms are approved per (channel, bot, device), but
 * an operator approves a room for a bot before its first message, for every device of the bot
 * (`msgbot-gateway rooms approve <bot> <channelId>`). That approval is a kb_rooms row whose
 * device_id is `*`; a device's first message in that room registers its own row with the rule's
 * status instead of `pending`.
 */
export const BOT_WIDE_DEVICE = '*';

export function isBotWide(deviceId: string): boolean {
  return deviceId === BOT_WIDE_DEVICE;
}
