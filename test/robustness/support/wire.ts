import net from 'node:net';
import type { Counter, Gauge } from 'prom-client';
import { type Auth, kstDateTime } from '../../../src/protocol/index.js';
import { signAuth } from '../../support/bridge-client.js';
import { KEYS } from '../../support/fake-connection.js';

/**
 * Wire helpers for the robustness suite: analyze lines built by hand (so a test can send what the
 * real client never would: 65,001 characters, numbers as ids, odd auth objects), a raw TCP peer
 * that writes bytes without the bridge client's manners, and metric reads.
 */

export const BOT = 'demo-bot';

export interface AnalyzeFields {
  botName?: string;
  deviceId: string;
  room?: string;
  channelId?: unknown;
  logId?: unknown;
  text?: unknown;
  /** the phone clock for the auth timestamp and `timestamp` */
  now: number;
  /** default: a valid auth signed at `now`; 'none' leaves the member out */
  auth?: Auth | Record<string, unknown> | unknown[] | string | null | 'none';
  /** members merged over the listener form (undefined values delete the member) */
  extra?: Record<string, unknown>;
}

/** A listener-form analyze (PROTOCOL §4.1) as a JS object. */
export function analyzeData(f: AnalyzeFields): Record<string, unknown> {
  const botName = f.botName ?? BOT;
  const data: Record<string, unknown> = {
    room: f.room ?? 'Evil Room',
    text: f.text ?? '# echo hi',
    sender: 'Mallory',
    isGroupChat: true,
    channelId: f.channelId === undefined ? '28234567890123456' : f.channelId,
    logId: f.logId === undefined ? nextLogId() : f.logId,
    userHash: 'feedface',
    isMention: false,
    timestamp: kstDateTime(f.now),
    botName,
    clientType: 'MessengerBotR',
  };
  if (f.auth === undefined) data.auth = validAuth(f.deviceId, f.now, botName);
  else if (f.auth !== 'none') data.auth = f.auth;
  for (const [k, v] of Object.entries(f.extra ?? {})) {
    if (v === undefined) delete data[k];
    else data[k] = v;
  }
  return data;
}

/** One analyze line, without its LF. */
export function analyzeLine(f: AnalyzeFields): string {
  return JSON.stringify({ event: 'analyze', data: analyzeData(f) });
}

export function validAuth(deviceId: string, now: number, botName = BOT): Auth {
  return signAuth({ botName, deviceId, ipAddress: '10.0.0.66' }, KEYS, now);
}

let logId = 4_401_234_567_890_123_456n;
/** Unique logIds, so the (channelId, logId) de-duplication never hides a case. */
export function nextLogId(): string {
  logId += 1n;
  return logId.toString();
}

/** The §2.2 handshake line of a v3.2.2 client, without its LF. */
export function handshakeLine(deviceId: string, botName = BOT): string {
  return JSON.stringify({
    clientType: 'MessengerBotR',
    botName,
    version: '3.2.1',
    deviceID: deviceId,
    deviceIP: '10.0.0.66',
    deviceInfo: 'fuzzing rig',
  });
}

/** A TCP peer that writes raw bytes and records what comes back, and when it closes. */
export class RawPeer {
  readonly received: Buffer[] = [];
  private closedFlag = false;
  private readonly closeWaiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.received.push(chunk));
    socket.on('error', () => {
      // a reset from the server is one of the outcomes under test
    });
    socket.on('close', () => {
      this.closedFlag = true;
      for (const w of this.closeWaiters.splice(0)) w();
    });
  }

  static connect(port: number, opts: { read?: boolean } = {}): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        const peer = new RawPeer(socket);
        // A peer that never reads: no 'data' listener keeps the stream paused at the kernel.
        if (opts.read === false) {
          socket.removeAllListeners('data');
          socket.pause();
        }
        resolve(peer);
      });
    });
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(data, () => resolve());
    });
  }

  /** Every byte received so far, as UTF-8 text. */
  text(): string {
    return Buffer.concat(this.received).toString('utf8');
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  waitClosed(timeoutMs = 5_000): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`peer still open after ${timeoutMs} ms`)), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

type Labels = Record<string, string>;

/** Sum of a counter's (or gauge's) values whose labels include `labels`. */
export async function metricValue(metric: Counter<string> | Gauge<string>, labels: Labels = {}): Promise<number> {
  const { values } = await metric.get();
  let sum = 0;
  for (const v of values) {
    const own = v.labels as Labels;
    if (Object.entries(labels).every(([k, x]) => own[k] === x)) sum += v.value;
  }
  return sum;
}

/** Every labelled value of a counter, as `{ "reason=x": n }`, zeros left out (for exact comparisons). */
export async function metricSnapshot(metric: Counter<string>): Promise<Record<string, number>> {
  const { values } = await metric.get();
  const out: Record<string, number> = {};
  for (const v of values) {
    if (v.value === 0) continue;
    const key = Object.entries(v.labels)
      .map(([k, x]) => `${k}=${String(x)}`)
      .join(',');
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

/** `after - before` per key, zero differences left out. */
export function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}
