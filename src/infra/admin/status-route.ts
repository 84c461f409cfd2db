import { z } from 'zod';
import type { AdminRoute } from './routes.js';

/**
 * `GET /status`: what `msgbot-gateway status` shows — live connections, devices and rooms waiting
 * for approval, the mailbox and the last error lines. A reading route (open on the admin address).
 */

export const statusBodySchema = z.object({
  startedAt: z.number(),
  store: z.string(),
  connections: z.array(
    z.object({
      botName: z.string(),
      deviceId: z.string(),
      version: z.string(),
      standing: z.string(),
      connectedAt: z.number(),
    }),
  ),
  pending: z.object({
    devices: z.array(z.object({ botName: z.string(), deviceId: z.string(), approve: z.string() })),
    rooms: z.array(
      z.object({
        botName: z.string(),
        deviceId: z.string(),
        channelId: z.string(),
        roomName: z.string(),
        approve: z.string(),
      }),
    ),
    /** null when the store could not be read */
    error: z.string().nullable(),
  }),
  mailbox: z.object({ waiting: z.number(), running: z.number(), capacity: z.number() }),
  lastErrors: z.array(z.object({ at: z.number(), level: z.string(), msg: z.string() }).catchall(z.unknown())),
});

export type StatusBody = z.infer<typeof statusBodySchema>;

export function statusRoute(gather: () => Promise<StatusBody>): AdminRoute {
  return {
    method: 'GET',
    path: '/status',
    auth: 'open',
    handle: async () => ({ status: 200, body: await gather() }),
  };
}
