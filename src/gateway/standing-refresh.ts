import type { Clock } from '../actors/clock.js';
import { standingOf } from '../actors/connection-ports.js';
import type { WorkerSlot } from '../actors/dispatcher.js';
import type { Config } from '../infra/config/schema.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { DeviceDirectory } from './devices.js';
import type { LiveRegistry } from './live-info.js';
import { Repeating } from './repeating.js';
import type { RoomSaturationWatch } from './room-saturation.js';
import type { RoomDirectory } from './rooms.js';

export interface StandingRefreshDeps {
  clock: Clock;
  metrics: Metrics;
  /** the `database` log category (a failed refresh) */
  databaseLog: Logger;
  /** the `client` log category (a changed standing) */
  clientLog: Logger;
  registry: LiveRegistry;
  devices: Pick<DeviceDirectory, 'refresh'>;
  rooms: Pick<RoomDirectory, 'refresh'>;
  /** sends held for a phone go out when its standing may have changed */
  poke(key: string): void;
  /** timers.standingRefreshMs */
  everyMs: number;
  /** rooms whose every slot is held by a hung handler, checked on each refresh tick */
  saturation: Pick<RoomSaturationWatch, 'check'>;
  processing: Pick<Config['processing'], 'perRoom' | 'stuckAfterMs'>;
  workers(): Iterable<WorkerSlot>;
}

/**
 * The standing of live connections and the rooms of their bots, re-read on the clock (within
 * timers.standingRefreshMs of a CLI or back-office change) and on `# reload bots-config`.
 */
export class StandingRefresh {
  private readonly repeating: Repeating;

  constructor(private readonly deps: StandingRefreshDeps) {
    this.repeating = new Repeating(deps.clock, deps.everyMs, () => {
      deps.saturation.check({
        now: deps.clock.now(),
        perRoom: deps.processing.perRoom,
        stuckAfterMs: deps.processing.stuckAfterMs,
        workers: deps.workers(),
      });
      return this.reload();
    });
  }

  /** Standing of live connections is re-read on the clock (within timers.standingRefreshMs). */
  schedule(): void {
    this.repeating.start();
  }

  stop(): void {
    this.repeating.stop();
  }

  /**
   * Re-reads the standing of every live connection (PROTOCOL §7.10 `# reload bots-config`).
   * Changed connections get a STANDING event.
   */
  async reload(): Promise<{ checked: number; changed: number }> {
    const d = this.deps;
    const live = [...d.registry.entries()];
    if (live.length === 0) return { checked: 0, changed: 0 };
    let fresh: Awaited<ReturnType<DeviceDirectory['refresh']>>;
    try {
      fresh = await d.devices.refresh(live.map(([, e]) => e.info.handshake));
    } catch (error) {
      d.metrics.storeErrors.inc({ op: 'refreshStanding' });
      d.databaseLog.warn({ err: error }, 'standing refresh failed; keeping the last known');
      throw error;
    }
    let changed = 0;
    for (const [key, entry] of live) {
      const known = fresh.get(key);
      if (known === undefined) continue;
      if (known.status === entry.info.status && known.maxMessageSize === entry.info.maxMessageSize) continue;
      if (known.status !== entry.info.status) changed++;
      d.clientLog.info(
        {
          botName: entry.info.handshake.botName,
          deviceId: entry.info.handshake.deviceId,
          from: entry.info.status,
          to: known.status,
        },
        'device standing changed',
      );
      entry.info.status = known.status;
      entry.info.standing = standingOf(known.status);
      entry.info.maxMessageSize = known.maxMessageSize;
      entry.ref.send({ type: 'STANDING', status: known.status, maxMessageSize: known.maxMessageSize });
      d.poke(key);
    }
    // the rooms of these bots are re-read in one query per bot, so messages rarely wait for a lookup
    await d.rooms.refresh(new Set(live.map(([, e]) => e.info.handshake.botName)));
    return { checked: live.length, changed };
  }
}
