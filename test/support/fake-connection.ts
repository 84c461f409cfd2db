import { type AnyActorRef, createActor, fromCallback, SimulatedClock } from 'xstate';
import { connectionMachine, type SocketCommand } from '../../src/actors/connection.js';
import type {
  ChatVerdict,
  ConnectionPorts,
  ConnectionSettings,
  DeviceVerdict,
  PingReply,
} from '../../src/actors/connection-ports.js';
import type { ChatMessage } from '../../src/actors/job.js';
import type { Clock } from '../../src/infra/clock.js';

export const KEYS = { secret: 'demo-shared-secret', salt: 'demo-salt' };

export const SETTINGS: ConnectionSettings = {
  handshakeMs: 10_000,
  pingIntervalMs: 30_000,
  pingJitterMs: 5_000,
  idleMs: 90_000,
  maxLineBytes: 1_048_576,
  maxTextChars: 65_000,
  maxPendingLines: 64,
  hmacWindowMs: 300_000,
  serverVersion: '1.0.0',
};

/** A socket stand-in: records what the connection writes and whether reading is paused. */
export interface FakeSocket {
  written: string[];
  paused: boolean;
  limit: number;
  stopped: boolean;
}

export const fakeSocketActor = fromCallback<SocketCommand, { socket: unknown; limit: number }>(({ input, receive }) => {
  const s = input.socket as FakeSocket;
  s.limit = input.limit;
  receive((cmd) => {
    if (cmd.type === 'WRITE') s.written.push(cmd.data);
    if (cmd.type === 'PAUSE') s.paused = true;
    if (cmd.type === 'RESUME') s.paused = false;
    if (cmd.type === 'SET_LIMIT') s.limit = cmd.limit;
  });
  return () => {
    s.stopped = true;
  };
});

export interface Recorder {
  chats: Array<{ message: ChatMessage; standing: string }>;
  pings: PingReply[];
  ignored: string[];
  authFailed: string[];
  closed: Array<{ reason: string; unprocessed: number }>;
  claims: string[];
  releases: string[];
}

export function harness(
  opts: {
    verdict?: DeviceVerdict | Promise<DeviceVerdict>;
    chat?: (m: ChatMessage) => ChatVerdict;
    canAdmit?: boolean;
    random?: number;
    settings?: Partial<ConnectionSettings>;
    now?: number;
  } = {},
) {
  const clock = new SimulatedClock();
  clock.set(opts.now ?? 1_721_800_000_000);
  const socket: FakeSocket = { written: [], paused: false, limit: 0, stopped: false };
  const rec: Recorder = { chats: [], pings: [], ignored: [], authFailed: [], closed: [], claims: [], releases: [] };
  let trace = 0;
  const ports: ConnectionPorts = {
    clock: clock as unknown as Clock,
    keys: KEYS,
    random: () => opts.random ?? 0.5,
    newTraceId: () => `trace-${++trace}`,
    registerDevice: async () =>
      opts.verdict ?? { status: 'approved', message: '승인된 디바이스입니다', maxMessageSize: null },
    canAdmit: () => opts.canAdmit ?? true,
    claim: (key) => {
      rec.claims.push(key);
    },
    release: (key) => {
      rec.releases.push(key);
    },
    chat: (message, standing) => {
      rec.chats.push({ message, standing });
      return opts.chat?.(message) ?? 'accepted';
    },
    pingReply: (r) => {
      rec.pings.push(r);
    },
    ignored: (reason) => {
      rec.ignored.push(reason);
    },
    authFailed: (reason) => {
      rec.authFailed.push(reason);
    },
    sent: () => {},
    received: () => {},
    pingSent: () => {},
    closed: (reason, d) => {
      rec.closed.push({ reason, unprocessed: d.unprocessed });
    },
    handshakeDone: () => {},
  };
  const actor = createActor(connectionMachine.provide({ actors: { socket: fakeSocketActor } }), {
    input: { peer: '127.0.0.1:5555', ports, settings: { ...SETTINGS, ...opts.settings }, socket },
    clock,
  });
  const errors: unknown[] = [];
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const line = (s: string) => actor.send({ type: 'LINE', line: Buffer.from(s, 'utf8') });
  /** lets promise callbacks (registerDevice) run */
  const flush = () => new Promise((r) => setImmediate(r));
  return { actor, clock, socket, rec, ports, line, flush, errors, self: actor as AnyActorRef };
}
