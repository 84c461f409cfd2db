import type { ChatMessage } from '../actors/job.js';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import { DEVICE_STATUSES, type KnownStatus, type RoomKey, type Store } from '../infra/store/types.js';
import { BOT_WIDE_DEVICE } from './room-rule.js';

function cacheId(botName: string, deviceId: string, roomId: string): string {
  return `${botName}\u0000${deviceId}\u0000${roomId}`;
}

const DEFAULT_MAX_CACHED = 100_000;

interface CachedRoom {
  status: string;
  readAt: number;
}

/**
 * Room approval (PROTOCOL §7.8): rooms are per (channel, bot, device); an unknown room is
 * registered as pending (or approved with rooms.autoApprove). Reads are cached for `ttlMs`,
 * so a status changed in the table takes effect within that time; on database errors the last
 * known status is used, and a room never seen is not approved (fail closed, as §7.8).
 */
export class RoomDirectory {
  private readonly cache = new Map<string, CachedRoom>();
  private readonly inFlight = new Map<string, Promise<string | undefined>>();
  /** when each bot's rooms were last read in bulk (`refresh`, or asked for by `warm`) */
  private readonly bulkReadAt = new Map<string, number>();
  /** since a read failed and until one succeeds, rooms seen before are answered from the cache */
  private failing = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly opts: { autoApprove: boolean; ttlMs: number; maxCached?: number },
  ) {}

  static keyOf(m: Pick<ChatMessage, 'botName' | 'deviceId' | 'channelId'>): RoomKey | undefined {
    // PROTOCOL §9 item 21: a null channel id is not a room (never the string "None").
    if (m.channelId === null) return undefined;
    return { roomId: m.channelId, botName: m.botName, deviceId: m.deviceId };
  }

  private static id(k: RoomKey): string {
    return cacheId(k.botName, k.deviceId, k.roomId);
  }

  /**
   * The room's status, registering it on first sight. Never rejects. While the database is
   * failing, a room seen before is answered from its last known status at once (the re-read runs
   * in the background), so a dead database never holds up replies (DESIGN.md §4).
   */
  async status(m: ChatMessage): Promise<string> {
    const known = this.statusNow(m);
    if (known !== undefined) return known;
    const key = RoomDirectory.keyOf(m)!;
    const id = RoomDirectory.id(key);
    return (await this.lookup(id, key, m)) ?? this.cache.get(id)?.status ?? 'unknown';
  }

  /**
   * The status when it is known without waiting for the database (fresh in the cache, or the
   * last known one while the database is failing); undefined when `status` must read it.
   */
  statusNow(m: ChatMessage): string | undefined {
    if (m.channelId === null) return 'unknown';
    const id = cacheId(m.botName, m.deviceId, m.channelId);
    const cached = this.cache.get(id);
    if (cached === undefined) return undefined;
    if (this.clock.now() - cached.readAt < this.opts.ttlMs) return cached.status;
    if (!this.failing) return undefined;
    void this.lookup(id, RoomDirectory.keyOf(m)!, m); // re-read in the background; answer from the last known now
    return cached.status;
  }

  /** One read (deduplicated per room); undefined when the database failed. */
  private lookup(id: string, key: RoomKey, m: ChatMessage): Promise<string | undefined> {
    const running = this.inFlight.get(id);
    if (running !== undefined) return running;
    const read = (async () => {
      try {
        const row =
          (await this.store.getRoom(key)) ??
          (await this.store.registerRoom(key, m.room, await this.firstStatus(key))).room;
        this.remember(id, row.status, this.clock.now());
        this.failing = false;
        return row.status;
      } catch (error) {
        this.failing = true;
        this.metrics.storeErrors.inc({ op: 'room' });
        this.log.warn(
          { err: error, traceId: m.traceId, roomId: key.roomId },
          'room lookup failed; using the last known status',
        );
        return undefined;
      } finally {
        this.inFlight.delete(id);
      }
    })();
    this.inFlight.set(id, read);
    return read;
  }

  /**
   * The status a room's first row of this device gets: the bot-wide rule's (room-rule.ts) when
   * the operator approved (or blocked) the room for every device before it wrote, else pending
   * (approved with rooms.autoApprove).
   */
  private async firstStatus(key: RoomKey): Promise<KnownStatus> {
    const rule = await this.store.getRoom({ ...key, deviceId: BOT_WIDE_DEVICE });
    const known = rule !== undefined && (DEVICE_STATUSES as readonly string[]).includes(rule.status);
    if (known) return rule.status as KnownStatus;
    return this.opts.autoApprove ? 'approved' : 'pending';
  }

  private remember(id: string, status: string, now: number): void {
    this.cache.delete(id);
    this.cache.set(id, { status, readAt: now });
    const max = this.opts.maxCached ?? DEFAULT_MAX_CACHED;
    if (this.cache.size > max) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
  }

  /**
   * Reads every room of `botName` in one query when one of its phones completes a handshake, unless
   * that bot's rooms were read in bulk within half the ttl (by the standing refresh, or another
   * phone's handshake): the first message of each room is then
   * answered from the cache instead of one lookup each (after a restart, every room's first).
   */
  warm(botName: string): void {
    const now = this.clock.now();
    const last = this.bulkReadAt.get(botName);
    if (last !== undefined && now - last < this.opts.ttlMs / 2) return;
    this.bulkReadAt.set(botName, now); // a second phone's handshake before the read runs asks nothing
    // outside the caller's step (a connection actor's): an embedded store reads synchronously
    setImmediate(() => void this.refresh([botName]));
  }

  /**
   * Re-reads the rooms of `botNames` in one query per bot (standing refresh, reload bots-config,
   * `warm`), so a status changed in the table takes effect within one refresh interval; rooms not
   * cached yet are added while the cache has room (`maxCached`). Never rejects: on failure the
   * last known stay.
   */
  async refresh(botNames: Iterable<string>): Promise<void> {
    const now = this.clock.now();
    const max = this.opts.maxCached ?? DEFAULT_MAX_CACHED;
    try {
      let first = true;
      for (const botName of botNames) {
        // One bot per event-loop turn: an embedded store reads synchronously, and messages
        // should not wait behind every bot's rooms at once.
        if (!first) await new Promise<void>((resolve) => setImmediate(resolve));
        first = false;
        for (const row of await this.store.roomStatuses(botName)) {
          const id = cacheId(botName, row.deviceId, row.roomId);
          const cached = this.cache.get(id);
          if (cached !== undefined) {
            cached.status = row.status;
            cached.readAt = now;
          } else if (this.cache.size < max) {
            this.cache.set(id, { status: row.status, readAt: now });
          }
        }
        this.bulkReadAt.set(botName, now);
      }
      this.failing = false;
    } catch (error) {
      this.failing = true;
      this.metrics.storeErrors.inc({ op: 'refreshRooms' });
      this.log.warn({ err: error }, 'room refresh failed; keeping the last known statuses');
    }
  }
}
