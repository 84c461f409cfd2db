import net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type HmacKeys, kstDateTime, LineFramer, sign } from '../src/protocol/index.js';
import type { BenchArgs } from './args.js';
import { ServerChild } from './child.js';
import { botNameOf, channelIdOf, deviceIdOf, roomIndexOf, roomTitleOf, type ServerSpec } from './fleet.js';
import { type Audit, audit, inboxStatuses, type SentPhase, type Suspect } from './kill-audit.js';

/**
 * `npm run bench -- --kill-at S` (DESIGN.md §2 durable mailbox, tried as an operator would):
 * closed-loop load from clients that reconnect like a phone (PROTOCOL §6.3, faster here), a
 * `kill -9` of the gateway S seconds in, a restart on the same data and port, then a drain.
 * Every `# echo <id>` sent must be answered exactly once: reports lost and duplicated replies.
 * A message a client wrote while disconnected waits in its offline queue and is flushed right
 * behind the next handshake (PROTOCOL §6.5), before handshakeComplete.
 *
 * Afterwards every message without exactly one reply is looked up in the gateway's data
 * (bench/kill-audit.ts): never accepted because it was in flight at the kill (a phone has no
 * acknowledgements, nothing can recover it), or lost after acceptance, or duplicated.
 */

const RECONNECT_MS = 300;
const ECHO = '에코: ';
const REQUEST = '# echo ';

export interface KillResult {
  sent: number;
  answered: number;
  lost: number;
  duplicated: number;
  unexpected: number;
  reconnects: number;
  killedAtMs: number;
  restartMs: number;
  /** the restarted server's own count of replayed messages, from its stats */
  serverStats: Record<string, number> | undefined;
  /** where each lost or duplicated message went, from the gateway's data */
  audit: Audit | undefined;
}

class KillClient {
  private socket: net.Socket | undefined;
  private readonly framer = new LineFramer(64 * 1024 * 1024);
  private readonly replies = new Map<number, number>();
  private readonly offline: string[] = [];
  /** where message `seq` was written (see SentPhase) */
  private readonly phases: SentPhase[] = [];
  private seq = 0;
  private logId = 3301234567890000000n;
  private connected = false;
  /** the socket in use was connected after the kill (to the restarted gateway) */
  private socketAfterKill = false;
  /** set by the harness when it has killed the first gateway */
  killed = false;
  reconnects = 0;
  unexpected = 0;
  sending = true;
  stopped = false;

  constructor(
    private readonly index: number,
    private readonly port: () => number,
    private readonly o: { rooms: number; bots: number; keys: HmacKeys; inflight: number },
  ) {}

  get sent(): number {
    return this.seq;
  }

  get outstanding(): number {
    let n = 0;
    for (let s = 0; s < this.seq; s++) if (!this.replies.has(s)) n++;
    return n;
  }

  counts(): { answered: number; duplicated: number } {
    let duplicated = 0;
    for (const n of this.replies.values()) duplicated += n - 1;
    return { answered: this.replies.size, duplicated };
  }

  /** Messages answered never or more than once. */
  suspects(): Suspect[] {
    const out: Suspect[] = [];
    for (let s = 0; s < this.seq; s++) {
      const replies = this.replies.get(s) ?? 0;
      if (replies !== 1) out.push({ text: `${REQUEST}k${this.index}-${s}`, replies, phase: this.phases[s]! });
    }
    return out;
  }

  connect(first = false): void {
    if (this.stopped) return;
    const socket = net.createConnection({ host: '127.0.0.1', port: this.port() });
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('connect', () => {
      this.socket = socket;
      this.connected = true;
      this.socketAfterKill = this.killed;
      if (!first) this.reconnects++;
      // PROTOCOL §2.1, §6.5: the handshake, then the offline queue at once, without waiting
      const botName = botNameOf(this.index, this.o.bots);
      const deviceId = deviceIdOf(this.index);
      const queued = this.offline.splice(0);
      socket.write(
        `${JSON.stringify({ clientType: 'MessengerBotR', botName, version: '3.2.1', deviceID: deviceId, deviceIP: '127.0.0.1', deviceInfo: 'bench' })}\n${queued.join('')}`,
      );
      // the loop starts again on every connection: a message lost in flight at the kill never gets
      // its reply, and waiting for it would stop this client's load for the rest of the run
      for (let k = 0; k < this.o.inflight; k++) this.send();
    });
    socket.on('data', (chunk: Buffer) => this.framer.push(chunk, (line) => this.onLine(line)));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      this.connected = false;
      if (!this.stopped) setTimeout(() => this.connect(), RECONNECT_MS);
    });
  }

  send(): void {
    if (!this.sending) return;
    const seq = this.seq++;
    const room = roomIndexOf(this.index, seq, this.o.rooms);
    const botName = botNameOf(this.index, this.o.bots);
    const deviceId = deviceIdOf(this.index);
    const now = Date.now();
    const fields = {
      clientType: 'MessengerBotR',
      botName,
      deviceUUID: deviceId,
      macAddress: '02:00:00:00:00:00',
      ipAddress: '127.0.0.1',
      timestamp: now,
    };
    const line = `${JSON.stringify({
      event: 'analyze',
      data: {
        room: roomTitleOf(room),
        text: `${REQUEST}k${this.index}-${seq}`,
        sender: 'Bench User',
        isGroupChat: true,
        channelId: channelIdOf(room),
        logId: (this.logId++).toString(),
        isMention: false,
        timestamp: kstDateTime(now),
        botName,
        clientType: 'MessengerBotR',
        auth: { ...fields, deviceID: deviceId, version: '3.2.1', signature: sign(fields, this.o.keys) },
      },
    })}\n`;
    if (this.connected && this.socket !== undefined) {
      this.phases[seq] = this.socketAfterKill ? 'after-restart' : 'before-kill';
      this.socket.write(line);
    } else {
      this.phases[seq] = 'offline-queue';
      this.offline.push(line);
    }
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
  }

  private onLine(raw: Buffer): void {
    let packet: { event?: unknown; data?: { text?: unknown } };
    try {
      packet = JSON.parse(raw.toString('utf8'));
    } catch {
      this.unexpected++;
      return;
    }
    if (packet.event !== 'messageResponse') return;
    const text = packet.data?.text;
    const head = `${ECHO}k${this.index}-`;
    if (typeof text !== 'string' || !text.startsWith(head)) {
      this.unexpected++;
      return;
    }
    const seq = Number(text.slice(head.length));
    const seen = this.replies.get(seq) ?? 0;
    this.replies.set(seq, seen + 1);
    if (seen === 0) this.send(); // closed loop
  }
}

export async function runKillAt(args: BenchArgs & { killAt: number }, spec: ServerSpec): Promise<KillResult> {
  let child = await ServerChild.start({ script: 'bench/server.ts', env: { BENCH_SERVER: JSON.stringify(spec) } });
  const port = child.port;
  const restartSpec = { ...spec, port };
  const clients = Array.from(
    { length: args.clients },
    (_, i) =>
      new KillClient(i, () => port, { rooms: args.rooms, bots: args.bots, keys: spec, inflight: args.inflight }),
  );
  for (const c of clients) c.connect(true);
  const t0 = performance.now();
  await sleep(args.killAt * 1000);
  const killedAtMs = performance.now() - t0;
  await child.kill();
  for (const c of clients) c.killed = true;
  // what the killed gateway had committed: pending rows are the ones the restart replays
  const dbFile = join(spec.dir, 'bench.db');
  const atKill = spec.durable ? inboxStatuses(dbFile) : new Map();
  const restartStart = performance.now();
  child = await ServerChild.start({ script: 'bench/server.ts', env: { BENCH_SERVER: JSON.stringify(restartSpec) } });
  const restartMs = performance.now() - restartStart;
  try {
    await sleep(Math.max(0, (args.warmup + args.seconds) * 1000 - (performance.now() - t0)));
    for (const c of clients) c.sending = false;
    // drain: until every message is answered, or `drain` s without progress
    let last = -1;
    let progressAt = performance.now();
    for (;;) {
      const answered = clients.reduce((n, c) => n + c.counts().answered, 0);
      if (answered !== last) {
        last = answered;
        progressAt = performance.now();
      }
      if (clients.every((c) => c.outstanding === 0)) break;
      if (performance.now() - progressAt > args.drain * 1000) break;
      await sleep(50);
    }
    await sleep(500); // late duplicates still count
  } finally {
    for (const c of clients) c.stop();
    await child.stop();
  }
  const sent = clients.reduce((n, c) => n + c.sent, 0);
  const answered = clients.reduce((n, c) => n + c.counts().answered, 0);
  const suspects = clients.flatMap((c) => c.suspects());
  return {
    sent,
    answered,
    lost: sent - answered,
    duplicated: clients.reduce((n, c) => n + c.counts().duplicated, 0),
    unexpected: clients.reduce((n, c) => n + c.unexpected, 0),
    reconnects: clients.reduce((n, c) => n + c.reconnects, 0),
    killedAtMs: Math.round(killedAtMs),
    restartMs: Math.round(restartMs),
    serverStats: child.stats,
    audit: spec.durable ? audit(suspects, atKill, dbFile, { request: REQUEST, reply: ECHO }) : undefined,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
