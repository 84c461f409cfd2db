/**
 * What a caller hands the outbound path (DESIGN.md §2 "Outbound path") and what it gets back:
 * handler replies, scheduler sends and API sends all use these shapes. Every send ends with
 * exactly one outcome.
 */

/** Who asked for the send; counted apart in metrics and in the chat log (PROTOCOL §8.3). */
export type SendKind = 'reply' | 'scheduled' | 'api';

/** Why a send failed (PROTOCOL §7.12 [REC]). */
export type SendFailureReason =
  | 'no-connection'
  | 'not-approved'
  | 'no-room-title'
  | 'bad-media'
  | 'expired'
  /** the phone's outbound path already holds outbound.maxQueued sends */
  | 'queue-full'
  | 'shutdown'
  /** the gateway stopped while it waited; the schedule run it belonged to was closed at the next start */
  | 'interrupted';

/** Media of one send: URLs, or standard base64 items (PROTOCOL §4.5). */
export interface SendMedia {
  urls?: readonly string[];
  imagesBase64?: readonly string[];
  /** media_wait_time in ms: the phone's next send waits this long (PROTOCOL §4.4) */
  waitMs?: number;
}

export interface SendRequest {
  /** ULID; the id `GET /messages/<id>` answers for */
  id: string;
  kind: SendKind;
  botName: string;
  /** absent: the phone that last served the room */
  deviceId?: string;
  channelId: string;
  /** the room title to post by (PROTOCOL §4.4); absent: looked up in kb_rooms */
  roomTitle?: string;
  /** exactly one of text and media */
  text?: string;
  media?: SendMedia;
  /** the trace id of the message this answers, or a fresh one */
  traceId: string;
  /** kb_schedule.id of a scheduler send */
  scheduleId?: number;
  /** a scheduler send: its run's next_send_at (KST text) and component, kept in the outbox (PROTOCOL §7.12) */
  scheduledAt?: string;
  component?: 'text' | 'images_1' | 'images_2';
}

export type SendOutcome =
  | { id: string; status: 'delivered'; deviceId: string; at: number }
  | { id: string; status: 'failed'; reason: SendFailureReason; detail?: string; at: number };

/** The port every producer of outbound messages is given. Resolves once, with the outcome. */
export interface SendPort {
  send(request: SendRequest): Promise<SendOutcome>;
}
