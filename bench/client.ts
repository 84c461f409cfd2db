import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { type HmacKeys, kstDateTime, LineFramer, type SignedFields, sign } from '../src/protocol/index.js';
import { botNameOf, channelIdOf, deviceIdOf, roomIndexOf, roomTitleOf } from './fleet.js';

/**
 * A lean simulated bridge client v3.2.2 for throughput runs. Unlike test/support/bridge-client.ts
 * it keeps no packet history: it writes the exact §2.2 handshake and §4.1 analyze lines (the
 * analyze built from precomputed pieces, with a fresh HMAC `sign()` per packet, §3.1), answers
 * server pings like §4.2, and matches every `messageResponse` to the `# echo <id>` it answers.
 */

const CLIENT_TYPE = 'MessengerBotR';
const CLIENT_VERSION = '3.2.1'; // PROTOCOL §2.2: the v3.2.2 build reports 3.2.1
const MAC = '02:00:00:00:00:00'; // PROTOCOL §3.2: every Android 6+ phone
const ECHO_PREFIX = '에코: '; // PROTOCOL §7.10: `# echo <content>` ⇒ `에코: <content>`
const FIRST_LOG_ID = 3301234567890000000n;

export interface ClientOptions {
  port: number;
  index: number;
  rooms: number;
  bots: number;
  keys: HmacKeys;
  /** shared sink: latency (ms) of every reply to a message sent inside [from, to) */
  latencies: number[];
  window: { from: number; to: number };
  /** per second since the load started (`start`): replies received and their largest latency */
  timeline: Timeline;
  /** called after each matched reply (the closed loop refills from here) */
  onReply: (client: BenchClient) => void;
}

export interface Timeline {
  start: number;
  replies: number[];
  maxLatencyMs: number[];
}

export interface ClientCounters {
  sent: number;
  received: number;
  duplicated: number;
  /** replies whose text is not an echo of an id this client sent */
  unexpected: number;
  /** replies whose channel_id is not the room the message was sent to */
  wrongRoom: number;
  /** replies received inside the measured window */
  receivedInWindow: number;
  sentInWindow: number;
  pingsAnswered: number;
}

export function zeroCounters(): ClientCounters {
  return {
    sent: 0,
    received: 0,
    duplicated: 0,
    unexpected: 0,
    wrongRoom: 0,
    receivedInWindow: 0,
    sentInWindow: 0,
    pingsAnswered: 0,
  };
}

export class BenchClient {
  readonly counters: ClientCounters = zeroCounters();
  /** seq → performance.now() at send, for messages still waiting for their reply */
  private readonly pending = new Map<number, number>();
  private readonly framer = new LineFramer(256 * 1024 * 1024); // the phone has no limit (§1.5)
  private readonly botName: string;
  private readonly deviceId: string;
  private readonly ip: string;
  private readonly idPrefix: string;
  private readonly heads: string[];
  private readonly mids: string[];
  private readonly channels: string[];
  private readonly tailHead: string;
  private readonly authHead: string;
  private seq = 0;
  private logId = FIRST_LOG_ID;
  private handshake: { resolve: (approved: boolean) => void; reject: (e: Error) => void } | undefined;
  private closed = false;

  private constructor(
    private readonly socket: net.Socket,
    private readonly o: ClientOptions,
  ) {
    this.botName = botNameOf(o.index, o.bots);
    this.deviceId = deviceIdOf(o.index);
    this.ip = socket.localAddress ?? 'unknown';
    this.idPrefix = `c${o.index}-`;
    // One analyze line = head[room] + id + mid[room] + logId + tailHead + kst + authHead + ts + … (§4.1 order)
    this.heads = [];
    this.mids = [];
    this.channels = [];
    for (let r = 0; r < o.rooms; r++) {
      const channel = channelIdOf(r);
      this.channels.push(channel);
      this.heads.push(`{"event":"analyze","data":{"room":${JSON.stringify(roomTitleOf(r))},"text":"# echo `);
      this.mids.push(`","sender":"Bench User","isGroupChat":true,"channelId":"${channel}","logId":"`);
    }
    const bot = JSON.stringify(this.botName);
    const dev = JSON.stringify(this.deviceId);
    this.tailHead = `","userHash":"9f8e7d6c5b4a${o.index}","isMention":false,"timestamp":"`;
    this.authHead =
      `","botName":${bot},"clientType":"${CLIENT_TYPE}","auth":{"clientType":"${CLIENT_TYPE}","botName":${bot},` +
      `"deviceUUID":${dev},"deviceID":${dev},"macAddress":"${MAC}","ipAddress":${JSON.stringify(this.ip)},"timestamp":`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk, (line) => this.onLine(line));
    });
    socket.on('error', () => {
      // counted as lost replies if it matters; the close handler ends the handshake wait
    });
    socket.on('close', () => {
      this.closed = true;
      this.handshake?.reject(new Error(`client ${o.index}: connection closed before handshakeComplete`));
      this.handshake = undefined;
    });
  }

  /** Connects, writes the §2.2 handshake at once and resolves when handshakeComplete arrives. */
  static async connect(o: ClientOptions, timeoutMs = 10_000): Promise<{ client: BenchClient; approved: boolean }> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection({ host: '127.0.0.1', port: o.port });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
    });
    const client = new BenchClient(socket, o);
    const approved = await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client ${o.index}: no handshakeComplete`)), timeoutMs);
      client.handshake = {
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      socket.write(
        `${JSON.stringify({
          clientType: CLIENT_TYPE,
          botName: client.botName,
          version: CLIENT_VERSION,
          deviceID: client.deviceId,
          deviceIP: client.ip,
          deviceInfo: 'bench SM-B000 (Android 13, API 33)',
        })}\n`,
      );
    });
    return { client, approved };
  }

  get inFlight(): number {
    return this.pending.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one `# echo c<index>-<seq>` analyze into the next room, signed now. */
  send(): void {
    if (this.closed) return;
    const seq = this.seq++;
    const room = roomIndexOf(this.o.index, seq, this.o.rooms);
    const now = Date.now();
    // PROTOCOL §3.1: a fresh auth object, signed now, on every packet.
    const signature = sign(this.signedFields(now), this.o.keys);
    const logId = this.logId.toString();
    this.logId += 1n;
    const line =
      `${this.heads[room]}${this.idPrefix}${seq}${this.mids[room]}${logId}${this.tailHead}${kstDateTime(now)}` +
      `${this.authHead}${now},"version":"${CLIENT_VERSION}","signature":"${signature}"}}}\n`;
    const at = performance.now();
    this.pending.set(seq, at);
    this.counters.sent++;
    if (at >= this.o.window.from && at < this.o.window.to) this.counters.sentInWindow++;
    this.socket.write(line);
  }

  close(): void {
    this.socket.destroy();
  }

  private onLine(raw: Buffer): void {
    let packet: { event?: unknown; data?: Record<string, unknown> | null };
    try {
      packet = JSON.parse(raw.toString('utf8'));
    } catch {
      this.counters.unexpected++;
      return;
    }
    const data = packet.data;
    if (typeof data !== 'object' || data === null) return; // §1.4: dropped like the phone does
    switch (packet.event) {
      case 'messageResponse':
        this.onReply(data);
        return;
      case 'ping':
        this.answerPing(data);
        return;
      case 'handshakeComplete':
        if (data.success === true) this.handshake?.resolve(data.approved === true);
        else this.handshake?.reject(new Error(`client ${this.o.index}: handshake refused`));
        this.handshake = undefined;
        return;
      default:
        this.counters.unexpected++;
    }
  }

  private onReply(data: Record<string, unknown>): void {
    const at = performance.now();
    const text = data.text;
    const head = ECHO_PREFIX + this.idPrefix;
    if (typeof text !== 'string' || !text.startsWith(head)) {
      this.counters.unexpected++;
      return;
    }
    const seq = Number(text.slice(head.length));
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.seq) {
      this.counters.unexpected++;
      return;
    }
    const sentAt = this.pending.get(seq);
    if (sentAt === undefined) {
      this.counters.duplicated++; // its reply already came
      return;
    }
    this.pending.delete(seq);
    this.counters.received++;
    if (data.channel_id !== this.channels[roomIndexOf(this.o.index, seq, this.o.rooms)]) this.counters.wrongRoom++;
    const w = this.o.window;
    if (at >= w.from && at < w.to) this.counters.receivedInWindow++;
    if (sentAt >= w.from && sentAt < w.to) this.o.latencies.push(at - sentAt);
    const t = this.o.timeline;
    const second = Math.floor((at - t.start) / 1000);
    if (second >= 0) {
      t.replies[second] = (t.replies[second] ?? 0) + 1;
      if (at - sentAt > (t.maxLatencyMs[second] ?? 0)) t.maxLatencyMs[second] = at - sentAt;
    }
    this.o.onReply(this);
  }

  /** PROTOCOL §4.2: echo bot_name and server_timestamp verbatim, add monitoring and auth. */
  private answerPing(ping: Record<string, unknown>): void {
    const now = Date.now();
    const data = {
      bot_name: ping.bot_name,
      server_timestamp: ping.server_timestamp,
      monitoring: {
        total_memory: 512,
        memory_usage: 87.3,
        memory_percent: 17.1,
        message_queue_size: 0,
        active_rooms: this.o.rooms,
      },
      auth: {
        clientType: CLIENT_TYPE,
        botName: this.botName,
        deviceUUID: this.deviceId,
        deviceID: this.deviceId,
        macAddress: MAC,
        ipAddress: this.ip,
        timestamp: now,
        version: CLIENT_VERSION,
        signature: sign(this.signedFields(now), this.o.keys),
      },
    };
    this.counters.pingsAnswered++;
    this.socket.write(`${JSON.stringify({ event: 'ping', data })}\n`);
  }

  /** PROTOCOL §3.2: the members the signature covers, as this phone sends them. */
  private signedFields(now: number): SignedFields {
    return {
      clientType: CLIENT_TYPE,
      botName: this.botName,
      deviceUUID: this.deviceId,
      macAddress: MAC,
      ipAddress: this.ip,
      timestamp: now,
    };
  }
}
