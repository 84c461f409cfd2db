import type { Framing, Handshake, OutgoingReply } from '../protocol/index.js';
import type { CloseReason, ConnectionPorts, ConnectionSettings, DeviceVerdict, Standing } from './connection-ports.js';
import type { ChatMessage } from './job.js';

/** The connection actor's events, input and context (connection.ts is the machine). */

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
export interface Flow {
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
