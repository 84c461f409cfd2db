import type net from 'node:net';
import { createActor } from 'xstate';
import type { Clock } from '../actors/clock.js';
import { type ConnectionActor, connectionMachine } from '../actors/connection.js';
import type { ConnectionPorts, ConnectionSettings } from '../actors/connection-ports.js';
import type { Inspection } from '../actors/inspection.js';
import type { Config } from '../infra/config/schema.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import { type HeldWrites, type SocketHandle, socketActor } from '../infra/tcp/socket-actor.js';

/** What every connection actor is configured with (timers, limits, HMAC window). */
export function connectionSettingsOf(config: Config): ConnectionSettings {
  return {
    handshakeMs: config.timers.handshakeMs,
    pingIntervalMs: config.timers.pingIntervalMs,
    pingJitterMs: config.timers.pingJitterMs,
    idleMs: config.timers.idleMs,
    maxLineBytes: config.limits.maxLineBytes,
    maxTextChars: config.limits.maxTextChars,
    maxPendingLines: config.limits.maxPendingLines,
    hmacWindowMs: config.hmac.windowMs,
    serverVersion: config.serverVersion,
  };
}

export interface AdmissionDeps {
  clock: Clock;
  metrics: Metrics;
  /** the `client` log category */
  log: Logger;
  ports: ConnectionPorts;
  settings: ConnectionSettings;
  /** limits.maxHandshaking */
  maxHandshaking: number;
  /** limits.maxOutboundBytes */
  maxOutboundBytes: number;
  inspection?: Inspection;
  /** the durable mailbox: a socket's writes leave after its next grouped write (DESIGN.md §2) */
  writes?: { afterWrite(writes: HeldWrites): void };
  stopping(): boolean;
}

/**
 * A new socket becomes a connection actor: bound handshake slots (limits.maxHandshaking,
 * docs/decisions.md "Admission"), keep-alive, and the actor's end removes it from the sets.
 */
export class Admission {
  /** every connection actor still running */
  readonly all = new Set<ConnectionActor>();
  /** connections that have not completed (or failed) their handshake yet */
  private readonly handshaking = new Set<ConnectionActor>();
  /** the connection machine with its socket actor, provided once (StateMachine.provide builds a new machine) */
  private readonly logic = connectionMachine.provide({ actors: { socket: socketActor } });

  /** bound once: every socket's writes wait for the durable mailbox's next write */
  private readonly releaseWrites = (writes: HeldWrites) => this.deps.writes?.afterWrite(writes);

  constructor(private readonly deps: AdmissionDeps) {}

  /** The connection no longer holds a handshake slot (registered, or released). */
  handshakeOver(actor: ConnectionActor): void {
    this.handshaking.delete(actor);
  }

  /** A new socket: bound handshake slots, then a connection actor. */
  admit(socket: net.Socket): void {
    const d = this.deps;
    const log = d.log;
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (d.stopping()) {
      socket.destroy();
      return;
    }
    socket.setKeepAlive(true, 30_000); // PROTOCOL §1.1 [REC]
    socket.setNoDelay(true);
    // Half-open handshakes must not starve admission: beyond the bound, the oldest is closed.
    if (this.handshaking.size >= d.maxHandshaking) {
      const oldest = this.handshaking.values().next();
      if (!oldest.done) {
        this.handshaking.delete(oldest.value);
        d.metrics.connectionsRefused.inc({ reason: 'handshake-slots' });
        log.warn({ peer }, 'handshake slots full; closing the oldest pending handshake');
        oldest.value.send({ type: 'KICK', reason: 'evicted' });
      }
    }
    const handle: SocketHandle = { socket, maxOutboundBytes: d.maxOutboundBytes, destroyDelayMs: 1_000 };
    if (d.writes !== undefined) handle.releaseWrites = this.releaseWrites;
    const actor = createActor(this.logic, {
      input: { peer, ports: d.ports, settings: d.settings, socket: handle },
      clock: d.clock,
    });
    d.inspection?.attach(actor);
    this.handshaking.add(actor);
    this.all.add(actor);
    actor.subscribe(new ConnectionWatch(this, actor, socket, peer));
    actor.start();
  }

  /** The actor ended (done, stopped or failed): it leaves the sets. */
  ended(actor: ConnectionActor): void {
    this.handshaking.delete(actor);
    this.all.delete(actor);
  }

  /** the `client` log category */
  get log(): Logger {
    return this.deps.log;
  }
}

/**
 * A connection actor's observer (DESIGN.md §2: every root gets `subscribe({ error })`). Methods
 * on one small object rather than closures per socket: thousands of idle phones each keep one.
 */
class ConnectionWatch {
  constructor(
    private readonly admission: Admission,
    private readonly actor: ConnectionActor,
    private readonly socket: net.Socket,
    private readonly peer: string,
  ) {}

  complete(): void {
    this.admission.ended(this.actor);
  }

  error(err: unknown): void {
    this.admission.ended(this.actor);
    this.admission.log.error({ err, peer: this.peer }, 'connection actor failed');
    this.socket.destroy();
  }
}
