import type { Clock } from '../actors/clock.js';
import { connectionKey } from '../actors/connection.js';
import type { Standing } from '../actors/connection-ports.js';
import type { DispatcherEvent } from '../actors/dispatcher.js';
import type { ChatMessage, Job } from '../actors/job.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { DedupWindow } from './dedup.js';
import type { DurableMailbox } from './durable.js';
import { dedupKeyOf, jobOf } from './intake.js';
import { ReplayHold } from './replay-hold.js';

export interface DurableReplayDeps {
  clock: Clock;
  metrics: Metrics;
  /** the `dispatch` log category (recovery) */
  dispatchLog: Logger;
  /** the `message` log category (dropped replays) */
  messageLog: Logger;
  durable: DurableMailbox<DispatcherEvent> | undefined;
  dedup: DedupWindow;
  /** processing.replayWindowMs: replayed messages wait this long for their phone */
  replayWindowMs: number;
  /** processing.mode */
  mode: 'queued' | 'direct';
  runDirect(message: ChatMessage): void;
  enqueue(job: Job): void;
}

/**
 * DESIGN.md §2 durable mailbox after a restart: unfinished messages inside the replay window are
 * re-queued in their original order with their original trace ids, once their phone is back.
 */
export class DurableReplay {
  private readonly hold: ReplayHold;

  constructor(private readonly deps: DurableReplayDeps) {
    this.hold = new ReplayHold(deps.clock, deps.replayWindowMs, (messages) => {
      for (const m of messages) deps.durable?.expire(m);
    });
  }

  /** Replayed messages still waiting for their phones expire no more (shutdown). */
  stop(): void {
    this.hold.stop();
  }

  /**
   * The record is read; the de-duplication window is seeded from it, so a phone that re-sends
   * after the restart is answered once.
   */
  async recover(): Promise<ReadonlySet<string>> {
    const d = this.deps;
    if (d.durable === undefined) return new Set();
    const { replay, expired, keys } = await d.durable.recover(dedupKeyOf);
    for (const k of keys) {
      const key = dedupKeyOf(k);
      if (key !== undefined) d.dedup.add(key, k.receivedAt);
    }
    // handed on when their phone is back (see handOn), so the replies find it
    this.hold.add(replay, (m) => connectionKey(m.botName, m.deviceId));
    d.durable.startPruning();
    d.dispatchLog.info(
      { replayed: replay.length, expired: expired.length, known: keys.length },
      'durable mailbox recovered; replayed messages wait for their phones',
    );
    // their handlers run again, and send what they sent again (the send record leaves those to them)
    return new Set(replay.map((m) => m.traceId));
  }

  /** A device completed its handshake: its replayed messages go first (DESIGN.md §2). */
  handOn(key: string, standing: Standing): void {
    const d = this.deps;
    const messages = this.hold.take(key);
    if (messages.length === 0) return;
    if (standing !== 'full') {
      // no longer approved: never answered, like any message of a device in limited mode
      for (const m of messages) d.durable?.finish(m.traceId, 'failed');
      d.messageLog.warn({ count: messages.length }, 'replayed messages dropped: device not approved');
      return;
    }
    d.metrics.durability.inc({ event: 'replayed' }, messages.length);
    d.dispatchLog.info(
      { botName: messages[0]!.botName, deviceId: messages[0]!.deviceId, replayed: messages.length },
      'replayed messages handed on',
    );
    for (const message of messages) {
      if (d.mode === 'direct') {
        d.runDirect(message);
        continue;
      }
      d.enqueue(jobOf(message, 0, d.clock.now()));
    }
  }
}
