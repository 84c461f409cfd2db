import { type ActorRefFrom, assign, enqueueActions, fromCallback, fromPromise, sendTo, setup } from 'xstate';
import {
  decodeLine,
  type Framing,
  type Handshake,
  handshakeCompleteLine,
  messageResponseLine,
  type OutgoingReply,
  parseHandshake,
  pingLine,
} from '../protocol/index.js';
import { classifyLine } from './connection-lines.js';
import {
  type ChatVerdict,
  type CloseReason,
  type ConnectionPorts,
  type ConnectionSettings,
  type DeviceVerdict,
  type Standing,
  standingOf,
} from './connection-ports.js';
import type { ChatMessage } from './job.js';
import { isHoldableBeforeHandshake } from './pre-handshake.js';

/**
 * One actor per TCP connection (DESIGN.md §2):
 * handshaking → approved → active → closed.
 * It owns its socket (the `socket` child, a fromCallback supplied by infra) and its timers
 * (`after` transitions scoped to states, so leaving a state cancels them).
 */

/** Events the socket child sends to the connection. */
export type SocketEvent =
  | { type: 'LINE'; line: Buffer }
  /** every line of one socket read, in order (DESIGN.md §2: events may carry batches) */
  | { type: 'LINES'; lines: readonly Buffer[] }
  | { type: 'OVERFLOW'; limit: number }
  | { type: 'EOF' }
  | { type: 'SOCKET_ERROR'; message: string }
  | { type: 'SLOW_CONSUMER'; bytes: number };

/** Commands the connection sends to its socket child. */
export type SocketCommand =
  | { type: 'WRITE'; data: string }
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'SET_LIMIT'; limit: number }
  | { type: 'END' };

export type ConnectionEvent =
  | SocketEvent
  /** a reply from a worker or handler, routed here by the registry (PROTOCOL §2.7) */
  | { type: 'DELIVER'; reply: OutgoingReply; event?: 'messageResponse' | 'scheduleMessage' }
  /** a newer connection took this key (PROTOCOL §2.7), or the gateway closes it */
  | { type: 'KICK'; reason: CloseReason }
  /** standing refresh (within timers.standingRefreshMs; PROTOCOL §7.10 reload) */
  | { type: 'STANDING'; status: string; maxMessageSize: number | null }
  /** the dispatcher's backpressure (DESIGN.md §2); `jobId` when the dispatcher refused an ENQUEUE */
  | { type: 'MAILBOX_FULL'; jobId?: string }
  | { type: 'MAILBOX_READY' }
  /** the dispatcher refused an ENQUEUE after SHUTDOWN (the gateway is closing): ignored */
  | { type: 'MAILBOX_CLOSED'; jobId: string };

/**
 * A direct line to the socket, filled in by a socket child that supports it (the real one,
 * src/infra/tcp/socket-actor.ts) while it runs: DELIVER writes the reply with it in its own
 * action instead of sending a WRITE event to the child (DESIGN.md §2, one event less per reply).
 * `null` otherwise (test sockets): WRITE events as before.
 */
export interface SocketOut {
  write: ((data: string) => void) | null;
}

/** What the `socket` child receives (`out` is for a socket child that supports direct writes). */
export interface SocketInput {
  socket: unknown;
  limit: number;
  out?: SocketOut;
}

export interface ConnectionInput {
  peer: string;
  ports: ConnectionPorts;
  settings: ConnectionSettings;
  /** the socket handle handed to the `socket` child; opaque to the machine */
  socket: unknown;
}

/** Mutable per-connection flow state, touched only by this actor's own actions. */
interface Flow {
  /** lines read before the connection became active (PROTOCOL §2.1 pipelining) */
  pending: Buffer[];
  /** accepted-for-processing messages the dispatcher refused; resubmitted in order on MAILBOX_READY */
  held: ChatMessage[];
  paused: boolean;
  /** clock time of the last line read; the inactivity timer checks it when it fires */
  lastReadAt: number;
}

export interface ConnectionContext {
  peer: string;
  ports: ConnectionPorts;
  settings: ConnectionSettings;
  socket: unknown;
  out: SocketOut;
  openedAt: number;
  handshake: Handshake | null;
  key: string | null;
  framing: Framing;
  status: string;
  standing: Standing;
  verdict: DeviceVerdict | null;
  limit: number;
  issuedPings: number[];
  flow: Flow;
  closeReason: CloseReason | null;
  closeError: string | undefined;
}

/** The registry key of a handshake identity (PROTOCOL §0.2 connection key). */
export function connectionKey(botName: string, deviceId: string): string {
  return `${botName}\u0000${deviceId}`;
}

const ISSUED_PINGS_KEPT = 4;

function submit(context: ConnectionContext, self: Parameters<ConnectionPorts['chat']>[2]): boolean {
  const { flow, ports, standing } = context;
  while (flow.held.length > 0) {
    const verdict: ChatVerdict = ports.chat(flow.held[0]!, standing, self);
    if (verdict === 'full') return false;
    flow.held.shift();
  }
  return true;
}

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  actors: {
    // Supplied by infra (src/infra/tcp/socket-actor.ts) or by tests.
    socket: fromCallback<SocketCommand, SocketInput>(() => () => {}),
    registerDevice: fromPromise<DeviceVerdict, { ports: ConnectionPorts; handshake: Handshake }>(({ input }) =>
      input.ports.registerDevice(input.handshake),
    ),
  },
  delays: {
    handshake: ({ context }) => context.settings.handshakeMs,
    // PROTOCOL §2.6: one deadline from admission to handshakeComplete written.
    handshakeRemaining: ({ context }) =>
      Math.max(0, context.openedAt + context.settings.handshakeMs - context.ports.clock.now()),
    pingJitter: ({ context }) => Math.floor(context.ports.random() * (context.settings.pingJitterMs + 1)),
    pingInterval: ({ context }) => context.settings.pingIntervalMs,
    // PROTOCOL §7.5 [REC]: fires when the silence since the last line would reach the idle limit
    idleCheck: ({ context }) =>
      Math.max(0, context.flow.lastReadAt + context.settings.idleMs - context.ports.clock.now()),
  },
  guards: {
    isHandshake: ({ event }) => {
      if (event.type !== 'LINE') return false;
      const decoded = decodeLine(event.line);
      return decoded.kind === 'object' && parseHandshake(decoded.value).ok;
    },
    isEmptyLine: ({ event }) => event.type === 'LINE' && decodeLine(event.line).kind === 'empty',
    // PROTOCOL §2.1, §5.3.1 [REC]: queued packets before the handshake are held, up to the limit
    isHoldable: ({ context, event }) =>
      event.type === 'LINE' &&
      context.flow.pending.length < context.settings.maxPendingLines &&
      isHoldableBeforeHandshake(event.line),
    isFull: ({ context }) => context.standing === 'full',
    silentTooLong: ({ context }) => context.ports.clock.now() - context.flow.lastReadAt >= context.settings.idleMs,
    pendingAtLimit: ({ context }) => context.flow.pending.length + 1 >= context.settings.maxPendingLines,
    // PROTOCOL §7.2 [REC]: beyond the cap a connection is refused (closed without a reply, §2.4).
    capReached: ({ context }) => !context.ports.canAdmit(context.key!),
  },
  actions: {
    // PROTOCOL §2.3
    assignHandshake: assign(({ event }) => {
      if (event.type !== 'LINE') return {};
      const decoded = decodeLine(event.line);
      if (decoded.kind !== 'object') return {};
      const parsed = parseHandshake(decoded.value);
      if (!parsed.ok) return {};
      const h = parsed.handshake;
      // PROTOCOL §5.7 [WIRE]: reply framing follows the handshake form; the v3.3.0 draft
      // (bare handshake with protocolVersion) only reads framed replies.
      const framing: Framing = h.form === 'enveloped' || h.protocolVersion !== undefined ? 'v3.3' : 'v3.2';
      return { handshake: h, key: connectionKey(h.botName, h.deviceId), framing };
    }),
    keepPending: ({ context, event }) => {
      if (event.type === 'LINE') context.flow.pending.push(event.line);
    },
    holdBeforeHandshake: ({ context, event }) => {
      if (event.type !== 'LINE') return;
      context.flow.pending.push(event.line);
      context.ports.heldBeforeHandshake?.({ peer: context.peer });
    },
    assignVerdict: assign(({ context }, verdict: DeviceVerdict) => {
      const limit =
        verdict.maxMessageSize !== null && verdict.maxMessageSize > 0
          ? verdict.maxMessageSize
          : context.settings.maxLineBytes;
      return { verdict, status: verdict.status, standing: standingOf(verdict.status), limit };
    }),
    applyLimit: sendTo('socket', ({ context }) => ({ type: 'SET_LIMIT', limit: context.limit })),
    // PROTOCOL §2.5: exactly once, success true.
    writeHandshakeComplete: sendTo('socket', ({ context }) => {
      const verdict = context.verdict!;
      context.ports.sent('handshakeComplete');
      context.ports.handshakeDone({ peer: context.peer, key: context.key!, handshake: context.handshake!, verdict });
      return {
        type: 'WRITE',
        data: handshakeCompleteLine(
          {
            approved: verdict.status === 'approved',
            message: verdict.message,
            serverVersion: context.settings.serverVersion,
          },
          context.framing,
          context.ports.clock.now(),
        ),
      };
    }),
    /** The hot path: one line on an active connection. */
    processLine: ({ context, event, self }) => {
      if (event.type !== 'LINE') return;
      context.flow.lastReadAt = context.ports.clock.now();
      handleLine(context, event.line, self);
    },
    /** All lines of one read on an active connection, in one step. */
    processLines: ({ context, event, self }) => {
      if (event.type !== 'LINES') return;
      context.flow.lastReadAt = context.ports.clock.now();
      for (const line of event.lines) handleLine(context, line, self);
    },
    /** Before `active`, a batch is taken line by line (the handshake changes state mid-batch). */
    splitLines: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'LINES') return;
      for (const line of event.lines) enqueue.raise({ type: 'LINE', line });
    }),
    drainPending: ({ context, self }) => {
      context.flow.lastReadAt = context.ports.clock.now();
      const lines = context.flow.pending;
      context.flow.pending = [];
      for (const line of lines) handleLine(context, line, self);
    },
    resumeIfFlowing: sendTo('socket', ({ context }) => {
      context.flow.paused = context.flow.held.length > 0;
      return context.flow.paused ? { type: 'PAUSE' } : { type: 'RESUME' };
    }),
    pauseReading: sendTo('socket', ({ context }) => {
      context.flow.paused = true;
      return { type: 'PAUSE' };
    }),
    resubmitHeld: sendTo('socket', ({ context, self }) => {
      const drained = submit(context, self);
      context.flow.paused = !drained;
      return drained ? { type: 'RESUME' } : { type: 'PAUSE' };
    }),
    // PROTOCOL §4.6 [REC], §7.11
    sendPing: sendTo('socket', ({ context }) => {
      const now = context.ports.clock.now();
      const issued = context.issuedPings;
      issued.push(now);
      if (issued.length > ISSUED_PINGS_KEPT) issued.shift();
      context.ports.pingSent();
      context.ports.sent('ping');
      return { type: 'WRITE', data: pingLine(context.handshake!.botName, now, context.framing) };
    }),
    deliver: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'DELIVER') return;
      // PROTOCOL §5.4: scheduleMessage only in v3.3 framing; a v3.2.2 phone ignores it (§4.7)
      const name =
        context.framing === 'v3.3' && event.event === 'scheduleMessage' ? 'scheduleMessage' : 'messageResponse';
      context.ports.sent(name);
      const data = messageResponseLine(event.reply, context.framing, context.ports.clock.now(), name);
      const write = context.out.write;
      if (write !== null) write(data);
      else enqueue.sendTo('socket', { type: 'WRITE', data });
    }),
    assignStanding: assign(({ context, event }) => {
      if (event.type !== 'STANDING') return {};
      const limit =
        event.maxMessageSize !== null && event.maxMessageSize > 0
          ? event.maxMessageSize
          : context.settings.maxLineBytes;
      return { status: event.status, standing: standingOf(event.status), limit };
    }),
    claimKey: ({ context, self }) => context.ports.claim(context.key!, self, context.handshake!, context.standing),
    setCloseReason: assign((_, params: { reason: CloseReason; error?: string }) => ({
      closeReason: params.reason,
      closeError: params.error,
    })),
    assignCloseFromEvent: assign(({ event }) => {
      switch (event.type) {
        case 'KICK':
          return { closeReason: event.reason };
        case 'OVERFLOW':
          return { closeReason: 'line-too-long' as const, closeError: `line over ${event.limit} bytes` };
        case 'EOF':
          return { closeReason: 'eof' as const };
        case 'SOCKET_ERROR':
          return { closeReason: 'socket-error' as const, closeError: event.message };
        case 'SLOW_CONSUMER':
          return { closeReason: 'slow-consumer' as const, closeError: `${event.bytes} bytes unsent` };
        default:
          return {};
      }
    }),
    release: ({ context, self }) => {
      if (context.key !== null) context.ports.release(context.key, self);
      context.ports.closed(context.closeReason ?? 'eof', {
        peer: context.peer,
        key: context.key ?? undefined,
        state: context.handshake === null ? 'handshaking' : 'active',
        error: context.closeError,
        unprocessed: context.flow.held.length + context.flow.pending.length,
      });
    },
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    peer: input.peer,
    ports: input.ports,
    settings: input.settings,
    socket: input.socket,
    out: { write: null },
    openedAt: input.ports.clock.now(),
    handshake: null,
    key: null,
    framing: 'v3.2',
    status: 'pending',
    standing: 'limited',
    verdict: null,
    limit: input.settings.maxLineBytes,
    issuedPings: [],
    flow: { pending: [], held: [], paused: false, lastReadAt: 0 },
    closeReason: null,
    closeError: undefined,
  }),
  invoke: {
    id: 'socket',
    src: 'socket',
    input: ({ context }): SocketInput => ({
      socket: context.socket,
      limit: context.settings.maxLineBytes,
      out: context.out,
    }),
  },
  on: {
    KICK: { target: '.closed', actions: 'assignCloseFromEvent' },
    OVERFLOW: { target: '.closed', actions: 'assignCloseFromEvent' },
    EOF: { target: '.closed', actions: 'assignCloseFromEvent' },
    SOCKET_ERROR: { target: '.closed', actions: 'assignCloseFromEvent' },
    SLOW_CONSUMER: { target: '.closed', actions: 'assignCloseFromEvent' },
  },
  initial: 'handshaking',
  states: {
    // PROTOCOL §2.1–2.4: the first line is the handshake; queued chat lines before it are held
    // (§5.3.1 [REC], §6.5) until it arrives; anything else closes silently. The deadline stays.
    handshaking: {
      after: {
        handshake: {
          target: 'closed',
          actions: { type: 'setCloseReason', params: { reason: 'handshake-timeout' } },
        },
      },
      on: {
        LINE: [
          { guard: 'isEmptyLine' }, // PROTOCOL §1.3: empty lines are ignored
          { guard: 'isHandshake', target: 'approved', actions: 'assignHandshake' },
          { guard: 'isHoldable', actions: 'holdBeforeHandshake' },
          { target: 'closed', actions: { type: 'setCloseReason', params: { reason: 'handshake-invalid' } } },
        ],
        LINES: { actions: 'splitLines' },
      },
    },
    // Handshake valid: the device's standing is looked up (or registered as pending).
    approved: {
      invoke: {
        src: 'registerDevice',
        input: ({ context }) => ({ ports: context.ports, handshake: context.handshake! }),
        onDone: [
          {
            guard: 'capReached',
            target: 'closed',
            actions: { type: 'setCloseReason', params: { reason: 'cap-reached' } },
          },
          {
            target: 'active',
            actions: [
              { type: 'assignVerdict', params: ({ event }) => event.output },
              'applyLimit',
              'claimKey',
              'writeHandshakeComplete',
            ],
          },
        ],
        onError: {
          target: 'closed',
          actions: { type: 'setCloseReason', params: { reason: 'handshake-invalid', error: 'device lookup failed' } },
        },
      },
      after: {
        handshakeRemaining: {
          target: 'closed',
          actions: { type: 'setCloseReason', params: { reason: 'handshake-timeout' } },
        },
      },
      on: {
        // PROTOCOL §2.1 [WIRE]: packets pipelined behind the handshake are kept, in order.
        LINE: [{ guard: 'pendingAtLimit', actions: ['keepPending', 'pauseReading'] }, { actions: 'keepPending' }],
        LINES: { actions: 'splitLines' },
      },
    },
    active: {
      type: 'parallel',
      entry: ['drainPending', 'resumeIfFlowing'],
      on: {
        DELIVER: { actions: 'deliver' },
      },
      states: {
        reader: {
          initial: 'flowing',
          states: {
            flowing: {
              on: {
                LINE: { actions: 'processLine' },
                LINES: { actions: 'processLines' },
                MAILBOX_FULL: { target: 'paused', actions: 'pauseReading' },
                MAILBOX_READY: { actions: 'resubmitHeld' },
              },
            },
            // DESIGN.md §2: mailbox full → stop reading the socket (TCP backpressure).
            paused: {
              on: {
                // lines framed from the last chunk still arrive; they queue behind the held ones
                LINE: { actions: 'processLine' },
                LINES: { actions: 'processLines' },
                MAILBOX_READY: { target: 'flowing', actions: 'resubmitHeld' },
              },
            },
          },
        },
        // PROTOCOL §7.11: first ping after a random 0–5 s, then every 30 s.
        heartbeat: {
          initial: 'waiting',
          states: {
            waiting: { after: { pingJitter: 'pinging' } },
            pinging: {
              entry: 'sendPing',
              after: { pingInterval: { target: 'pinging', reenter: true } },
            },
          },
        },
        // PROTOCOL §7.5 [REC]: one inactivity timer; silence for 3 × 30 s closes a zombie.
        liveness: {
          initial: 'listening',
          states: {
            // one timer, not one per line: a line only moves `lastReadAt` (the hot path stays cheap)
            listening: {
              after: {
                idleCheck: [
                  {
                    guard: 'silentTooLong',
                    target: '#connection.closed',
                    actions: { type: 'setCloseReason', params: { reason: 'zombie' } },
                  },
                  { target: 'listening', reenter: true },
                ],
              },
            },
          },
        },
        standing: {
          initial: 'deciding',
          states: {
            deciding: { always: [{ guard: 'isFull', target: 'full' }, { target: 'limited' }] },
            full: { on: { STANDING: { target: 'deciding', actions: ['assignStanding', 'applyLimit'] } } },
            limited: { on: { STANDING: { target: 'deciding', actions: ['assignStanding', 'applyLimit'] } } },
          },
        },
      },
    },
    closed: {
      type: 'final',
      // The socket child is stopped with the machine; its cleanup ends then destroys the socket.
      entry: 'release',
    },
  },
});

export type ConnectionActor = ActorRefFrom<typeof connectionMachine>;

/** Turns one line into its effects (PROTOCOL §7.5 steps 4–8). */
function handleLine(context: ConnectionContext, line: Buffer, self: Parameters<ConnectionPorts['chat']>[2]): void {
  const { ports } = context;
  const verdict = classifyLine(line, {
    framing: context.framing,
    handshake: context.handshake!,
    keys: ports.keys,
    now: ports.clock.now(),
    hmacWindowMs: context.settings.hmacWindowMs,
    maxTextChars: context.settings.maxTextChars,
    issuedPings: context.issuedPings,
    newTraceId: ports.newTraceId,
  });
  switch (verdict.kind) {
    case 'empty':
      return;
    case 'ignored':
      if (verdict.event !== undefined) ports.received(verdict.event);
      ports.ignored(verdict.reason, { peer: context.peer, key: context.key ?? undefined, error: verdict.error });
      return;
    case 'auth-failed':
      ports.received(verdict.event);
      ports.authFailed(verdict.reason, { peer: context.peer, key: context.key ?? undefined });
      return;
    case 'ping-reply':
      ports.received(verdict.event);
      ports.pingReply({
        botName: context.handshake!.botName,
        deviceId: context.handshake!.deviceId,
        reply: verdict.reply,
        rttMs: verdict.rttMs,
        receivedAt: ports.clock.now(),
      });
      return;
    case 'chat': {
      ports.received('analyze');
      const { flow } = context;
      // Order is kept: while earlier messages wait for the mailbox, later ones wait behind them.
      if (flow.held.length > 0) {
        flow.held.push(verdict.message);
        return;
      }
      if (ports.chat(verdict.message, context.standing, self) === 'full') {
        flow.held.push(verdict.message);
        self.send({ type: 'MAILBOX_FULL' });
      }
      return;
    }
  }
}
