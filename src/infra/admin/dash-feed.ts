import type { ServerResponse } from 'node:http';
import type { Gateway } from '../../gateway/gateway.js';
import type { Config } from '../config/schema.js';
import { LOG_CATEGORIES } from '../config/schema.js';
import type { Loggers } from '../logger.js';
import type { ChatLogRow, DeviceRow, RoomRow, Store } from '../store/types.js';
import { type MetricTotals, quantileBetween, ratePerSecond, readTotals } from './dash-figures.js';
import type { StoreChange } from './dash-store-watch.js';

/**
 * The dashboard's live data (server-sent events): figures from the gateway's memory every
 * dashboard.pushMs, and device/room lists re-read from the store only after a change to them
 * (a write through the watched store, or a live connection whose standing changed).
 */

export type DashboardSettings = Config['dashboard'];

export interface ChatLine {
  botName: string;
  channelId: string;
  roomName: string;
  sender: string;
  message: string;
  /** epoch ms */
  at: number;
  fromBot: boolean;
}

export interface FeedSources {
  gateway: Gateway;
  store: Store;
  loggers: Loggers;
  settings: DashboardSettings;
  /** store and telemetry health (the readiness checks) */
  health(): Promise<Record<string, { ok: boolean; detail?: string }>>;
  now?: () => number;
}

interface LiveConnection {
  id?: string;
  peer?: string;
  botName?: string | null;
  deviceId?: string | null;
  state?: unknown;
}

/** KST `YYYY-MM-DD HH:MM:SS` (PROTOCOL §8) as epoch ms. */
export function kstToEpoch(text: string | null): number {
  if (text === null) return 0;
  const t = Date.parse(`${text.replace(' ', 'T')}+09:00`);
  return Number.isNaN(t) ? 0 : t;
}

function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}.${stateText(v)}`)
      .join(',');
  }
  return String(value);
}

export class DashboardFeed {
  private readonly clients = new Set<ServerResponse>();
  private readonly totals: MetricTotals[] = [];
  private readonly points: { t: number; messages: number; replies: number }[] = [];
  private readonly replies: ChatLine[] = [];
  private devices: DeviceRow[] = [];
  private rooms: RoomRow[] = [];
  private devicesDirty = true;
  private roomsDirty = true;
  private roomsVersion = 0;
  private liveFingerprint = '';
  private health: Record<string, { ok: boolean; detail?: string }> = {};
  private storeError: string | undefined;
  private logSeq = 0;
  private ticks = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly src: FeedSources) {
    this.now = src.now ?? Date.now;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.tick(), this.src.settings.pushMs);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  get streams(): number {
    return this.clients.size;
  }

  /** From the watched store. */
  onStoreChange = (change: StoreChange): void => {
    if (change.kind === 'devices') this.devicesDirty = true;
    else if (change.kind === 'rooms') this.roomsDirty = true;
    else this.broadcast('chat', change.rows.map(chatLineOf));
  };

  /** From the gateway: a reply written to a phone. */
  onDelivered = (reply: { botName: string; channelId: string | null; room: string; text: string }): void => {
    if (reply.channelId === null) return;
    const line: ChatLine = {
      botName: reply.botName,
      channelId: reply.channelId,
      roomName: reply.room,
      sender: reply.botName,
      message: reply.text,
      at: this.now(),
      fromBot: true,
    };
    this.replies.push(line);
    if (this.replies.length > this.src.settings.replyMemory) this.replies.shift();
    this.broadcast('chat', [line]);
  };

  /** The bot's replies into one room still in memory. */
  repliesOf(botName: string, channelId: string): ChatLine[] {
    return this.replies.filter((r) => r.botName === botName && r.channelId === channelId);
  }

  /** Marks the lists stale and pushes fresh ones now (after a dashboard action). */
  async refreshLists(): Promise<void> {
    this.devicesDirty = true;
    this.roomsDirty = true;
    await this.tick();
  }

  /** Opens a stream: everything now, then changes. */
  attach(res: ServerResponse): void {
    // a page opened: re-read the lists once (a CLI in another process may have changed them)
    this.devicesDirty = true;
    this.roomsDirty = true;
    void this.tick();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('history', this.points);
    send('overview', this.overview());
    send('phones', this.phones());
    send('rooms', { version: this.roomsVersion, rooms: this.rooms });
    send('actors', this.src.gateway.actors());
    send('logs', this.src.loggers.ring.since(0));
    send('levels', this.levels());
  }

  private broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.clients) {
      // a page that stopped reading is dropped rather than buffered without end (EventSource reconnects)
      if (res.writableLength > this.src.settings.maxStreamBacklogBytes) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }

  levels(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of LOG_CATEGORIES) out[name] = this.src.loggers.cat[name].level;
    return out;
  }

  tick(): Promise<void> {
    // one at a time: a slow store read never piles ticks up
    this.ticking ??= this.runTick().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const { gateway, settings } = this.src;
    const now = this.now();
    const totals = await readTotals(gateway.metrics, now);
    const previous = this.totals.at(-1);
    this.totals.push(totals);
    const keep = Math.ceil((settings.historyMinutes * 60_000) / settings.pushMs) + 1;
    while (this.totals.length > keep) this.totals.shift();
    const point = {
      t: now,
      messages: ratePerSecond(previous, totals, 'messages'),
      replies: ratePerSecond(previous, totals, 'replies'),
    };
    this.points.push(point);
    while (this.points.length > keep) this.points.shift();
    this.noticeLiveChanges();
    // nobody watching: keep the history, leave the lists stale until a page opens
    if (this.clients.size === 0) {
      this.logSeq = this.src.loggers.ring.lastSeq;
      return;
    }
    // the store's health (the readiness ping) every 5th tick while a page is open
    if (this.ticks++ % 5 === 0) {
      this.health = await this.src.health().catch((e: Error) => ({ store: { ok: false, detail: e.message } }));
    }
    await this.readLists();
    this.broadcast('point', point);
    this.broadcast('overview', this.overview());
    this.broadcast('phones', this.phones());
    this.broadcast('actors', gateway.actors());
    const lines = this.src.loggers.ring.since(this.logSeq);
    if (lines.length > 0) this.broadcast('logs', lines);
    this.logSeq = this.src.loggers.ring.lastSeq;
    this.broadcast('levels', this.levels());
  }

  /** A connection that came, went or changed standing: the device list may be stale. */
  private noticeLiveChanges(): void {
    const parts: string[] = [];
    for (const [key, entry] of this.src.gateway.registry.entries()) parts.push(`${key}\u0001${entry.info.status}`);
    const fingerprint = parts.sort().join('\u0002');
    if (fingerprint !== this.liveFingerprint) this.devicesDirty = true;
    this.liveFingerprint = fingerprint;
  }

  private async readLists(): Promise<void> {
    try {
      if (this.devicesDirty) {
        this.devicesDirty = false;
        this.devices = await this.src.store.listDevices();
      }
      if (this.roomsDirty) {
        this.roomsDirty = false;
        this.rooms = await this.src.store.listRooms();
        this.roomsVersion++;
        this.broadcast('rooms', { version: this.roomsVersion, rooms: this.rooms });
      }
      this.storeError = undefined;
    } catch (error) {
      this.storeError = (error as Error).message;
    }
  }

  overview(): unknown {
    const { gateway } = this.src;
    const last = this.totals.at(-1);
    const first = this.totals[0];
    const byBot: Record<string, { connected: number; approved: number }> = {};
    for (const [, entry] of gateway.registry.entries()) {
      const name = entry.info.handshake.botName;
      const bot = byBot[name] ?? { connected: 0, approved: 0 };
      byBot[name] = bot;
      bot.connected++;
      if (entry.info.status === 'approved') bot.approved++;
    }
    const tel = gateway.telemetry.healthy;
    return {
      at: this.now(),
      phonesByBot: byBot,
      p50: last === undefined ? null : quantileBetween(first === last ? undefined : first, last, 0.5),
      p99: last === undefined ? null : quantileBetween(first === last ? undefined : first, last, 0.99),
      mailboxDepth: gateway.dispatcher.getSnapshot().context.waiting,
      failed: last?.failed ?? 0,
      processed: last?.messages ?? 0,
      lagSeconds: last?.lagSeconds ?? 0,
      store: this.storeError !== undefined ? { ok: false, detail: this.storeError } : (this.health.store ?? null),
      telemetry: tel,
    };
  }

  phones(): unknown[] {
    const { gateway } = this.src;
    const actors = gateway.actors() as { connections?: LiveConnection[] };
    const peers = new Map<string, LiveConnection>();
    for (const c of actors.connections ?? []) {
      if (c.botName && c.deviceId) peers.set(`${c.botName}\u0000${c.deviceId}`, c);
    }
    const out = new Map<string, Record<string, unknown>>();
    for (const d of this.devices) {
      out.set(`${d.botName}\u0000${d.deviceId}`, {
        botName: d.botName,
        deviceId: d.deviceId,
        status: d.status,
        ipAddress: d.ipAddress,
        clientVersion: d.clientVersion,
        updatedAt: d.updatedAt,
        live: null,
      });
    }
    for (const [key, entry] of gateway.registry.entries()) {
      const h = entry.info.handshake;
      const row = out.get(key) ?? { botName: h.botName, deviceId: h.deviceId, ipAddress: h.deviceIp };
      const actor = peers.get(key);
      out.set(key, {
        ...row,
        status: entry.info.status,
        clientVersion: h.version,
        live: {
          state: actor === undefined ? 'active' : stateText(actor.state),
          standing: entry.info.standing,
          version: h.version,
          // PROTOCOL §5.7: the reply framing follows the handshake form
          framing: h.form === 'enveloped' || h.protocolVersion !== undefined ? 'v3.3' : 'v3.2',
          peer: actor?.peer ?? null,
          connectedAt: entry.info.connectedAt,
          lastRttMs: entry.info.lastRttMs ?? null,
          memoryUsage: entry.info.monitoring?.memoryUsage ?? null,
          totalMemory: entry.info.monitoring?.totalMemory ?? null,
        },
      });
    }
    const rank = (s: unknown) => (s === 'pending' ? 0 : 1);
    return [...out.values()].sort(
      (a, b) =>
        rank(a.status) - rank(b.status) ||
        String(a.botName).localeCompare(String(b.botName)) ||
        String(a.deviceId).localeCompare(String(b.deviceId)),
    );
  }
}

function chatLineOf(row: ChatLogRow): ChatLine {
  return {
    botName: row.botName,
    channelId: row.channelId,
    roomName: row.roomName,
    sender: row.sender,
    message: row.message,
    at: row.clientTimestamp,
    fromBot: false,
  };
}
