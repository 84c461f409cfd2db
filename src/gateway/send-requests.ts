import { ulid } from 'ulid';
import type { OutboxEntry, OutboxOutcome, OutboxRecord } from '../actors/outbox.js';
import type { SendKind, SendMedia, SendOutcome, SendRequest } from '../actors/send.js';

/**
 * How a send is described (DESIGN.md §2 outbound path): what code outside a handler asks for, the
 * SendRequest the Sender makes of it, and what the send record (msgbot_outbox) keeps of it.
 */

/** What code outside a handler (and `ctx.send`) asks for; the gateway fills in id and kind. */
export interface SendInput {
  botName: string;
  channelId: string;
  /** absent: the phone that last served the room */
  deviceId?: string;
  roomTitle?: string;
  text?: string;
  media?: SendMedia;
  traceId?: string;
}

/** An API (or `ctx.send`) input as a request with a fresh id. */
export function requestOf(input: SendInput, kind: SendKind, now: number): SendRequest {
  const id = ulid(now);
  const request: SendRequest = {
    id,
    kind,
    botName: input.botName,
    channelId: input.channelId,
    traceId: input.traceId ?? id,
  };
  if (input.deviceId !== undefined) request.deviceId = input.deviceId;
  if (input.roomTitle !== undefined) request.roomTitle = input.roomTitle;
  if (input.text !== undefined) request.text = input.text;
  if (input.media !== undefined) request.media = input.media;
  return request;
}

/** A send outcome as its record keeps it. */
export function outcomeOf(o: SendOutcome): OutboxOutcome {
  return o.status === 'delivered'
    ? { status: 'delivered', deviceId: o.deviceId, at: o.at }
    : { status: 'failed', reason: o.reason, ...(o.detail === undefined ? {} : { detail: o.detail }), at: o.at };
}

/** The record of an API or scheduled send; a scheduled one keeps no content (its run reloads it). */
export function entryOf(r: SendRequest, deviceId: string, acceptedAt: number): Omit<OutboxEntry, 'owner'> {
  const kind = r.kind === 'scheduled' ? 'scheduled' : 'api';
  const e: Omit<OutboxEntry, 'owner'> = {
    id: r.id,
    kind,
    botName: r.botName,
    deviceId,
    channelId: r.channelId,
    traceId: r.traceId,
    acceptedAt,
  };
  if (kind === 'api') {
    if (r.roomTitle !== undefined) e.roomTitle = r.roomTitle;
    if (r.text !== undefined) e.text = r.text;
    if (r.media !== undefined) e.media = r.media;
  }
  if (r.scheduleId !== undefined) e.scheduleId = r.scheduleId;
  if (r.scheduledAt !== undefined) e.scheduledAt = r.scheduledAt;
  if (r.component !== undefined) e.component = r.component;
  return e;
}

/** A send the record still had queued at start, as a request again (same id). */
export function requestOfRecord(record: OutboxRecord): SendRequest {
  const request: SendRequest = {
    id: record.id,
    kind: record.kind,
    botName: record.botName,
    deviceId: record.deviceId,
    channelId: record.channelId,
    traceId: record.traceId,
  };
  if (record.roomTitle !== undefined) request.roomTitle = record.roomTitle;
  if (record.text !== undefined) request.text = record.text;
  if (record.media !== undefined) request.media = record.media;
  return request;
}
