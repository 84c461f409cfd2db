import { createActor } from 'xstate';
import { connectionKey } from '../actors/connection.js';
import type { Inspection } from '../actors/inspection.js';
import { type OutboundActor, type OutboundItem, type OutboundLink, outboundMachine } from '../actors/outbound.js';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';

export interface OutboundPathsOptions {
  clock: Clock;
  idleMs: number;
  minGapMs: number;
  /** outbound.maxQueued (absent: no bound but holdMs) */
  maxQueued?: number;
  /** the live connection of a key, as the registry sees it */
  link(key: string): OutboundLink | undefined;
  log: Logger;
  inspection?: Inspection;
}

export interface OutboundView {
  key: string;
  botName: string;
  deviceId: string;
  state: unknown;
  queued: number;
  connected: boolean;
  delivered: number;
  failed: number;
}

/**
 * The outbound path actors by connection key (DESIGN.md §2): each is its own root actor, held
 * here like the connection registry (a child spawn per phone would copy the parent's children
 * map). Created on the first send to a phone, removed when the actor stops itself (idle, empty).
 */
export class OutboundPaths {
  private readonly paths = new Map<string, OutboundActor>();
  private stopping = false;

  constructor(private readonly opts: OutboundPathsOptions) {}

  get size(): number {
    return this.paths.size;
  }

  /** Hands `items` to the phone's path, in order; one event for the whole batch. */
  submit(botName: string, deviceId: string, items: readonly OutboundItem[]): void {
    if (this.stopping) {
      const at = this.opts.clock.now();
      for (const item of items)
        item.settle({ status: 'failed', reason: 'shutdown', detail: 'the gateway is stopping', at });
      return;
    }
    const key = connectionKey(botName, deviceId);
    let path = this.paths.get(key);
    if (path === undefined) path = this.create(key, botName, deviceId);
    path.send({ type: 'SEND', items });
  }

  /** The phone of `key` (re)connected or its standing changed. */
  poke(key: string): void {
    this.paths.get(key)?.send({ type: 'CONNECTED' });
  }

  /** Sends still queued on every path (the outbound queue depth). */
  queued(): number {
    let n = 0;
    for (const path of this.paths.values()) n += path.getSnapshot().context.queue.length;
    return n;
  }

  /** Whether a path has sends queued for a phone that is connected (they can still go out). */
  deliverable(): boolean {
    for (const [key, path] of this.paths) {
      if (path.getSnapshot().context.queue.length > 0 && this.opts.link(key) !== undefined) return true;
    }
    return false;
  }

  /** Gateway stop: every queued send fails `shutdown`, every path stops. */
  shutdown(): void {
    this.stopping = true;
    for (const path of [...this.paths.values()]) path.send({ type: 'SHUTDOWN' });
    this.paths.clear();
  }

  views(): OutboundView[] {
    return [...this.paths].map(([key, path]) => {
      const snap = path.getSnapshot();
      const c = snap.context;
      return {
        key,
        botName: c.botName,
        deviceId: c.deviceId,
        state: snap.value,
        queued: c.queue.length,
        connected: this.opts.link(key) !== undefined,
        delivered: c.delivered,
        failed: c.failed,
      };
    });
  }

  private create(key: string, botName: string, deviceId: string): OutboundActor {
    const actor = createActor(outboundMachine, {
      input: {
        key,
        botName,
        deviceId,
        idleMs: this.opts.idleMs,
        minGapMs: this.opts.minGapMs,
        maxQueued: this.opts.maxQueued,
        ports: { clock: this.opts.clock, link: this.opts.link },
      },
      clock: this.opts.clock,
    });
    this.opts.inspection?.attach(actor);
    const forget = () => {
      if (this.paths.get(key) === actor) this.paths.delete(key);
    };
    actor.subscribe({
      complete: forget,
      error: (err) => {
        forget();
        this.opts.log.error({ err, botName, deviceId }, 'outbound path failed');
      },
    });
    this.paths.set(key, actor);
    actor.start();
    return actor;
  }
}
