import { z } from 'zod';

/**
 * Who the simulated phones are: shared by the load generator and the gateway child, which
 * approves exactly these devices and rooms before it starts listening.
 */

/** What the gateway child is told through the environment (BENCH_SERVER, JSON). */
export const serverSpecSchema = z.object({
  clients: z.number().int().positive(),
  rooms: z.number().int().positive(),
  bots: z.number().int().positive(),
  mode: z.enum(['queued', 'direct']),
  secret: z.string().min(1),
  salt: z.string().min(1),
  dir: z.string().min(1),
  /** 0 = any free port; a restarted server (`--kill-at`) listens where the first one did */
  port: z.number().int().nonnegative().default(0),
  /** processing.durable: the durable mailbox (DESIGN.md §2) in the bench database */
  durable: z.boolean().default(true),
  /**
   * Ablation, to see what a part costs (never a figure to report as the gateway's): false makes the
   * bench server's store write no kb_chat_logs rows (PROTOCOL §8.3), everything else unchanged.
   */
  chatLog: z.boolean().default(true),
});
export type ServerSpec = z.infer<typeof serverSpecSchema>;

/** Client i's bot: several bot names so the per-bot gate (30 in flight) is not what limits. */
export function botNameOf(client: number, bots: number): string {
  return `bench-bot-${client % bots}`;
}

/** Client i's Android ID: 16 lowercase hex digits like a real phone's. */
export function deviceIdOf(client: number): string {
  return `bd${client.toString(16).padStart(14, '0')}`;
}

/** Room r's channel id: a 17-digit decimal string beyond 2^53, as KakaoTalk's are (PROTOCOL §1.6). */
export function channelIdOf(room: number): string {
  return (18234567890000000n + BigInt(room)).toString();
}

export function roomTitleOf(room: number): string {
  return `Bench Room ${room}`;
}

/** Message `seq` of client i goes to this room: every client walks all rooms, from a different start. */
export function roomIndexOf(client: number, seq: number, rooms: number): number {
  return (client * 7 + seq) % rooms;
}
