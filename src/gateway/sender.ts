import type { Standing } from '../actors/connection-ports.js';
import type { ChatMessage } from '../actors/job.js';
import type { OutboundItem, OutboundOutcome } from '../actors/outbound.js';
import type { OutboxRecord } from '../actors/outbox.js';
import type { SendFailureReason, SendKind, SendOutcome, SendPort, SendRequest } from '../actors/send.js';
import { encodeReply, ReplyError, truncateCodePoints } from '../handlers/reply.js';
import type { ReplyPacket } from '../handlers/runner.js';
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { ChatLogRow, Store } from '../infra/store/types.js';
import { sentChatLogRow } from '../infra/telemetry/sent-rows.js';
import type { OutgoingReply } from '../protocol/index.js';
import type { DurableMailbox } from './durable.js';
import { LastServed } from './last-served.js';
import { mediaHoldMs } from './media-hold.js';
import type { OutboundPaths } from './outbound-paths.js';
import type { SendJournal } from './send-journal.js';
import { SendOutcomes, type SendRecord } from './send-outcomes.js';
import { entryOf, outcomeOf, requestOf, requestOfRecord, type SendInput } from './send-requests.js';

export type { SendInput };

export interface SenderDeps {
  clock: Clock;
  outbound: Config['outbound'];
  maxTextChars: number;
  store: Store;
  paths: OutboundPaths;
  chatLog(row: ChatLogRow): void;
  metrics: Metrics;
  log: Logger;
  /** standing of the live connection of (bot, device), undefined when it is not connected */
  standing(botName: string, deviceId: string): Standing | undefined;
  /** rooms remembered as last served, at most this many */
  maxRooms?: number;
  /** the durable mailbox's count of each message's written replies (DESIGN.md §2) */
  written?: Pick<DurableMailbox<unknown>, 'replyWritten' | 'alreadyWritten'>;
  /** the send record (DESIGN.md §2: API and scheduled sends survive a restart); none: memory only */
  journal?: Pick<SendJournal, 'add' | 'settle' | 'get'>;
}

/** How a send is started: fresh, or re-sent after a restart (already in the record, its hold running). */
interface StartOptions {
  acceptedAt?: number;
  stored?: boolean;
}

/**
 * The front of the outbound paths: handler replies (hot path, no lookups), and the SendPort for
 * scheduled and API sends, which resolves the phone, checks device and room approval and the room
 * title first (PROTOCOL §7.12 [REC]). It records every outcome: metrics, the chat log for what
 * was delivered (PROTOCOL §8.3 [REC]), and the outcome memory behind `GET /messages/<id>`.
 */
export class Sender implements SendPort {
  readonly outcomes: SendOutcomes;
  /** (bot, channel) → the phone that last relayed a message from it, and the room's title then */
  private readonly lastServed: LastServed;
  private readonly replyDelivered: { inc(): void };

  constructor(private readonly deps: SenderDeps) {
    this.outcomes = new SendOutcomes(deps.outbound.maxOutcomes);
    this.lastServed = new LastServed(deps.maxRooms ?? 100_000);
    this.replyDelivered = deps.metrics.sends.labels('reply', 'delivered');
  }

  /** Remembers which phone serves a room (an accepted message from an approved device). */
  served(message: ChatMessage): void {
    this.lastServed.note(message);
  }

  /**
   * A handler's reply packets to the phone that sent `message` (PROTOCOL §7.7 step 7); one event
   * on its outbound path. Resolves when every packet has its outcome.
   */
  replies(message: ChatMessage, packets: readonly ReplyPacket[], signal?: AbortSignal): number | Promise<number> {
    const now = this.deps.clock.now();
    const expiresAt = now + this.deps.outbound.holdMs;
    const roomKey = message.channelId ?? `\u0000${message.room}`;
    let left = packets.length;
    let delivered = 0;
    let done: ((n: number) => void) | undefined;
    const items: OutboundItem[] = [];
    const written = this.deps.written;
    for (const packet of packets) {
      if (written?.alreadyWritten(message.traceId)) {
        // a replayed message: this reply reached the phone before the restart (DESIGN.md §2)
        left--;
        delivered++;
        this.deps.metrics.durability.inc({ event: 'reply-not-resent' });
        this.deps.log.info({ traceId: message.traceId }, 'reply written before the restart; not sent again');
        continue;
      }
      items.push({
        id: message.traceId,
        kind: 'reply',
        traceId: message.traceId,
        roomKey,
        reply: packet.reply,
        gapMs: packet.gapMs,
        holdMs: mediaHoldMs(packet.reply),
        expiresAt,
        signal,
        settle: (outcome) => {
          this.settledReply(message, packet.reply, outcome);
          if (outcome.status === 'delivered') delivered++;
          if (--left === 0) done?.(delivered);
        },
      });
    }
    if (items.length > 0) this.deps.paths.submit(message.botName, message.deviceId, items);
    // the usual case: written in the SEND step itself, so no promise is needed
    if (left === 0) return delivered;
    return new Promise<number>((resolve) => {
      done = resolve;
    });
  }

  private settledReply(message: ChatMessage, reply: OutgoingReply, outcome: OutboundOutcome): void {
    if (outcome.status === 'delivered') {
      this.deps.written?.replyWritten(message.traceId);
      this.replyDelivered.inc();
      this.deps.chatLog(sentChatLogRow(reply, false, outcome.at));
      // the reply stage of the message trace
      this.deps.log.debug({ traceId: message.traceId }, 'reply sent');
      return;
    }
    this.deps.metrics.sends.inc({ kind: 'reply', outcome: outcome.reason });
    this.deps.log.warn(
      { traceId: message.traceId, deviceId: message.deviceId, reason: outcome.reason, detail: outcome.detail },
      'reply not delivered',
    );
  }

  /** SendPort: a scheduled or API send. Never rejects; resolves once, with the outcome. */
  async send(request: SendRequest): Promise<SendOutcome> {
    return (await this.start(request)).done;
  }

  /**
   * Checks the send and queues it on its phone's path; resolves once that is done (the outcome
   * follows in `done`). A send that fails its checks has its outcome at once.
   */
  private async start(
    request: SendRequest,
    opts: StartOptions = {},
  ): Promise<{ done: Promise<SendOutcome>; stored: Promise<void> }> {
    if (this.outcomes.get(request.id) === undefined) this.remember(request, opts.acceptedAt);
    let prepared: { item: Omit<OutboundItem, 'settle'>; deviceId: string } | SendOutcome;
    try {
      prepared = await this.prepare(request, opts.acceptedAt);
    } catch (error) {
      prepared = this.failed(request, 'not-approved', `lookup failed: ${(error as Error).message}`);
    }
    const journal = request.kind === 'reply' ? undefined : this.deps.journal;
    if ('status' in prepared) {
      // a re-sent send that fails its checks now: its record says so
      const stored = opts.stored === true ? journal?.settle(request.id, outcomeOf(prepared)) : undefined;
      return { done: Promise.resolve(this.finish(request, prepared)), stored: stored ?? Promise.resolve() };
    }
    const { item, deviceId } = prepared;
    // DESIGN.md §2: stored before it is queued, so its outcome (maybe at once) follows its row
    const stored =
      opts.stored === true || journal === undefined
        ? Promise.resolve()
        : journal.add(entryOf(request, deviceId, opts.acceptedAt ?? this.deps.clock.now()));
    const done = new Promise<SendOutcome>((resolve) => {
      this.deps.paths.submit(request.botName, deviceId, [
        {
          ...item,
          settle: (o) => {
            const outcome: SendOutcome =
              o.status === 'delivered'
                ? { id: request.id, status: 'delivered', deviceId, at: o.at }
                : { id: request.id, status: 'failed', reason: o.reason, detail: o.detail, at: o.at };
            void journal?.settle(request.id, outcomeOf(outcome));
            resolve(this.finish(request, outcome, item.reply));
          },
        },
      ]);
    });
    return { done, stored };
  }

  /**
   * Start-up: a send the record still had queued goes to its phone's path again (same id, rest of
   * its hold); resolves once it is queued (or failed its checks), so sends keep their order.
   */
  async resubmit(record: OutboxRecord): Promise<void> {
    await this.start(requestOfRecord(record), { acceptedAt: record.acceptedAt, stored: true });
  }

  /** `GET /messages/<id>`: the outcome memory, else the send record (after a restart). */
  async lookup(id: string): Promise<SendRecord | undefined> {
    return this.outcomes.get(id) ?? (await this.deps.journal?.get(id));
  }

  /**
   * Accepts a send for the admin API: resolves once it is checked and queued (or failed its
   * checks, or already went out), with its record; the outcome follows in `outcomes`.
   */
  async accept(input: SendInput, kind: SendKind = 'api'): Promise<SendRecord> {
    const request = requestOf(input, kind, this.deps.clock.now());
    this.remember(request);
    const { stored } = await this.start(request);
    await stored; // answered once the send is in the record (a restart sends it)
    return this.outcomes.get(request.id)!;
  }

  /** `gateway.send(...)` and `ctx.send(...)`: an API send, resolved with its outcome. */
  sendInput(input: SendInput, kind: SendKind = 'api'): Promise<SendOutcome> {
    return this.send(requestOf(input, kind, this.deps.clock.now()));
  }

  private remember(request: SendRequest, acceptedAt = this.deps.clock.now()): void {
    if (request.kind === 'reply') return;
    this.outcomes.add({
      id: request.id,
      kind: request.kind,
      botName: request.botName,
      channelId: request.channelId,
      ...(request.deviceId !== undefined ? { deviceId: request.deviceId } : {}),
      status: 'queued',
      acceptedAt,
    });
  }

  /** The checks of a send, in order: content, phone, approval, room title. */
  private async prepare(
    request: SendRequest,
    acceptedAt?: number,
  ): Promise<{ item: Omit<OutboundItem, 'settle'>; deviceId: string } | SendOutcome> {
    const hasText = typeof request.text === 'string' && request.text !== '';
    if (hasText === (request.media !== undefined)) {
      return this.failed(request, 'bad-media', 'give exactly one of text and media');
    }
    let text: string;
    let mediaWaitTime: number | undefined;
    if (hasText) {
      text = truncateCodePoints(request.text!, this.deps.maxTextChars);
    } else {
      const m = request.media!;
      try {
        if ((m.urls === undefined) === (m.imagesBase64 === undefined)) {
          throw new ReplyError('media needs exactly one of urls and imagesBase64');
        }
        const encoded =
          m.urls !== undefined
            ? encodeReply({ mediaUrls: [...m.urls], waitMs: m.waitMs })
            : encodeReply({ imagesBase64: [...(m.imagesBase64 ?? [])], waitMs: m.waitMs });
        if (encoded === undefined) throw new ReplyError('empty media');
        text = encoded.text;
        mediaWaitTime = encoded.mediaWaitTime;
      } catch (error) {
        return this.failed(request, 'bad-media', (error as Error).message);
      }
    }
    const served = this.lastServed.of(request.botName, request.channelId);
    const deviceId =
      request.deviceId ?? served?.deviceId ?? (await this.deviceOfRoom(request.botName, request.channelId));
    if (deviceId === undefined) {
      return this.failed(request, 'no-connection', 'no phone of this bot serves this room; give a device');
    }
    this.outcomes.setDevice(request.id, deviceId);
    const key = { botName: request.botName, deviceId };
    const live = this.deps.standing(request.botName, deviceId);
    if (live === 'limited') return this.failed(request, 'not-approved', 'the device is not approved', deviceId);
    if (live === undefined) {
      const device = await this.deps.store.getDevice(key);
      if (device === undefined) return this.failed(request, 'no-connection', 'no such device', deviceId);
      if (device.status !== 'approved') {
        return this.failed(request, 'not-approved', `the device is ${device.status}`, deviceId);
      }
    }
    // PROTOCOL §7.12 [REC]: room approval is checked (the reference did not).
    const room = await this.deps.store.getRoom({ roomId: request.channelId, ...key });
    if (room === undefined)
      return this.failed(request, 'not-approved', 'the room is not registered for this device', deviceId);
    if (room.status !== 'approved') return this.failed(request, 'not-approved', `the room is ${room.status}`, deviceId);
    // PROTOCOL §4.4: text is posted by the room's title; media go by channel id.
    const title = request.roomTitle ?? (served?.deviceId === deviceId ? served.room : undefined) ?? room.roomName;
    if ((title === undefined || title === '') && hasText) {
      return this.failed(request, 'no-room-title', 'the room has no title to post by', deviceId);
    }
    const reply: OutgoingReply = { room: title ?? '', channelId: request.channelId, botName: request.botName, text };
    if (mediaWaitTime !== undefined) reply.mediaWaitTime = mediaWaitTime;
    const now = this.deps.clock.now();
    return {
      deviceId,
      item: {
        id: request.id,
        kind: request.kind,
        traceId: request.traceId,
        roomKey: request.channelId,
        reply,
        gapMs: this.deps.outbound.minGapMs,
        holdMs: mediaHoldMs(reply),
        expiresAt: (acceptedAt ?? now) + this.deps.outbound.holdMs,
      },
    };
  }

  /**
   * The phone for a room nobody relayed since start: among its kb_rooms rows, an approved one
   * whose phone is connected, else the most recently updated approved one, else any.
   */
  private async deviceOfRoom(botName: string, channelId: string): Promise<string | undefined> {
    const rows = (await this.deps.store.listRooms({ botName })).filter((r) => r.roomId === channelId);
    const approved = rows.filter((r) => r.status === 'approved');
    const live = approved.find((r) => this.deps.standing(botName, r.deviceId) !== undefined);
    if (live !== undefined) return live.deviceId;
    const newest = [...approved].sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? ''))[0];
    return (newest ?? rows[0])?.deviceId;
  }

  private failed(request: SendRequest, reason: SendFailureReason, detail: string, deviceId?: string): SendOutcome {
    if (deviceId !== undefined) this.outcomes.setDevice(request.id, deviceId);
    return { id: request.id, status: 'failed', reason, detail, at: this.deps.clock.now() };
  }

  /** Records an outcome: metrics, log, outcome memory, and the chat log row of a delivered send. */
  private finish(request: SendRequest, outcome: SendOutcome, reply?: OutgoingReply): SendOutcome {
    const { metrics, log } = this.deps;
    this.outcomes.settle(outcome);
    const base = { sendId: request.id, traceId: request.traceId, kind: request.kind, botName: request.botName };
    if (outcome.status === 'delivered') {
      metrics.sends.inc({ kind: request.kind, outcome: 'delivered' });
      if (reply !== undefined) this.deps.chatLog(sentChatLogRow(reply, request.kind === 'scheduled', outcome.at));
      log.info({ ...base, deviceId: outcome.deviceId, channelId: request.channelId }, 'message delivered');
    } else {
      metrics.sends.inc({ kind: request.kind, outcome: outcome.reason });
      log.warn(
        { ...base, channelId: request.channelId, reason: outcome.reason, detail: outcome.detail },
        'send failed',
      );
    }
    return outcome;
  }
}
