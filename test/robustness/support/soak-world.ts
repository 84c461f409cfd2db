import { EventEmitter } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Gateway } from '../../../src/gateway/gateway.js';
import { type Config, type ConfigInput, configSchema } from '../../../src/infra/config/schema.js';
import { createLoggers } from '../../../src/infra/logger.js';
import { openSqliteStore, type SqliteStore } from '../../../src/infra/store/sqlite.js';
import { type Auth, kstDateTime } from '../../../src/protocol/index.js';
import { signAuth } from '../../support/bridge-client.js';
import { KEYS } from '../../support/fake-connection.js';
import { HeapClock } from './heap-clock.js';

/**
 * The world of the soak test (issue 6 item 4): a real Gateway whose sockets are in-memory
 * stand-ins handed to its admission, phones that behave like the v3.2.2 script, and a clock that
 * jumps from timer to timer. Kept apart from the test so the same run can be profiled with tsx.
 */

export const BOT = 'soak-bot';
export const HOUR = 3_600_000;
const START = Date.UTC(2025, 6, 24, 0, 0, 0);

/** Forced GC: --expose-gc if vitest was started with it, else enabled at run time. */
export function forceGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** mulberry32: a tiny seeded PRNG, so a failing soak replays exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The slice of net.Socket the gateway and its socket actor use. Writes are recorded (one server
 * packet per write); bytes from the phone are emitted as 'data', held while the gateway pauses.
 */
export class FakeSocket extends EventEmitter {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly writableLength = 0;
  destroyed = false;
  writableEnded = false;
  private paused = false;
  private held: Buffer[] = [];
  private out: string[] = [];

  constructor(port: number) {
    super();
    this.remoteAddress = '10.9.0.1';
    this.remotePort = port;
  }

  // --- the server side (gateway and socket actor) ---
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  // the socket actor corks its writes per tick (net.Socket API); nothing is buffered here
  cork(): void {}
  uncork(): void {}
  write(data: string): boolean {
    this.out.push(data);
    return true;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    if (this.held.length > 0) {
      const held = this.held;
      this.held = [];
      queueMicrotask(() => {
        for (const chunk of held) this.fromPhone(chunk);
      });
    }
    return this;
  }
  end(): this {
    this.writableEnded = true;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }

  // --- the phone side ---
  fromPhone(chunk: Buffer): void {
    if (this.destroyed || this.writableEnded) return;
    if (this.paused) this.held.push(chunk);
    else this.emit('data', chunk);
  }
  /** the server's packets since the last call */
  take(): string[] {
    const out = this.out;
    this.out = [];
    return out;
  }
  /** the phone hangs up (PROTOCOL §6.1: no goodbye packet) */
  hangUp(): void {
    this.emit('end');
    this.emit('close');
  }
  get closedByServer(): boolean {
    return this.writableEnded || this.destroyed;
  }
}

export type Admit = (socket: FakeSocket) => void;

let nextPort = 20_000;

// PROTOCOL §4.6 [REC] ping as this gateway sends it, and the §4.2 reply the phone builds from it
const PING_PREFIX = '{"event":"ping","data":{';
const PING_REPLY_HEAD = '{"event":"ping","data":{';
const MONITORING =
  '"monitoring":{"total_memory":512,"memory_usage":80,"memory_percent":15.6,"message_queue_size":0,"active_rooms":10}';

export interface Totals {
  pingsAnswered: number;
  echoesSent: number;
  echoesAnswered: number;
  chats: number;
  hangUps: number;
  takeovers: number;
  vanished: number;
}

/** One phone running the v3.2.2 script: answers pings, chats in its rooms, reconnects. */
export class Phone {
  socket: FakeSocket | null = null;
  /** a socket the phone lost without telling the server; it reconnects at `backAt` */
  backAt = 0;
  private auth: Auth | null = null;
  private authJson = '';
  private authAt = 0;
  private logId = 0n;

  constructor(
    readonly deviceId: string,
    readonly rooms: string[],
    private readonly admit: Admit,
    private readonly clock: HeapClock,
    private readonly totals: Totals,
    /** sockets handed to the gateway and not yet released by it (pruned as the run goes) */
    private readonly sockets: Set<FakeSocket>,
    index: number,
  ) {
    this.logId = 5_500_000_000_000_000_000n + BigInt(index) * 1_000_000_000n;
  }

  connect(): void {
    const socket = new FakeSocket(nextPort++);
    this.sockets.add(socket);
    this.admit(socket);
    this.socket = socket;
    socket.fromPhone(
      Buffer.from(
        `${JSON.stringify({
          clientType: 'MessengerBotR',
          botName: BOT,
          version: '3.2.1',
          deviceID: this.deviceId,
          deviceIP: '10.9.0.1',
          deviceInfo: 'soak phone',
        })}\n`,
      ),
    );
  }

  /** A fresh auth per packet is what the phone does; re-signing once a minute keeps it cheap. */
  private signed(): Auth {
    const now = this.clock.now();
    if (this.auth === null || now - this.authAt > 60_000) {
      this.auth = signAuth({ botName: BOT, deviceId: this.deviceId, ipAddress: '10.9.0.1' }, KEYS, now);
      this.authAt = now;
      this.authJson = JSON.stringify(this.auth);
    }
    return this.auth;
  }

  /**
   * Reads what the server sent: answers pings (PROTOCOL §4.2), counts echo replies. The ping reply
   * is the §4.2 line built by hand: a JSON round trip per ping would be most of the soak's time.
   */
  read(socket: FakeSocket | null = this.socket): void {
    if (socket === null) return;
    for (const line of socket.take()) {
      if (line.startsWith(PING_PREFIX)) {
        const echoed = line.slice(PING_PREFIX.length, line.lastIndexOf('}}'));
        this.signed();
        socket.fromPhone(Buffer.from(`${PING_REPLY_HEAD}${echoed},${MONITORING},"auth":${this.authJson}}}\n`));
        this.totals.pingsAnswered++;
        continue;
      }
      const packet = JSON.parse(line) as { event: string; data: Record<string, unknown> };
      if (packet.event === 'messageResponse' && String(packet.data.text).startsWith('에코: ')) {
        this.totals.echoesAnswered++;
      }
    }
  }

  chat(rng: () => number): void {
    if (this.socket === null) return;
    const room = this.rooms[Math.floor(rng() * this.rooms.length)]!;
    const echo = rng() < 0.5;
    this.logId += 1n;
    const data = {
      room: `Room ${room}`,
      text: echo ? `# echo ${this.logId}` : `just chatting ${this.logId}`,
      sender: 'Soaker',
      isGroupChat: true,
      channelId: room,
      logId: this.logId.toString(),
      userHash: 'abcdef',
      isMention: false,
      timestamp: kstDateTime(this.clock.now()),
      botName: BOT,
      clientType: 'MessengerBotR',
      auth: this.signed(),
    };
    this.socket.fromPhone(Buffer.from(`${JSON.stringify({ event: 'analyze', data })}\n`));
    this.totals.chats++;
    if (echo) this.totals.echoesSent++;
  }

  /** PROTOCOL §6.1/§6.3: the script stops (EOF) and comes back at once. */
  hangUpAndReconnect(): void {
    this.read();
    this.socket?.hangUp();
    this.totals.hangUps++;
    this.connect();
  }

  /** PROTOCOL §2.7: the phone changed networks; the new connection replaces the half-open one. */
  takeOver(): void {
    this.read();
    this.totals.takeovers++;
    this.connect();
  }

  /** The phone vanishes silently; the server must notice (zombie) and the phone returns later. */
  vanish(): void {
    this.read();
    this.socket = null;
    this.backAt = this.clock.now() + 150_000;
    this.totals.vanished++;
  }

  leave(): void {
    this.read();
    this.socket?.hangUp();
    this.socket = null;
  }
}

export interface SoakOptions {
  devices: number;
  roomsPerDevice: number;
  /** simulated hours after the first (warm-up) hour */
  hours: number;
  stepMs: number;
  /** average time between a phone's chat messages, and between its reconnects */
  chatEveryMs: number;
  reconnectEveryMs: number;
  seed: number;
  /** config over the defaults */
  config?: ConfigInput;
}

export interface Soak {
  gateway: Gateway;
  store: SqliteStore;
  clock: HeapClock;
  config: Config;
  totals: Totals;
  /** sockets the gateway still listens to (it removes its listeners when a connection ends) */
  unreleased(): FakeSocket[];
  phones: Phone[];
  /** clock timers of the gateway itself, before any phone connected */
  gatewayTimers: number;
  heapAfterWarmUp: number;
  heapAtEnd: number;
  realMs: number;
  /** error and fatal log entries (first 20) and a count of every warn+ message */
  severe: Array<Record<string, unknown>>;
  warnings: Map<string, number>;
  /** every phone hangs up; the clock runs past the idle limit and a telemetry flush */
  leaveAll(): Promise<void>;
  stop(): Promise<void>;
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runSoak(o: SoakOptions): Promise<Soak> {
  // xstate's development build warns when an action creator runs while another actor's custom
  // action is on the stack (a connection's line handler hands a message to the dispatcher
  // synchronously): two warnings per chat message would dominate the run. Others pass through.
  const originalWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Custom actions should not call')) return;
    originalWarn(...args);
  };
  try {
    return await soak(o);
  } finally {
    console.warn = originalWarn;
  }
}

async function soak(o: SoakOptions): Promise<Soak> {
  const gc = forceGc();
  const clock = new HeapClock(START);
  const store = openSqliteStore(':memory:');
  await store.migrate();
  const severe: Array<Record<string, unknown>> = [];
  const warnings = new Map<string, number>();
  const loggers = createLoggers({
    level: 'warn',
    destination: {
      write(line: string) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        const msg = String(entry.msg);
        warnings.set(msg, (warnings.get(msg) ?? 0) + 1);
        if ((entry.level as number) >= 50 && severe.length < 20) severe.push(entry);
      },
    },
  });
  const config = configSchema.parse({
    host: '127.0.0.1',
    port: 0,
    admin: { host: '127.0.0.1', port: 0 },
    ...(o.config ?? {}),
  });
  const gateway = new Gateway({ config, store, loggers, keys: KEYS, clock, random: prng(o.seed) });
  await gateway.start();
  const gatewayTimers = clock.pending;

  // The sockets come from a listener in production; here they are handed to its admission.
  const admission = (gateway as unknown as { admission?: { admit?: (socket: unknown) => void } }).admission;
  const admitFn = admission?.admit;
  if (typeof admitFn !== 'function')
    throw new Error('Gateway admission.admit(socket) is gone: give the soak another way in');
  const admit: Admit = (socket) => admitFn.call(admission, socket);

  const totals: Totals = {
    pingsAnswered: 0,
    echoesSent: 0,
    echoesAnswered: 0,
    chats: 0,
    hangUps: 0,
    takeovers: 0,
    vanished: 0,
  };
  // Only sockets the gateway may still hold are kept: a test that kept every socket would keep
  // every finished connection actor alive through the socket's listeners, and leak by itself.
  const sockets = new Set<FakeSocket>();
  const prune = () => {
    for (const socket of sockets) if (socket.listenerCount('data') === 0) sockets.delete(socket);
  };
  const phones: Phone[] = [];
  for (let d = 0; d < o.devices; d++) {
    const deviceId = `soak-${d.toString().padStart(3, '0')}`;
    await store.setDeviceStatus({ botName: BOT, deviceId }, 'approved');
    const rooms: string[] = [];
    for (let r = 0; r < o.roomsPerDevice; r++) {
      const channel = (18_000_000_000_000_000n + BigInt(d * o.roomsPerDevice + r)).toString();
      await store.setRoomStatus(BOT, channel, 'approved', deviceId);
      rooms.push(channel);
    }
    phones.push(new Phone(deviceId, rooms, admit, clock, totals, sockets, d));
  }

  const rng = prng(o.seed + 1);
  for (const p of phones) p.connect();
  await settle();

  const run = async (ms: number) => {
    const chatP = o.stepMs / o.chatEveryMs;
    const reconnectP = o.stepMs / o.reconnectEveryMs;
    for (let t = 0; t < ms; t += o.stepMs) {
      clock.advance(o.stepMs);
      for (const p of phones) {
        if (p.socket === null) {
          if (clock.now() >= p.backAt) p.connect();
          continue;
        }
        p.read();
        // reconnect first: a chat is then always followed by a read of the socket it went out on
        if (rng() < reconnectP) {
          const kind = rng();
          if (kind < 0.6) p.hangUpAndReconnect();
          else if (kind < 0.8) p.takeOver();
          else p.vanish();
        }
        if (rng() < chatP) p.chat(rng);
      }
      await settle();
      for (const p of phones) p.read();
      if (t % 600_000 === 0) prune();
    }
  };

  const started = Date.now();
  await run(HOUR);
  gc();
  const heapAfterWarmUp = process.memoryUsage().heapUsed;
  await run(o.hours * HOUR);
  gc();
  const heapAtEnd = process.memoryUsage().heapUsed;
  const realMs = Date.now() - started;

  return {
    gateway,
    store,
    clock,
    config,
    totals,
    unreleased() {
      prune();
      return [...sockets];
    },
    phones,
    gatewayTimers,
    heapAfterWarmUp,
    heapAtEnd,
    realMs,
    severe,
    warnings,
    async leaveAll() {
      for (const p of phones) p.leave();
      clock.advance(config.timers.idleMs + o.stepMs);
      await settle();
      clock.advance(config.telemetry.flushMs);
      await settle();
    },
    async stop() {
      await gateway.stop(1_000);
      await store.close();
    },
  };
}
