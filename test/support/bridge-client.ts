import net from 'node:net';
import { LineFramer } from '../../src/protocol/framer.js';
import { type Auth, type HmacKeys, kstDateTime, sign } from '../../src/protocol/index.js';

/**
 * A simulated bridge client v3.2.2 (PROTOCOL §2–§4, §6) over real TCP, for end-to-end tests and
 * the benchmark. It writes what the phone writes, byte for byte, and reads like the phone reads:
 * lines end at LF, CR or CRLF (Java BufferedReader, §1.3), each line goes whole to JSON.parse, and
 * packets without a `data` object are dropped (§1.4).
 */

export interface BridgeClientOptions {
  host?: string;
  port: number;
  botName?: string;
  deviceId?: string;
  /** handshake deviceIP and auth.ipAddress; default: this socket's local address, like the phone (§2.2) */
  deviceIp?: string;
  deviceInfo?: string;
  secret: string;
  salt: string;
  /** default true: answer server pings exactly like §4.2 */
  autoPing?: boolean;
  /** the phone's clock (epoch ms), for auth timestamps and the analyze `timestamp` */
  now?: () => number;
}

export interface AnalyzeOptions {
  room?: string;
  channelId?: string | null;
  logId?: string | null;
  sender?: string;
  isGroupChat?: boolean;
  isMention?: boolean;
  /** null omits the member, as the client does when the app gives none (§4.1) */
  userHash?: string | null;
  /** 'valid' (default): signed now; 'none': no auth member; 'bad': wrong signature; 'stale': signed 10 min ago; object: sent as is */
  auth?: 'valid' | 'none' | 'bad' | 'stale' | object;
}

export interface Packet {
  event: string;
  data: Record<string, unknown>;
}

export interface AuthFields {
  botName: string;
  deviceId: string;
  ipAddress?: string;
  macAddress?: string | null;
  clientType?: string;
  version?: string;
}

const CLIENT_TYPE = 'MessengerBotR';
const CLIENT_VERSION = '3.2.1'; // PROTOCOL §2.2: the v3.2.2 build reports 3.2.1
const MAC = '02:00:00:00:00:00'; // PROTOCOL §3.2: every Android 6+ phone
const STALE_BY_MS = 10 * 60 * 1000;
const FIRST_LOG_ID = 3301234567890123456n;

/** The exact §3.2 auth object, members in the client's order (deviceUUID = deviceID = deviceId). */
export function signAuth(fields: AuthFields, keys: HmacKeys, now: number): Auth {
  const signed = {
    clientType: fields.clientType ?? CLIENT_TYPE,
    botName: fields.botName,
    deviceUUID: fields.deviceId,
    macAddress: fields.macAddress === undefined ? MAC : fields.macAddress,
    ipAddress: fields.ipAddress ?? 'unknown',
    timestamp: now,
  };
  return {
    clientType: signed.clientType,
    botName: signed.botName,
    deviceUUID: signed.deviceUUID,
    deviceID: fields.deviceId,
    macAddress: signed.macAddress,
    ipAddress: signed.ipAddress,
    timestamp: now,
    version: fields.version ?? CLIENT_VERSION,
    signature: sign(signed, keys),
  };
}

// PROTOCOL §6.6 steps 2–3: control characters except LF/CR, and bidi controls, are removed.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching these control characters is the point
const STRIPPED = /[\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069]/g;

/** PROTOCOL §6.6: what the client does to `text` and `sender` before sending. */
export function sanitize(s: string): string {
  const cut = s.length > 65_000 ? s.slice(0, 65_000) : s; // may split a pair (§6.6 step 1)
  return cut.replace(STRIPPED, '');
}

type Waiter = {
  predicate: (p: Packet) => boolean;
  resolve: (p: Packet) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
};

export class BridgeClient {
  /** every line received, in order (after the phone's LF/CR/CRLF splitting) */
  readonly lines: string[] = [];
  /** every line that the phone would act on: a JSON object with an `event` and an object `data` */
  readonly packets: Packet[] = [];
  private readonly consumed: boolean[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly closeWaiters = new Set<() => void>();
  private readonly framer = new LineFramer(256 * 1024 * 1024); // the phone has no limit (§1.5)
  private readonly keys: HmacKeys;
  private readonly botName: string;
  private readonly deviceId: string;
  private readonly deviceIp: string;
  private readonly deviceInfo: string;
  private readonly autoPing: boolean;
  private readonly now: () => number;
  // KakaoTalk log ids are unique across phones and sessions; a random base per client keeps two
  // clients (or one phone before and after a restart) from repeating each other's ids, which the
  // gateway's durable de-duplication would rightly drop (DESIGN.md §2 durable mailbox).
  private nextLogId = FIRST_LOG_ID + BigInt(Math.floor(Math.random() * 2 ** 40)) * 1_000n;
  private isClosed = false;

  private constructor(
    private readonly socket: net.Socket,
    opts: BridgeClientOptions,
  ) {
    this.keys = { secret: opts.secret, salt: opts.salt };
    this.botName = opts.botName ?? 'demo-bot';
    this.deviceId = opts.deviceId ?? 'a1b2c3';
    this.deviceIp = opts.deviceIp ?? socket.localAddress ?? 'unknown';
    this.deviceInfo = opts.deviceInfo ?? 'samsung SM-G991N (Android 13, API 33)';
    this.autoPing = opts.autoPing ?? true;
    this.now = opts.now ?? Date.now;
    socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk, (line) => this.onLfLine(line));
    });
    socket.on('error', () => {
      // a reset by the server is an ordinary way for a test connection to end
    });
    socket.on('close', () => this.onClose());
  }

  /** Connects and writes the handshake line at once, without waiting for an answer (§2.1). */
  static connect(opts: BridgeClientOptions): Promise<BridgeClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host: opts.host ?? '127.0.0.1', port: opts.port });
      const onError = (error: Error) => reject(error);
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        const client = new BridgeClient(socket, opts);
        client.writeRaw(`${client.handshakeLine()}\n`);
        resolve(client);
      });
    });
  }

  /** The §2.2 handshake line, without its LF. */
  handshakeLine(): string {
    return JSON.stringify({
      clientType: CLIENT_TYPE,
      botName: this.botName,
      version: CLIENT_VERSION,
      deviceID: this.deviceId,
      deviceIP: this.deviceIp,
      deviceInfo: this.deviceInfo,
    });
  }

  /** A fresh auth object signed now, as the client makes one per packet (§3.1). */
  auth(now = this.now()): Auth {
    return signAuth({ botName: this.botName, deviceId: this.deviceId, ipAddress: this.deviceIp }, this.keys, now);
  }

  /**
   * Sends a listener-form analyze (§4.1) and returns its line (without the LF). The text and sender
   * are sanitised like the phone does (§6.6); if nothing is left, nothing is sent and '' returned.
   * logIds count up from a random base above 3301234567890123456 unless given.
   */
  analyze(text: string, o: AnalyzeOptions = {}): string {
    const clean = sanitize(text);
    if (clean === '') return '';
    const now = this.now();
    const data: Record<string, unknown> = {
      room: o.room ?? 'Demo Room',
      text: clean,
      sender: sanitize(o.sender ?? 'Alice'),
      isGroupChat: o.isGroupChat ?? true,
      channelId: o.channelId === undefined ? '18234567890123456' : o.channelId,
      logId: o.logId === undefined ? this.takeLogId() : o.logId,
    };
    const userHash = o.userHash === undefined ? '9f8e7d6c5b4a' : o.userHash;
    if (userHash !== null) data.userHash = userHash;
    data.isMention = o.isMention ?? false;
    data.timestamp = kstDateTime(now);
    data.botName = this.botName;
    data.clientType = CLIENT_TYPE;
    const auth = o.auth ?? 'valid';
    if (auth === 'valid') data.auth = this.auth(now);
    else if (auth === 'bad') {
      const valid = this.auth(now);
      data.auth = { ...valid, signature: flipLastHex(valid.signature ?? '') };
    } else if (auth === 'stale') data.auth = this.auth(now - STALE_BY_MS);
    else if (auth !== 'none') data.auth = auth;
    const line = JSON.stringify({ event: 'analyze', data });
    this.writeRaw(`${line}\n`);
    return line;
  }

  writeRaw(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /**
   * The next received packet matching `predicate` that no earlier next() returned (packets that
   * arrived before the call count). Rejects after `timeoutMs` or when the connection closes.
   */
  next(predicate: (p: Packet) => boolean = () => true, timeoutMs = 5_000): Promise<Packet> {
    for (let i = 0; i < this.packets.length; i++) {
      const p = this.packets[i]!;
      if (!this.consumed[i] && predicate(p)) {
        this.consumed[i] = true;
        return Promise.resolve(p);
      }
    }
    if (this.isClosed) return Promise.reject(new Error(`closed; received: ${this.summary()}`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`no matching packet within ${timeoutMs} ms; received: ${this.summary()}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  waitClosed(timeoutMs = 5_000): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.closeWaiters.delete(done);
        reject(new Error(`still open after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.closeWaiters.add(done);
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Abrupt, like stopping the script (§6.1): no goodbye packet. */
  close(): void {
    this.socket.destroy();
  }

  private takeLogId(): string {
    const id = this.nextLogId.toString();
    this.nextLogId += 1n;
    return id;
  }

  /** One LF-terminated line → the lines a Java BufferedReader sees (CR and CRLF end lines too). */
  private onLfLine(raw: Buffer): void {
    // Lenient decoding like the phone: malformed UTF-8 becomes U+FFFD (§1.2).
    let text = raw.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1); // CRLF is one terminator
    if (!text.includes('\r')) {
      this.onLine(text);
      return;
    }
    for (const part of text.split('\r')) this.onLine(part);
  }

  private onLine(line: string): void {
    this.lines.push(line);
    let value: unknown;
    try {
      value = JSON.parse(line); // §1.3 [WIRE]: the whole line, nothing may follow the object
    } catch {
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const { event, data } = value as { event?: unknown; data?: unknown };
    // §1.4 [WIRE]: packets without a data object are dropped before the event is looked at.
    if (typeof data !== 'object' || data === null || typeof event !== 'string') return;
    const packet: Packet = { event, data: data as Record<string, unknown> };
    this.packets.push(packet);
    this.consumed.push(false);
    if (event === 'ping' && this.autoPing) this.answerPing(packet.data);
    for (const waiter of this.waiters) {
      if (waiter.predicate(packet)) {
        this.waiters.delete(waiter);
        clearTimeout(waiter.timer);
        this.consumed[this.packets.length - 1] = true;
        waiter.resolve(packet);
        return;
      }
    }
  }

  /** PROTOCOL §4.2: echo bot_name and server_timestamp verbatim, add monitoring and auth. */
  private answerPing(ping: Record<string, unknown>): void {
    const data = {
      bot_name: ping.bot_name,
      server_timestamp: ping.server_timestamp,
      monitoring: {
        total_memory: 512,
        memory_usage: 87.3,
        memory_percent: 17.1,
        message_queue_size: 0,
        active_rooms: 4,
      },
      auth: this.auth(),
    };
    this.writeRaw(`${JSON.stringify({ event: 'ping', data })}\n`);
  }

  private onClose(): void {
    this.isClosed = true;
    this.framer.reset();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`closed; received: ${this.summary()}`));
    }
    this.waiters.clear();
    for (const done of this.closeWaiters) done();
    this.closeWaiters.clear();
  }

  private summary(): string {
    const shown = this.lines.slice(-5).map((l) => (l.length > 200 ? `${l.slice(0, 200)}…` : l));
    return `${this.lines.length} line(s)${shown.length > 0 ? `, last: ${shown.join(' / ')}` : ''}`;
  }
}

function flipLastHex(signature: string): string {
  const last = signature.slice(-1);
  return signature.slice(0, -1) + (last === '0' ? '1' : '0');
}
