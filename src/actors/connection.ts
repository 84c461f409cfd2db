import { type ActorRefFrom, assign, enqueueActions, fromCallback, fromPromise, sendTo, setup } from 'xstate';
import { decodeLine, type Handshake, parseHandshake } from '../protocol/index.js';
import {
  closeOfEvent,
  handleLine,
  handshakeCompleteOf,
  handshakeOfLine,
  pingOf,
  releaseConnection,
  replyLineOf,
  standingFields,
  submit,
} from './connection-actions.js';
import type { CloseReason, ConnectionPorts, DeviceVerdict } from './connection-ports.js';
import {
  type ConnectionContext,
  type ConnectionEvent,
  type ConnectionInput,
  connectionKey,
  type SocketCommand,
  type SocketInput,
} from './connection-types.js';
import { isHoldableBeforeHandshake } from './pre-handshake.js';

/**
 * One actor per TCP connection (DESIGN.md §2):
 * handshaking → approved → active → closed.
 * It owns its socket (the `socket` child, a fromCallback supplied by infra) and its timers
 * (`after` transitions scoped to states, so leaving a state cancels them).
 */

export type {
  ConnectionContext,
  ConnectionEvent,
  ConnectionInput,
  SocketCommand,
  SocketEvent,
  SocketInput,
  SocketOut,
} from './connection-types.js';
export { connectionKey };

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
    assignHandshake: assign(({ event }) => (event.type === 'LINE' ? (handshakeOfLine(event.line) ?? {}) : {})),
    keepPending: ({ context, event }) => {
      if (event.type === 'LINE') context.flow.pending.push(event.line);
    },
    holdBeforeHandshake: ({ context, event }) => {
      if (event.type !== 'LINE') return;
      context.flow.pending.push(event.line);
      context.ports.heldBeforeHandshake?.({ peer: context.peer });
    },
    assignVerdict: assign(({ context }, verdict: DeviceVerdict) => ({
      verdict,
      ...standingFields(context, verdict.status, verdict.maxMessageSize),
    })),
    applyLimit: sendTo('socket', ({ context }) => ({ type: 'SET_LIMIT', limit: context.limit })),
    // PROTOCOL §2.5: exactly once, success true.
    writeHandshakeComplete: sendTo('socket', ({ context }) => ({ type: 'WRITE', data: handshakeCompleteOf(context) })),
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
    sendPing: sendTo('socket', ({ context }) => ({ type: 'WRITE', data: pingOf(context) })),
    deliver: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'DELIVER') return;
      const data = replyLineOf(context, event);
      const write = context.out.write;
      if (write !== null) write(data);
      else enqueue.sendTo('socket', { type: 'WRITE', data });
    }),
    assignStanding: assign(({ context, event }) =>
      event.type === 'STANDING' ? standingFields(context, event.status, event.maxMessageSize) : {},
    ),
    claimKey: ({ context, self }) => context.ports.claim(context.key!, self, context.handshake!, context.standing),
    setCloseReason: assign((_, params: { reason: CloseReason; error?: string }) => ({
      closeReason: params.reason,
      closeError: params.error,
    })),
    assignCloseFromEvent: assign(({ event }) => closeOfEvent(event)),
    release: ({ context, self }) => releaseConnection(context, self),
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
