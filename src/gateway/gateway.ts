import type net from 'node:net';
import { type Actor, type AnyActorRef, createActor, type InspectionEvent } from 'xstate';
import { type ConnectionActor, connectionKey, connectionMachine } from '../actors/connection.js';
import {
  type ChatVerdict,
  type CloseReason,
  type ConnectionPorts,
  type ConnectionSettings,
  type Standing,
  standingOf,
} from '../actors/connection-ports.js';
import {
  type DispatcherEvent,
  type DispatcherInput,
  dispatcherMachine,
  sendInBatches,
  stopGates,
} from '../actors/dispatcher.js';
import type { Inbox } from '../actors/inbox.js';
import { type ChatMessage, type Job, type JobOutcome, roomKeyOf } from '../actors/job.js';
import { fromJobRunner } from '../actors/job-runner.js';
import type { OutboundLink } from '../actors/outbound.js';
import { ConnectionRegistry } from '../actors/registry.js';
import type { SendOutcome, SendPort } from '../actors/send.js';
import type { BotModule, ConnectionInfo, GatewayServices } from '../handlers/api.js';
import { failureFields } from '../handlers/failure-fields.js';
import type { Router } from '../handlers/router.js';
import { handleMessage } from '../handlers/runner.js';
import { routerFor } from '../handlers/setup.js';
import { type Clock, systemClock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import type { Loggers } from '../infra/logger.js';
import { createMetrics, type Metrics } from '../infra/metrics.js';
import type { Store } from '../infra/store/types.js';
import { type SocketHandle, socketActor } from '../infra/tcp/socket-actor.js';
import { ProcessSampler } from '../infra/telemetry/process-stats.js';
import { chatLogRow, pingRow } from '../infra/telemetry/rows.js';
import { TelemetryWriter } from '../infra/telemetry/writer.js';
import type { Handshake, HmacKeys, OutgoingReply } from '../protocol/index.js';
import { type ConnectionStats, connectionView, gateView } from './actors-view.js';
import { DedupWindow } from './dedup.js';
import { DeviceDirectory } from './devices.js';
import { DurableMailbox } from './durable.js';
import { PhoneListeners, type TlsPem } from './listeners.js';
import { listeningFields } from './listening.js';
import { OutboundPaths } from './outbound-paths.js';
import { PendingRoomNotices } from './pending-rooms.js';
import { ReplayHold } from './replay-hold.js';
import { RoomSaturationWatch } from './room-saturation.js';
import { RoomDirectory } from './rooms.js';
import { Sender, type SendInput } from './sender.js';
import { traceIdFactory } from './trace-id.js';

export interface GatewayOptions {
  config: Config;
  store: Store;
  loggers: Loggers;
  keys: HmacKeys;
  metrics?: Metrics;
  clock?: Clock;
  random?: () => number;
  /** operator bot modules, after the built-ins */
  bots?: BotModule[];
  /** an XState inspect observer for every actor the gateway creates */
  inspect?: (event: InspectionEvent) => void;
  /** process name written into telemetry rows */
  processName?: string;
  /** PEM key and certificate: the listener speaks TLS (clients that can; v3.2.2 phones cannot) */
  tls?: { key: Buffer; cert: Buffer };
  /** `msgbot-gateway` with the store options the daemon runs with, for the commands it logs */
  cliPrefix?: string;
  /** told of every reply written to a phone (the dashboard's room page shows the bot's replies) */
  onDelivered?: (reply: OutgoingReply, key: string) => void;
  /** the durable mailbox (DESIGN.md §2); without it accepted messages live in memory only */
  inbox?: Inbox;
}

interface LiveInfo extends ConnectionStats {
  handshake: Handshake;
  standing: Standing;
  status: string;
  maxMessageSize: number | null;
  monitoring?: { memoryUsage?: number; totalMemory?: number };
}

/**
 * The gateway (DESIGN.md §2 root): the TCP listener, one connection actor per socket, the
 * dispatcher with its workers and gates, the store-backed directories and the telemetry writer.
 * It supplies every actor's infra (ports), so the actors themselves never import infra.
 */
export class Gateway {
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly registry = new ConnectionRegistry<LiveInfo>();
  readonly telemetry: TelemetryWriter;
  readonly devices: DeviceDirectory;
  readonly rooms: RoomDirectory;
  readonly dispatcher: Actor<typeof dispatcherMachine>;
  /** one outbound path actor per phone (DESIGN.md §2) */
  readonly paths: OutboundPaths;
  /** replies, and the SendPort of scheduled and API sends (checks, outcomes, chat log) */
  readonly sender: Sender;
  private readonly handshaking = new Set<ConnectionActor>();
  /** one outbound link per registry entry (the outbound paths ask on every send) */
  private readonly links = new WeakMap<object, OutboundLink>();
  private readonly all = new Set<ConnectionActor>();
  private readonly dedup: DedupWindow;
  private readonly pairs: DedupWindow;
  private readonly durable: DurableMailbox<DispatcherEvent> | undefined;
  private readonly replayHold: ReplayHold;
  private readonly newTraceId = traceIdFactory();
  private readonly listeners: PhoneListeners;
  private readonly sampler: ProcessSampler;
  private readonly settings: ConnectionSettings;
  private readonly ports: ConnectionPorts;
  /** the connection machine with its socket actor, provided once (StateMachine.provide builds a new machine) */
  private readonly connectionLogic = connectionMachine.provide({ actors: { socket: socketActor } });
  private readonly services: GatewayServices;
  private router: Router;
  private standingTimer: unknown;
  private directRunning = 0;
  /** ENQUEUEs sent to the dispatcher; its counters say how many it has taken (see mailboxFull) */
  private enqueued = 0;
  /** events for the dispatcher from connection actions, in order (see toDispatcher) */
  private readonly outbox: DispatcherEvent[] = [];
  private stopping = false;
  /** trace ids of jobs that ended unanswered because their room is not approved (counted apart) */
  private readonly notApproved = new Set<string>();
  private readonly pendingRooms: PendingRoomNotices;
  private readonly saturation: RoomSaturationWatch;

  constructor(private readonly opts: GatewayOptions) {
    const { config, store, loggers } = opts;
    this.metrics = opts.metrics ?? createMetrics();
    // "connections by state and standing" (README Metrics): counted from the live actors when scraped
    // (prom-client runs a metric's `collect` before reading it), so no hot path keeps it current.
    (this.metrics.connections as { collect?: () => void }).collect = () => this.countConnections();
    this.clock = opts.clock ?? systemClock;
    this.devices = new DeviceDirectory(store, loggers.cat.database, this.metrics);
    this.rooms = new RoomDirectory(store, this.clock, loggers.cat.database, this.metrics, {
      autoApprove: config.rooms.autoApprove,
      // refreshed in bulk every standingRefreshMs; the ttl only catches rows that vanished
      ttlMs: 2 * config.timers.standingRefreshMs,
    });
    this.pendingRooms = new PendingRoomNotices(loggers.cat.message, opts.cliPrefix ?? 'msgbot-gateway');
    this.saturation = new RoomSaturationWatch(loggers.cat.dispatch);
    this.dedup = new DedupWindow(config.processing.dedupWindowMs);
    this.pairs = new DedupWindow(config.processing.pairWindowMs);
    this.telemetry = new TelemetryWriter({
      store,
      clock: this.clock,
      metrics: this.metrics,
      log: loggers.cat.database,
      bufferRows: config.telemetry.bufferRows,
      batchRows: config.telemetry.batchRows,
      flushMs: config.telemetry.flushMs,
    });
    this.sampler = new ProcessSampler({ clock: this.clock });
    this.replayHold = new ReplayHold(this.clock, config.processing.replayWindowMs, (messages) => {
      for (const m of messages) this.durable?.expire(m);
    });
    this.durable =
      opts.inbox === undefined
        ? undefined
        : new DurableMailbox<DispatcherEvent>({
            inbox: opts.inbox,
            clock: this.clock,
            metrics: this.metrics,
            log: loggers.cat.message,
            replayWindowMs: config.processing.replayWindowMs,
            dedupWindowMs: config.processing.dedupWindowMs,
            writeWaitMs: config.processing.inboxWriteWaitMs,
            forward: (events) => {
              for (const event of events) this.outbox.push(event);
              this.flushOutbox();
            },
          });
    this.settings = {
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
    this.services = {
      connections: () => this.connectionInfos(),
      reloadStanding: () => this.reloadStanding(),
    };
    this.router = routerFor(opts.bots ?? [], config, loggers.root);
    this.ports = this.createPorts();
    this.paths = new OutboundPaths({
      clock: this.clock,
      idleMs: config.outbound.idleMs,
      minGapMs: config.outbound.minGapMs,
      link: (key) => this.linkOf(key),
      log: loggers.cat.message,
      inspect: opts.inspect,
    });
    this.sender = new Sender({
      clock: this.clock,
      outbound: config.outbound,
      maxTextChars: config.limits.maxTextChars,
      store,
      paths: this.paths,
      chatLog: (row) => this.telemetry.chat(row),
      metrics: this.metrics,
      log: loggers.cat.message,
      standing: (botName, deviceId) => this.registry.get(connectionKey(botName, deviceId))?.info.standing,
    });
    (this.metrics.outboundQueued as { collect?: () => void }).collect = () =>
      this.metrics.outboundQueued.set(this.paths.queued());

    const p = config.processing;
    this.dispatcher = createActor(
      dispatcherMachine.provide({
        actors: {
          runJob: dispatcherRunJob(this),
        },
        actions: {
          reportOutcome: (_, params) => this.onOutcome(params.job, params.outcome, params.waitedMs, params.ranMs),
          reportRestart: (_, params) => {
            this.metrics.workerRestarts.inc();
            loggers.cat.dispatch.error({ workerId: params.workerId, err: params.error }, 'worker crashed; restarted');
          },
          reportUnhealthy: () => loggers.cat.dispatch.fatal('worker restart limit exceeded; gateway unhealthy'),
        },
      }),
      {
        input: { ...dispatcherInputOf(p), now: () => this.clock.now() },
        clock: this.clock,
        inspect: opts.inspect,
      },
    );
    this.dispatcher.subscribe({
      error: (err) => loggers.cat.dispatch.fatal({ err }, 'dispatcher failed'),
    });

    this.listeners = new PhoneListeners({
      host: config.host,
      port: config.port,
      tlsPort: config.tls.port,
      tls: opts.tls,
      handshakeMs: config.timers.handshakeMs,
      admit: (socket) => this.admit(socket),
      log: loggers.cat.client,
      metrics: this.metrics,
      clock: this.clock,
    });
  }

  /** the plain phone port (or the TLS one when `port` itself speaks TLS) */
  get port(): number {
    return this.listeners.port;
  }

  /** the TLS phone port, when TLS is on */
  get tlsPort(): number | undefined {
    return this.listeners.tlsPort;
  }

  /** Replaces the TLS certificate for new connections (SIGHUP). */
  setCertificate(pem: TlsPem): void {
    this.listeners.setCertificate(pem);
  }

  /** Swaps the operator modules (handler reload): messages already routed finish with the old ones. */
  setBots(bots: readonly BotModule[]): void {
    this.router = routerFor(bots, this.opts.config, this.opts.loggers.root);
  }

  /** The SendPort every producer of outbound messages is given (scheduler, send API). */
  get outbound(): SendPort {
    return this.sender;
  }

  /** A message to a room, for code outside a handler; resolves with the outcome (never rejects). */
  send(input: SendInput): Promise<SendOutcome> {
    return this.sender.sendInput(input);
  }

  /** The connection holding `key`, for its outbound path; undefined while the phone is away. */
  private linkOf(key: string): OutboundLink | undefined {
    const entry = this.registry.get(key);
    if (entry === undefined) return undefined;
    let link = this.links.get(entry);
    if (link === undefined) {
      const ref = entry.ref;
      const registry = this.registry;
      const onDelivered = this.opts.onDelivered;
      link = {
        get standing() {
          return entry.info.standing;
        },
        deliver: (reply, event) => {
          if (registry.get(key)?.ref !== ref) return false;
          entry.info.repliesOut++;
          ref.send({ type: 'DELIVER', reply, event });
          onDelivered?.(reply, key);
          return true;
        },
      };
      this.links.set(entry, link);
    }
    return link;
  }

  /** Starts workers, telemetry and the listener (PROTOCOL §1.1). */
  async start(): Promise<this> {
    this.dispatcher.start();
    await this.replay();
    this.telemetry.start();
    this.sampler.start();
    this.scheduleStandingRefresh();
    await this.listeners.start();
    this.opts.loggers.cat.client.info(listeningFields(this.opts.config, this.listeners), 'listening for phones');
    return this;
  }

  /**
   * DESIGN.md §2 durable mailbox: unfinished messages inside the replay window are re-queued in
   * their original order with their original trace ids; the de-duplication window is seeded from
   * the record, so a phone that re-sends after the restart is answered once.
   */
  private async replay(): Promise<void> {
    if (this.durable === undefined) return;
    const { replay, expired, keys } = await this.durable.recover(dedupKeyOf);
    for (const k of keys) {
      const key = dedupKeyOf(k);
      if (key !== undefined) this.dedup.add(key, k.receivedAt);
    }
    // handed on when their phone is back (see replayFor), so the replies find it
    this.replayHold.add(replay, (m) => connectionKey(m.botName, m.deviceId));
    this.durable.startPruning();
    this.opts.loggers.cat.dispatch.info(
      { replayed: replay.length, expired: expired.length, known: keys.length },
      'durable mailbox recovered; replayed messages wait for their phones',
    );
  }

  /** A device completed its handshake: its replayed messages go first (DESIGN.md §2). */
  private replayFor(key: string, standing: Standing): void {
    const messages = this.replayHold.take(key);
    if (messages.length === 0) return;
    if (standing !== 'full') {
      // no longer approved: never answered, like any message of a device in limited mode
      for (const m of messages) this.durable?.finish(m.traceId, 'failed');
      this.opts.loggers.cat.message.warn({ count: messages.length }, 'replayed messages dropped: device not approved');
      return;
    }
    this.metrics.durability.inc({ event: 'replayed' }, messages.length);
    this.opts.loggers.cat.dispatch.info(
      { botName: messages[0]!.botName, deviceId: messages[0]!.deviceId, replayed: messages.length },
      'replayed messages handed on',
    );
    for (const message of messages) {
      if (this.opts.config.processing.mode === 'direct') {
        this.runDirect(message);
        continue;
      }
      this.enqueued++;
      this.toDispatcher({ type: 'ENQUEUE', job: this.jobOf(message, 0) });
    }
  }

  /** Standing of live connections is re-read on the clock (within timers.standingRefreshMs). */
  private scheduleStandingRefresh(): void {
    this.standingTimer = this.clock.setTimeout(() => {
      this.checkSaturation();
      void this.reloadStanding()
        .catch(() => {})
        .finally(() => {
          if (!this.stopping) this.scheduleStandingRefresh();
        });
    }, this.opts.config.timers.standingRefreshMs);
  }

  /** Rooms whose every slot is held by a hung handler (room-saturation.ts), on the refresh tick. */
  private checkSaturation(): void {
    const p = this.opts.config.processing;
    this.saturation.check({
      now: this.clock.now(),
      perRoom: p.perRoom,
      stuckAfterMs: p.stuckAfterMs,
      workers: this.dispatcher.getSnapshot().context.workers.values(),
    });
  }

  /** A new socket: bound handshake slots (limits.maxHandshaking, docs/decisions.md "Admission"), then a connection actor. */
  private admit(socket: net.Socket): void {
    const log = this.opts.loggers.cat.client;
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.stopping) {
      socket.destroy();
      return;
    }
    socket.setKeepAlive(true, 30_000); // PROTOCOL §1.1 [REC]
    socket.setNoDelay(true);
    // Half-open handshakes must not starve admission: beyond the bound, the oldest is closed.
    if (this.handshaking.size >= this.opts.config.limits.maxHandshaking) {
      const oldest = this.handshaking.values().next();
      if (!oldest.done) {
        this.handshaking.delete(oldest.value);
        this.metrics.connectionsRefused.inc({ reason: 'handshake-slots' });
        log.warn({ peer }, 'handshake slots full; closing the oldest pending handshake');
        oldest.value.send({ type: 'KICK', reason: 'evicted' });
      }
    }
    const handle: SocketHandle = {
      socket,
      maxOutboundBytes: this.opts.config.limits.maxOutboundBytes,
      destroyDelayMs: 1_000,
    };
    const actor = createActor(this.connectionLogic, {
      input: { peer, ports: this.ports, settings: this.settings, socket: handle },
      clock: this.clock,
      inspect: this.opts.inspect,
    });
    this.handshaking.add(actor);
    this.all.add(actor);
    actor.subscribe({
      complete: () => {
        this.handshaking.delete(actor);
        this.all.delete(actor);
      },
      error: (err) => {
        this.handshaking.delete(actor);
        this.all.delete(actor);
        log.error({ err, peer }, 'connection actor failed');
        socket.destroy();
      },
    });
    actor.start();
  }

  private createPorts(): ConnectionPorts {
    const { loggers, config } = this.opts;
    const m = this.metrics;
    return {
      clock: this.clock,
      keys: this.opts.keys,
      random: this.opts.random ?? Math.random,
      newTraceId: () => this.newTraceId(this.clock.now()),
      registerDevice: (h) => this.devices.register(h),
      canAdmit: (key) => this.registry.canAdmit(key, config.limits.maxConnections),
      claim: (key, self, handshake, standing) => {
        const entry = this.registry.get(key);
        const verdictStatus = standing === 'full' ? 'approved' : 'pending';
        const previous = this.registry.claim(key, self, {
          handshake,
          standing,
          status: entry?.info.status ?? verdictStatus,
          maxMessageSize: null,
          connectedAt: this.clock.now(),
          pingsAnswered: 0,
          messagesIn: 0,
          repliesOut: 0,
        });
        this.handshaking.delete(self as ConnectionActor);
        if (previous !== undefined) {
          // PROTOCOL §2.7: the older socket is closed without a packet.
          loggers.cat.client.info({ botName: handshake.botName, deviceId: handshake.deviceId }, 'connection replaced');
          previous.ref.send({ type: 'KICK', reason: 'replaced' });
        }
        // sends held for this phone go out now (after handshakeComplete: the connection is mid-step)
        this.paths.poke(key);
      },
      release: (key, self) => {
        this.registry.release(key, self);
        this.handshaking.delete(self as ConnectionActor);
      },
      chat: (message, standing, self) => this.onChat(message, standing, self),
      pingReply: (reply) => {
        m.pingsAnswered.inc();
        if (reply.rttMs !== null) m.pingRttSeconds.observe(reply.rttMs / 1000);
        const entry = this.registry.get(connectionKey(reply.botName, reply.deviceId));
        const monitoring = reply.reply.monitoring;
        if (entry !== undefined) entry.info.lastRttMs = reply.rttMs;
        if (entry !== undefined && monitoring !== undefined) {
          entry.info.monitoring = { memoryUsage: monitoring.memory_usage, totalMemory: monitoring.total_memory };
        }
        this.telemetry.ping(
          pingRow({
            botName: reply.botName,
            deviceId: reply.deviceId,
            reply: reply.reply,
            rttMs: reply.rttMs,
            now: reply.receivedAt,
            processName: this.opts.processName ?? 'msgbot-gateway',
            server: this.sampler.stats(),
          }),
        );
        const fields = { botName: reply.botName, deviceId: reply.deviceId, rttMs: reply.rttMs };
        // the first answered ping of a connection tells the operator the phone is healthy
        if (entry !== undefined && entry.info.pingsAnswered++ === 0)
          loggers.cat.ping.info(fields, 'first ping answered');
        else loggers.cat.ping.debug(fields, 'ping reply');
      },
      ignored: (reason, detail) => {
        m.badLines.inc({ reason });
        loggers.cat.client.debug({ reason, ...identity(detail) }, 'line ignored');
      },
      authFailed: (reason, detail) => {
        m.authFailures.inc({ reason });
        loggers.cat.client.warn({ reason, ...identity(detail) }, 'packet dropped: auth failed');
      },
      sent: (event) => m.packetsOut.inc({ event }),
      received: (event) => m.packetsIn.inc({ event }),
      pingSent: () => m.pingsSent.inc(),
      closed: (reason: CloseReason, detail) => {
        m.closes.inc({ reason });
        if (reason === 'zombie') m.zombieCloses.inc();
        if (reason === 'handshake-timeout' || reason === 'handshake-invalid' || reason === 'cap-reached') {
          m.handshakes.inc({ outcome: reason });
        }
        const level = reason === 'eof' || reason === 'replaced' || reason === 'shutdown' ? 'info' : 'warn';
        loggers.cat.client[level]({ reason, ...identity(detail) }, 'connection closed');
      },
      heldBeforeHandshake: ({ peer }) => {
        m.durability.inc({ event: 'held-before-handshake' });
        loggers.cat.client.debug({ peer }, 'packet before the handshake held');
      },
      handshakeDone: ({ peer, key, handshake, verdict }) => {
        m.handshakes.inc({ outcome: 'ok' });
        this.replayFor(key, standingOf(verdict.status));
        const entry = this.registry.get(key);
        if (entry !== undefined) {
          entry.info.status = verdict.status;
          entry.info.standing = standingOf(verdict.status);
          entry.info.maxMessageSize = verdict.maxMessageSize;
        }
        const fields = {
          peer,
          botName: handshake.botName,
          deviceId: handshake.deviceId,
          version: handshake.version,
          form: handshake.form,
          status: verdict.status,
        };
        if (verdict.status === 'approved') {
          loggers.cat.client.info(fields, 'device connected');
        } else {
          loggers.cat.client.warn(
            {
              ...fields,
              approve: `${this.opts.cliPrefix ?? 'msgbot-gateway'} devices approve ${shellQuote(handshake.botName)} ${shellQuote(handshake.deviceId)}`,
            },
            'device connected in limited mode; to approve it run the command in "approve"',
          );
        }
      },
    };
  }

  /** PROTOCOL §7.7: every analyze is logged; only full-standing devices' messages are processed. */
  private onChat(message: ChatMessage, standing: Standing, self: AnyActorRef): ChatVerdict {
    const queued = this.opts.config.processing.mode === 'queued';
    // While stopping, new messages stay held at their connection (reported when it closes).
    if (this.stopping) return 'full';
    if (standing === 'full' && queued && this.mailboxFull()) {
      this.metrics.mailboxRefusals.inc();
      this.metrics.readPauses.inc();
      this.toDispatcher({ type: 'WAIT_FOR_ROOM', ref: self });
      return 'full';
    }
    const duplicate = this.duplicateOf(message);
    if (duplicate !== undefined) {
      this.metrics.duplicates.inc();
      this.opts.loggers.cat.message.debug({ traceId: message.traceId, logId: message.logId }, duplicate);
      return 'ignored';
    }
    this.telemetry.chat(chatLogRow(message, this.clock.now()));
    const live = this.registry.get(connectionKey(message.botName, message.deviceId));
    if (live !== undefined) live.info.messagesIn++;
    const log = this.opts.loggers.cat.message;
    if (standing !== 'full') {
      // PROTOCOL §7.3 limited mode: logged, room registered, never answered.
      this.metrics.messages.inc({ outcome: 'limited' });
      log.debug({ traceId: message.traceId }, 'message from a device in limited mode');
      void this.rooms.status(message);
      return 'ignored';
    }
    this.sender.served(message);
    log.debug({ traceId: message.traceId, room: message.room, channelId: message.channelId }, 'message accepted');
    this.durable?.append(message); // DESIGN.md §2: stored before the dispatcher sees it
    if (!queued) {
      this.runDirect(message);
      return 'accepted';
    }
    const job = this.jobOf(message, 0);
    this.enqueued++;
    this.toDispatcher({ type: 'ENQUEUE', job, replyTo: self });
    return 'accepted';
  }

  /**
   * Events from a connection's action reach the dispatcher once that action is done, not inside
   * it: an actor sent to synchronously from another actor's action would run its whole step
   * (gates, workers, handlers) nested in that action. The connection's verdict never waits for
   * the dispatcher — `mailboxFull()` counts what is still in the outbox — and the outbox is
   * flushed in order on the microtask queue, before any other I/O.
   */
  private toDispatcher(event: DispatcherEvent): void {
    // DESIGN.md §2: with the durable mailbox, events wait until what they carry is stored
    if (this.durable !== undefined) this.durable.push(event);
    else if (this.outbox.push(event) === 1) queueMicrotask(this.flushOutbox);
  }

  private readonly sendToDispatcher = (event: DispatcherEvent): void => this.dispatcher.send(event);

  private readonly flushOutbox = (): void => {
    try {
      // What the dispatcher's answers make connections submit meanwhile goes out in this loop too;
      // consecutive ENQUEUEs go as one ENQUEUE.BATCH (one dispatcher step).
      sendInBatches(this.outbox, this.sendToDispatcher);
    } finally {
      // xstate turns a failing step into the dispatcher's error (logged fatal); never a stuck outbox
      this.outbox.length = 0;
    }
    this.metrics.mailboxDepth.set(this.dispatcher.getSnapshot().context.waiting);
  };

  /**
   * Why a message is a copy of one already handled (the log message), or undefined.
   * PROTOCOL §4.1 [REC], §9 item 15: a packet re-sent after a failed write repeats its
   * (channelId, logId); when the app fires both the listener and the legacy callback, one chat
   * arrives twice in different forms, and whichever copy comes second within the window is dropped.
   */
  private duplicateOf(m: ChatMessage): string | undefined {
    if (m.logId !== null && m.channelId !== null) {
      const key = `${m.botName}\u0000${m.deviceId}\u0000${m.channelId}\u0000${m.logId}`;
      if (this.dedup.check(key, m.receivedAt)) {
        if (this.durable?.fromBeforeRestart(key)) this.metrics.durability.inc({ event: 'duplicate-after-restart' });
        return 'duplicate dropped';
      }
    }
    const content = `${m.botName}\u0000${m.deviceId}\u0000${m.room}\u0000${m.sender}\u0000${m.text}`;
    const mine = m.legacyCallback ? 'legacy' : 'listener';
    const other = m.legacyCallback ? 'listener' : 'legacy';
    if (this.pairs.has(`${other}\u0000${content}`, m.receivedAt)) return 'second producer copy dropped';
    this.pairs.add(`${mine}\u0000${content}`, m.receivedAt);
    return undefined;
  }

  private jobOf(message: ChatMessage, attempts: number): Job {
    return {
      id: message.traceId,
      botKey: message.botName,
      roomKey: roomKeyOf(message),
      enqueuedAt: this.clock.now(),
      attempts,
      message,
    };
  }

  /**
   * Found by a 2,000-message burst: an ENQUEUE sent while the dispatcher is busy —
   * its MAILBOX_READY makes a connection resubmit held messages synchronously — waits in the
   * dispatcher's mailbox, so `waiting` alone let a burst through that the dispatcher then refused
   * after this gateway had answered "accepted": those messages were lost without a trace.
   * ENQUEUEs not taken yet count as waiting.
   */
  private mailboxFull(): boolean {
    const ctx = this.dispatcher.getSnapshot().context;
    const taken = ctx.waiting + ctx.running + ctx.processed + ctx.failed + ctx.refused;
    return ctx.waiting + (this.enqueued - taken) >= this.opts.config.processing.mailboxSize;
  }

  /** Processing mode `direct`: the handler runs at once, outside the mailbox (processing.mode). */
  private runDirect(message: ChatMessage): void {
    const controller = new AbortController();
    const deadline = this.clock.setTimeout(
      () => controller.abort(new Error('processing deadline')),
      this.opts.config.processing.deadlineMs,
    );
    const started = this.clock.now();
    this.directRunning++;
    const job = this.jobOf(message, 1);
    this.runJob(job, controller.signal)
      .then(
        () => this.onOutcome(job, { status: 'processed' }, 0, this.clock.now() - started),
        (error: unknown) =>
          this.onOutcome(
            job,
            {
              status: 'failed',
              reason: controller.signal.aborted ? 'timeout' : 'error',
              error: error instanceof Error ? error.message : String(error),
            },
            0,
            this.clock.now() - started,
          ),
      )
      .finally(() => {
        this.clock.clearTimeout(deadline);
        this.directRunning--;
      });
  }

  /** One message through room approval and the handlers (PROTOCOL §7.7 steps 3–7). */
  async runJob(job: Job, signal: AbortSignal): Promise<void> {
    const message = job.message;
    const log = this.opts.loggers.cat.message;
    // usually known: rooms are cached and refreshed in bulk, so most messages never wait here
    const status = this.rooms.statusNow(message) ?? (await this.rooms.status(message));
    if (status !== 'approved') {
      log.debug({ traceId: message.traceId, roomStatus: status }, 'room not approved; no reply');
      this.notApproved.add(job.id);
      this.pendingRooms.notice(message, status);
      return;
    }
    const result = await handleMessage(message, {
      router: this.router,
      send: (packets, abandoned) => this.sender.replies(message, packets, abandoned),
      sendTo: (m, r) =>
        this.sender.sendInput({
          botName: m.botName,
          channelId: r.channelId,
          deviceId: r.device,
          text: r.text,
          media: r.media,
          traceId: m.traceId,
        }),
      services: this.services,
      clock: this.clock,
      replyGapMs: this.opts.config.outbound.minGapMs,
      maxTextChars: this.opts.config.limits.maxTextChars,
      signal,
      // The runner binds the trace id for ctx.log itself; `log` here would write the field twice.
      log: this.opts.loggers.cat.message,
      onTruncated: () => this.metrics.repliesTruncated.inc(),
    });
    // the handler stage of the message trace
    log.debug({ traceId: message.traceId, replies: result.replies, aborted: result.aborted }, 'handler finished');
  }

  private onOutcome(job: Job, outcome: JobOutcome, waitedMs: number, ranMs: number): void {
    const m = this.metrics;
    m.mailboxDepth.set(this.dispatcher.getSnapshot().context.waiting);
    m.gateWaitSeconds.observe(waitedMs / 1000);
    m.processingSeconds.observe((waitedMs + ranMs) / 1000);
    const log = this.opts.loggers.cat.message;
    this.durable?.finish(job.id, outcome.status);
    if (this.notApproved.delete(job.id) && outcome.status === 'processed') {
      m.messages.inc({ outcome: 'not-approved' });
    } else if (outcome.status === 'processed') {
      m.messages.inc({ outcome: 'processed' });
      log.debug({ traceId: job.id, ranMs }, 'message processed');
    } else {
      m.messages.inc({ outcome: `failed-${outcome.reason}` });
      const route = this.router.match(job.message);
      const fields = failureFields(job.message, route.kind === 'command' ? route.def.prefix : undefined);
      log.error({ ...fields, reason: outcome.reason, err: outcome.error, ranMs }, 'message failed');
    }
  }

  /** Live connections for `# client_info` and /actors. */
  connectionInfos(): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    for (const [, entry] of this.registry.entries()) {
      const info = entry.info;
      out.push({
        botName: info.handshake.botName,
        deviceId: info.handshake.deviceId,
        version: info.handshake.version,
        state: 'active',
        standing: info.standing,
        connectedAt: info.connectedAt,
        monitoring: info.monitoring,
      });
    }
    return out;
  }

  /**
   * Re-reads the standing of every live connection (within timers.standingRefreshMs of a CLI or back-office
   * change; PROTOCOL §7.10 `# reload bots-config`). Changed connections get a STANDING event.
   */
  async reloadStanding(): Promise<{ checked: number; changed: number }> {
    const live = [...this.registry.entries()];
    if (live.length === 0) return { checked: 0, changed: 0 };
    let fresh: Awaited<ReturnType<DeviceDirectory['refresh']>>;
    try {
      fresh = await this.devices.refresh(live.map(([, e]) => e.info.handshake));
    } catch (error) {
      this.metrics.storeErrors.inc({ op: 'refreshStanding' });
      this.opts.loggers.cat.database.warn({ err: error }, 'standing refresh failed; keeping the last known');
      throw error;
    }
    let changed = 0;
    for (const [key, entry] of live) {
      const known = fresh.get(key);
      if (known === undefined) continue;
      if (known.status === entry.info.status && known.maxMessageSize === entry.info.maxMessageSize) continue;
      if (known.status !== entry.info.status) changed++;
      this.opts.loggers.cat.client.info(
        {
          botName: entry.info.handshake.botName,
          deviceId: entry.info.handshake.deviceId,
          from: entry.info.status,
          to: known.status,
        },
        'device standing changed',
      );
      entry.info.status = known.status;
      entry.info.standing = standingOf(known.status);
      entry.info.maxMessageSize = known.maxMessageSize;
      entry.ref.send({ type: 'STANDING', status: known.status, maxMessageSize: known.maxMessageSize });
      this.paths.poke(key);
    }
    // the rooms of these bots are re-read in one query per bot, so messages rarely wait for a lookup
    await this.rooms.refresh(new Set(live.map(([, e]) => e.info.handshake.botName)));
    return { checked: live.length, changed };
  }

  /** Every live actor with its state (GET /actors). */
  actors(): unknown {
    const connections = [...this.all].map((actor) => {
      const snap = actor.getSnapshot();
      const entry = snap.context.key === null ? undefined : this.registry.get(snap.context.key);
      return connectionView(
        {
          id: actor.id,
          peer: snap.context.peer,
          botName: snap.context.handshake?.botName ?? null,
          deviceId: snap.context.handshake?.deviceId ?? null,
          state: snap.value,
          openedAt: snap.context.openedAt,
        },
        entry?.ref === actor ? entry.info : undefined,
      );
    });
    const d = this.dispatcher.getSnapshot();
    return {
      connections,
      dispatcher: {
        state: d.value,
        waiting: d.context.waiting,
        running: d.context.running,
        workers: Object.entries(d.children).map(([id, child]) => ({
          id,
          state: (child?.getSnapshot() as { value?: unknown } | undefined)?.value ?? null,
        })),
        botGates: [...d.context.botGates].map(([key, gate]) => gateView(key, gate)),
        roomGates: [...d.context.roomGates].map(([key, gate]) => gateView(key, gate)),
      },
      outbound: this.paths.views().map(({ key: _key, ...view }) => view),
    };
  }

  /** Sets the connections gauge from each live connection actor's state and standing. */
  private countConnections(): void {
    const gauge = this.metrics.connections;
    gauge.reset();
    for (const actor of this.all) {
      const snap = actor.getSnapshot();
      if (snap.status !== 'active') continue;
      const state = typeof snap.value === 'string' ? snap.value : 'active';
      // standing is known once the handshake is answered
      gauge.inc({ state, standing: state === 'active' ? snap.context.standing : 'unknown' });
    }
  }

  liveConnections(): number {
    return this.all.size;
  }

  /**
   * Graceful stop (PROTOCOL §7.14 closes at once; this finishes in-flight work first): stop accepting, stop reading, let running handlers finish up to
   * `deadlineMs`, flush telemetry, close sockets.
   */
  async stop(deadlineMs = this.opts.config.shutdownMs): Promise<{ unfinished: number }> {
    if (this.stopping) return { unfinished: 0 };
    this.stopping = true;
    this.clock.clearTimeout(this.standingTimer);
    const closed = this.listeners.close();
    for (const actor of this.all) actor.send({ type: 'MAILBOX_FULL' });
    await this.durable?.drain(); // stored, then handed on
    this.flushOutbox(); // what was accepted is the dispatcher's before it closes
    this.dispatcher.send({ type: 'SHUTDOWN' });
    const until = Date.now() + deadlineMs;
    // what handlers still send to connected phones may go out within the deadline too
    while (
      Date.now() < until &&
      (this.dispatcher.getSnapshot().context.running > 0 || this.directRunning > 0 || this.paths.deliverable())
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const ctx = this.dispatcher.getSnapshot().context;
    const unfinished = ctx.running + ctx.waiting + this.directRunning;
    if (unfinished > 0) {
      this.opts.loggers.cat.dispatch.warn({ running: ctx.running, waiting: ctx.waiting }, 'shutdown deadline reached');
      // DESIGN.md §4 "nothing accepted is lost silently": each abandoned message by its trace id.
      const log = this.opts.loggers.cat.message;
      for (const slot of ctx.workers.values()) {
        if (slot.job !== null) log.warn({ traceId: slot.job.id, stage: 'running' }, 'message abandoned at shutdown');
      }
      for (const queue of ctx.queues.values()) {
        for (const job of queue.jobs) log.warn({ traceId: job.id, stage: 'waiting' }, 'message abandoned at shutdown');
      }
    }
    this.paths.shutdown(); // every send still queued fails `shutdown`, with its chat-log-free outcome
    for (const actor of [...this.all]) actor.send({ type: 'KICK', reason: 'shutdown' });
    this.dispatcher.stop();
    stopGates(this.dispatcher.getSnapshot().context);
    this.sampler.stop();
    this.replayHold.stop();
    await this.durable?.stop();
    await this.telemetry.close(5_000);
    await closed;
    return { unfinished };
  }
}

/** The (bot, device, channelId, logId) de-duplication key (PROTOCOL §4.1 [REC]). */
function dedupKeyOf(k: {
  botName: string;
  deviceId: string;
  channelId: string | null;
  logId: string | null;
}): string | undefined {
  if (k.logId === null || k.channelId === null) return undefined;
  return `${k.botName}\u0000${k.deviceId}\u0000${k.channelId}\u0000${k.logId}`;
}

/** The dispatcher's settings from the `processing` config section. */
export function dispatcherInputOf(p: Config['processing']): DispatcherInput {
  return {
    capacity: p.mailboxSize,
    perBot: p.perBot,
    perRoom: p.perRoom,
    workers: p.workers,
    deadlineMs: p.deadlineMs,
    restartLimit: p.restartLimit,
    restartWindowMs: p.restartWindowMs,
    gateIdleMs: p.gateIdleMs,
    maxIdleGates: p.maxIdleGates,
  };
}

/** The workers' job runner: the signal aborts when the worker gives up (deadline, crash, stop). */
function dispatcherRunJob(gateway: Gateway) {
  return fromJobRunner(({ input, signal }) => gateway.runJob(input.job, signal));
}

/** Log fields of a connection: its bot and device instead of the internal registry key. */
function identity<T extends { key?: string }>(detail: T): Omit<T, 'key'> & { botName?: string; deviceId?: string } {
  const { key, ...rest } = detail;
  if (key === undefined) return rest;
  const [botName, deviceId] = key.split('\u0000');
  return { ...rest, botName, deviceId };
}

function shellQuote(s: string): string {
  return /^[\w.:@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
