import { z } from 'zod';
import type { OutboxEntry, OutboxOutcome, OutboxRecord } from '../../actors/outbox.js';
import type { SendFailureReason } from '../../actors/send.js';

/**
 * The msgbot_outbox row as both dialects read it back (DESIGN.md §2 outbound path, durable): the
 * columns are checked with zod like any other boundary; the content (text, media, room title) of
 * an API send is one JSON column.
 */

const REASONS = [
  'no-connection',
  'not-approved',
  'no-room-title',
  'bad-media',
  'expired',
  'queue-full',
  'shutdown',
  'interrupted',
] as const satisfies readonly SendFailureReason[];

const contentSchema = z
  .object({
    roomTitle: z.string().optional(),
    text: z.string().optional(),
    media: z
      .object({
        urls: z.array(z.string()).optional(),
        imagesBase64: z.array(z.string()).optional(),
        waitMs: z.number().optional(),
      })
      .optional(),
  })
  .nullable();

const num = z.coerce.number();
const optText = z
  .string()
  .nullable()
  .transform((v) => v ?? undefined);

export const outboxRowSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(['api', 'scheduled']),
  bot_name: z.string(),
  device_id: z.string(),
  channel_id: z.string(),
  trace_id: z.string(),
  accepted_at: num,
  owner: z.string(),
  content: z.string().nullable(),
  schedule_id: num.nullable(),
  scheduled_at: optText,
  component: z.enum(['text', 'images_1', 'images_2']).nullable(),
  status: z.enum(['queued', 'delivered', 'failed']),
  reason: z.enum(REASONS).nullable(),
  detail: optText,
  settled_at: num.nullable(),
});

/** The columns written for an entry, in OUTBOX_COLUMNS order (status queued, no outcome yet). */
export const OUTBOX_COLUMNS = [
  'id',
  'kind',
  'bot_name',
  'device_id',
  'channel_id',
  'trace_id',
  'accepted_at',
  'owner',
  'content',
  'schedule_id',
  'scheduled_at',
  'component',
] as const;

export function entryParams(e: OutboxEntry): (string | number | null)[] {
  const content =
    e.kind === 'api'
      ? JSON.stringify({
          ...(e.roomTitle === undefined ? {} : { roomTitle: e.roomTitle }),
          ...(e.text === undefined ? {} : { text: e.text }),
          ...(e.media === undefined ? {} : { media: e.media }),
        })
      : null;
  return [
    e.id,
    e.kind,
    e.botName,
    e.deviceId,
    e.channelId,
    e.traceId,
    e.acceptedAt,
    e.owner,
    content,
    e.scheduleId ?? null,
    e.scheduledAt ?? null,
    e.component ?? null,
  ];
}

/** The record of one row, or an error text (a row we cannot read is reported, never re-submitted). */
export function decodeRow(raw: unknown): { ok: true; record: OutboxRecord } | { ok: false; error: string } {
  const parsed = outboxRowSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: parsed.error.message };
  const r = parsed.data;
  let content: z.infer<typeof contentSchema> = null;
  if (r.content !== null) {
    try {
      const c = contentSchema.safeParse(JSON.parse(r.content));
      if (!c.success) return { ok: false, error: c.error.message };
      content = c.data;
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
  const record: OutboxRecord = {
    id: r.id,
    kind: r.kind,
    botName: r.bot_name,
    deviceId: r.device_id,
    channelId: r.channel_id,
    traceId: r.trace_id,
    acceptedAt: r.accepted_at,
    owner: r.owner,
    status: r.status,
  };
  if (content?.roomTitle !== undefined) record.roomTitle = content.roomTitle;
  if (content?.text !== undefined) record.text = content.text;
  if (content?.media !== undefined) record.media = content.media;
  if (r.schedule_id !== null) record.scheduleId = r.schedule_id;
  if (r.scheduled_at !== undefined) record.scheduledAt = r.scheduled_at;
  if (r.component !== null) record.component = r.component;
  if (r.reason !== null) record.reason = r.reason;
  if (r.detail !== undefined) record.detail = r.detail;
  if (r.settled_at !== null) record.settledAt = r.settled_at;
  return { ok: true, record };
}

export const SELECT_COLUMNS = `${OUTBOX_COLUMNS.join(', ')}, status, reason, detail, settled_at`;

/** A send's outcome; a failed one keeps the device it was queued for. */
export const SETTLE_SQL =
  'UPDATE msgbot_outbox SET status = ?, device_id = COALESCE(?, device_id), reason = ?, detail = ?, settled_at = ? WHERE id = ?';

export function settleParams(id: string, o: OutboxOutcome): (string | number | null)[] {
  return o.status === 'delivered'
    ? ['delivered', o.deviceId, null, null, o.at, id]
    : ['failed', null, o.reason, o.detail === undefined ? null : o.detail.slice(0, 1_000), o.at, id];
}

/** `deliveredOf` asks for this many trace ids per query (one IN list; bound parameters stay few). */
export const TRACE_CHUNK = 500;

/** The query of `deliveredOf` for `n` trace ids (on the trace_id index). */
export function deliveredOfSql(n: number): string {
  const marks = Array.from({ length: n }, () => '?').join(', ');
  return `SELECT ${SELECT_COLUMNS} FROM msgbot_outbox WHERE trace_id IN (${marks}) AND status = 'delivered' ORDER BY seq`;
}

/** What `prune` deletes: settled before the bound, or queued and accepted before it. */
export const PRUNABLE = "((status <> 'queued' AND settled_at < ?) OR (status = 'queued' AND accepted_at < ?))";
