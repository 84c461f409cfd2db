import type { AnyActorRef } from 'xstate';
import type { Clock } from '../actors/clock.js';
import { connectionKey } from '../actors/connection.js';
import type { ChatVerdict, Standing } from '../actors/connection-ports.js';
import type { DispatcherEvent } from '../actors/dispatcher.js';
import { type ChatMessage, type Job, roomKeyOf } from '../actors/job.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { ChatLogRow } from '../infra/store/types.js';
import { chatLogRow } from '../infra/telemetry/rows.js';
import type { DedupWindow } from './dedup.js';
import type { DurableMailbox } from './durable.js';
import type { LiveRegistry } from './live-info.js';

/** The (bot, device, channelId, logId) de-duplication key (PROTOCOL §4.1 [REC]). */
export function dedupKeyOf(k: {
  botName: string;
  deviceId: string;
  channelId: string | null;
  logId: string | null;
}): string | undefined {
  if (k.logId === null || k.channelId === null) return undefined;
  return `${k.botName}\u0000${k.deviceId}\u0000${k.channelId}\u0000${k.logId}`;
}

/** A message as a job for the mailbox. */
export function jobOf(message: ChatMessage, attempts: number, now: number): Job {
  return {
    id: message.traceId,
    botKey: message.botName,
    roomKey: roomKeyOf(message),
    enqueuedAt: now,
    attempts,
    message,
  };
}

export interface IntakeDeps {
  clock: Clock;
  metrics: Metrics;
  /** the `message` log category */
  log: Logger;
  /** processing.mode */
  mode: 'queued' | 'direct';
  /** (bot, device, channelId, logId) within processing.dedupWindowMs */
  dedup: DedupWindow;
  /** listener / legacy-callback copies within processing.pairWindowMs */
  pairs: DedupWindow;
  durable: DurableMailbox<DispatcherEvent> | undefined;
  /** the way to the dispatcher (dispatch-outbox.ts) */
  outbox: {
    full(): boolean;
    enqueue(job: Job, replyTo?: AnyActorRef): void;
    send(event: DispatcherEvent): void;
  };
  stopping(): boolean;
  chatLog(row: ChatLogRow): void;
  /** the live connections (each counts its `messagesIn`) */
  registry: LiveRegistry;
  /** registers the room of a limited-mode message (its status is not waited for) */
  registerRoom(message: ChatMessage): void;
  /** the sender learns the message's room (replies and sends go to it) */
  served(message: ChatMessage): void;
  /** processing.mode `direct`: the handler runs at once */
  runDirect(message: ChatMessage): void;
}

/**
 * The first stage of one message (PROTOCOL §7.7): dedup, limited mode, the chat log, the durable
 * append, then the mailbox (or the handler at once in direct mode). The answer is synchronous:
 * the connection holds what the gateway refuses (docs/decisions.md "Backpressure").
 */
export class Intake {
  constructor(private readonly deps: IntakeDeps) {}

  /** PROTOCOL §7.7: every analyze is logged; only full-standing devices' messages are processed. */
  chat(message: ChatMessage, standing: Standing, self: AnyActorRef): ChatVerdict {
    const d = this.deps;
    const queued = d.mode === 'queued';
    // While stopping, new messages stay held at their connection (reported when it closes).
    if (d.stopping()) return 'full';
    if (standing === 'full' && queued && d.outbox.full()) {
      d.metrics.mailboxRefusals.inc();
      d.metrics.readPauses.inc();
      d.outbox.send({ type: 'WAIT_FOR_ROOM', ref: self });
      return 'full';
    }
    const duplicate = this.duplicateOf(message);
    if (duplicate !== undefined) {
      d.metrics.duplicates.inc();
      d.log.debug({ traceId: message.traceId, logId: message.logId }, duplicate);
      return 'ignored';
    }
    d.chatLog(chatLogRow(message, d.clock.now()));
    const live = d.registry.get(connectionKey(message.botName, message.deviceId));
    if (live !== undefined) live.info.messagesIn++;
    const log = d.log;
    if (standing !== 'full') {
      // PROTOCOL §7.3 limited mode: logged, room registered, never answered.
      d.metrics.messages.inc({ outcome: 'limited' });
      log.debug({ traceId: message.traceId }, 'message from a device in limited mode');
      d.registerRoom(message);
      return 'ignored';
    }
    d.served(message);
    log.debug({ traceId: message.traceId, room: message.room, channelId: message.channelId }, 'message accepted');
    d.durable?.append(message); // DESIGN.md §2: stored before the dispatcher sees it
    if (!queued) {
      d.runDirect(message);
      return 'accepted';
    }
    d.outbox.enqueue(jobOf(message, 0, d.clock.now()), self);
    return 'accepted';
  }

  /**
   * Why a message is a copy of one already handled (the log message), or undefined.
   * PROTOCOL §4.1 [REC], §9 item 15: a packet re-sent after a failed write repeats its
   * (channelId, logId); when the app fires both the listener and the legacy callback, one chat
   * arrives twice in different forms, and whichever copy comes second within the window is dropped.
   */
  private duplicateOf(m: ChatMessage): string | undefined {
    const d = this.deps;
    const key = dedupKeyOf(m);
    if (key !== undefined && d.dedup.check(key, m.receivedAt)) {
      if (d.durable?.fromBeforeRestart(key)) d.metrics.durability.inc({ event: 'duplicate-after-restart' });
      return 'duplicate dropped';
    }
    const content = `${m.botName}\u0000${m.deviceId}\u0000${m.room}\u0000${m.sender}\u0000${m.text}`;
    const mine = m.legacyCallback ? 'legacy' : 'listener';
    const other = m.legacyCallback ? 'listener' : 'legacy';
    if (d.pairs.has(`${other}\u0000${content}`, m.receivedAt)) return 'second producer copy dropped';
    d.pairs.add(`${mine}\u0000${content}`, m.receivedAt);
    return undefined;
  }
}
