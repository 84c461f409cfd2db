import { z } from 'zod';
import type { SendKind } from '../../actors/send.js';
import type { SendRecord } from '../../gateway/send-outcomes.js';
import type { SendInput } from '../../gateway/sender.js';
import { type AdminRoute, HttpError } from './routes.js';

/**
 * The send API (DESIGN.md §2 "Outbound path"): `POST /messages` queues a message for a room and
 * answers 202 with its id; `GET /messages/<id>` answers its outcome. Both need the admin token.
 */

/** PROTOCOL §1.6: ids are decimal digit strings (they exceed 2^53). */
const digits = z.string().regex(/^\d{1,30}$/, 'must be a decimal digit string (PROTOCOL §1.6)');

const mediaSchema = z
  .object({
    urls: z.array(z.string().min(1)).min(1).optional(),
    imagesBase64: z.array(z.string().min(1)).min(1).optional(),
    waitMs: z.number().int().positive().optional(),
  })
  .strict()
  .refine((m) => (m.urls === undefined) !== (m.imagesBase64 === undefined), {
    message: 'media needs exactly one of urls and imagesBase64',
  });

export const sendBodySchema = z
  .object({
    bot: z.string().min(1),
    channelId: digits,
    text: z.string().min(1).optional(),
    media: mediaSchema.optional(),
    device: z.string().min(1).optional(),
    roomTitle: z.string().min(1).optional(),
  })
  .strict()
  .refine((b) => (b.text === undefined) !== (b.media === undefined), {
    message: 'give exactly one of "text" and "media"',
  });

export type SendBody = z.infer<typeof sendBodySchema>;

export interface MessageRoutesDeps {
  accept(input: SendInput, kind?: SendKind): Promise<SendRecord>;
  /** the in-memory outcomes, else the send record (after a restart) */
  outcome(id: string): SendRecord | undefined | Promise<SendRecord | undefined>;
}

/** `a.b: message; c: message` — every zod issue, named by its path. */
export function issuesText(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}

export function messageRoutes(deps: MessageRoutesDeps): AdminRoute[] {
  return [
    {
      method: 'POST',
      path: '/messages',
      auth: 'token',
      async handle({ json }) {
        const parsed = sendBodySchema.safeParse(await json());
        if (!parsed.success) throw new HttpError(400, `bad message: ${issuesText(parsed.error)}`);
        const b = parsed.data;
        const input: SendInput = { botName: b.bot, channelId: b.channelId };
        if (b.device !== undefined) input.deviceId = b.device;
        if (b.roomTitle !== undefined) input.roomTitle = b.roomTitle;
        if (b.text !== undefined) input.text = b.text;
        if (b.media !== undefined) input.media = b.media;
        const record = await deps.accept(input, 'api');
        return { status: 202, body: record, headers: { location: `/messages/${record.id}` } };
      },
    },
    {
      method: 'GET',
      path: '/messages/:id',
      auth: 'token',
      async handle({ params }) {
        const record = await deps.outcome(params.id ?? '');
        if (record === undefined) {
          throw new HttpError(
            404,
            `no message ${params.id} (unknown, or forgotten: outbound.maxOutcomes in memory, outbound.recordKeepMs in msgbot_outbox)`,
          );
        }
        return { status: 200, body: record };
      },
    },
  ];
}
