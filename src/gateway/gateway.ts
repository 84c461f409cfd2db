import type net from 'node:net';
import { type Actor, createActor, type InspectionEvent } from 'xstate';
import { connectionKey } from '../actors/connection.js';
import type { ConnectionPorts, ConnectionSettings } from '../actors/connection-ports.js';
import { type DispatcherEvent, dispatcherMachine, stopGates } from '../actors/dispatcher.js';
import type { Inbox } from '../actors/inbox.js';
import { fromJobRunner } from '../actors/job-runner.js';
import type { OutboundLink } from '../actors/outbound.js';
import type { SendOutcome, SendPort } from '../actors/send.js';
import type { BotModule, ConnectionInfo, GatewayServices } from '../handlers/api.js';
import type { Router } from '../handlers/router.js';
import { routerFor } from '../handlers/setup.js';
import { type Clock, systemClock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import type { Loggers } from '../infra/logger.js';
import { createMetrics, type Metrics } from '../infra/metrics.js';
import type { Store } from '../infra/store/types.js';
import { ProcessSampler } from '../infra/telemetry/process-stats.js';
import { TelemetryWriter } from '../infra/telemetry/writer.js';
import type { HmacKeys, OutgoingReply } from '../protocol/index.js';
import { Admission } from './admission.js';
import { DedupWindow } from './dedup.js';
import { DeviceDirectory } from './devices.js';
import { DispatchOutbox } from './dispatch-outbox.js';
import { dispatcherInputOf } from './dispatcher-input.js';
import { DurableMailbox } from './durable.js';
import { Intake } from './intake.js';
import { actorsView, connectionInfos, countConnections } from './introspection.js';
import { JobRunning } from './job-running.js';
import { PhoneListeners, type TlsPem } from './listeners.js';
import { listeningFields } from './listening.js';
import { LiveRegistry } from './live-info.js';
import { OutboundPaths } from './outbound-paths.js';
import { PendingRoomNotices } from './pending-rooms.js';
import { connectionPorts } from './ports.js';
import { DurableReplay } from './replay.js';
import { ReplayHold } from './replay-hold.js';
import { RoomSaturationWatch } from './room-saturation.js';
import { RoomDirectory } from './rooms.js';
import { Sender, type SendInput } from './sender.js';
import { StandingRefresh } from './standing-refresh.js';
import { traceIdFactory } from './trace-id.js';

export { dispatcherInputOf };

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

/**
 * The gateway (DESIGN.md §2 root): wiring and lifecycle only. It builds the listener, the
 * connection registry, the dispatcher with its workers and gates, the store-backed directories
 * and the telemetry writer, and hands each stage of a message its dependencies: admission.ts
 * (socket → connection actor), ports.ts (what a connection is given), intake.ts (dedup, limited
 * mode, durable append, mailbox), dispatch-outbox.ts (the way to the dispatcher), job-running.ts
 * (rooms → handlers → replies → outcome), sender.ts / outbound-paths.ts (replies), replay.ts,
 * standing-refresh.ts and introspection.ts. The actors themselves never import infra.
 */
export class Gateway {
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly registry = new LiveRegistry();
  readonly telemetry: TelemetryWriter;
  readonly devices: DeviceDirectory;
  readonly rooms: RoomDirectory;
  readonly dispatcher: Actor<typeof dispatcherMachine>;
  /** one outbound path actor per phone (DESIGN.md §2) */
  readonly paths: OutboundPaths;
  /** replies, and the SendPort of scheduled and API sends (checks, outcomes, chat log) */
  readonly sender: Sender;
  /** one outbound link per registry entry (the outbound paths ask on every send) */
  private readonly links = new WeakMap<object, OutboundLink>();
  private readonly dedup: DedupWindow;
  private readonly durable: DurableMailbox<DispatcherEvent> | undefined;
  private readonly replayHold: ReplayHold;
  private readonly listeners: PhoneListeners;
  private readonly sampler: ProcessSampler;
  private readonly admission: Admission;
  private readonly outbox: DispatchOutbox;
  private readonly jobs: JobRunning;
  private readonly replays: DurableReplay;
  private readonly standing: StandingRefresh;
  private router: Router;
  private stopping = false;

  constructor(private readonly opts: GatewayOptions) {
    const { config, store, loggers } = opts;
    const p = config.processing;
    const log = loggers.cat;
    this.metrics = opts.metrics ?? createMetrics();
    const metrics = this.metrics;
    const clock = opts.clock ?? systemClock;
    this.clock = clock;
    const stopping = () => this.stopping;
    this.devices = new DeviceDirectory(store, log.database, metrics);
    this.rooms = new RoomDirectory(store, clock, log.database, metrics, {
      autoApprove: config.rooms.autoApprove,
      // refreshed in bulk every standingRefreshMs; the ttl only catches rows that vanished
      ttlMs: 2 * config.timers.standingRefreshMs,
    });
    const saturation = new RoomSaturationWatch(log.dispatch);
    this.dedup = new DedupWindow(p.dedupWindowMs);
    this.telemetry = new TelemetryWriter({
      store,
      clock,
      metrics,
      log: log.database,
      bufferRows: config.telemetry.bufferRows,
      batchRows: config.telemetry.batchRows,
      flushMs: config.telemetry.flushMs,
    });
    this.sampler = new ProcessSampler({ clock });
    this.replayHold = new ReplayHold(clock, p.replayWindowMs, (messages) => {
      for (const m of messages) this.durable?.expire(m);
    });
    this.durable =
      opts.inbox === undefined
        ? undefined
        : new DurableMailbox<DispatcherEvent>({
            inbox: opts.inbox,
            clock,
            metrics,
            log: log.message,
            replayWindowMs: p.replayWindowMs,
            dedupWindowMs: p.dedupWindowMs,
            writeWaitMs: p.inboxWriteWaitMs,
            forward: (events) => this.outbox.forward(events),
          });
    const services: GatewayServices = {
      connections: () => this.connectionInfos(),
      reloadStanding: () => this.reloadStanding(),
    };
    this.router = routerFor(opts.bots ?? [], config, loggers.root);
    this.paths = new OutboundPaths({
      clock,
      idleMs: config.outbound.idleMs,
      minGapMs: config.outbound.minGapMs,
      link: (key) => this.linkOf(key),
      log: log.message,
      inspect: opts.inspect,
    });
    this.sender = new Sender({
      clock,
      outbound: config.outbound,
      maxTextChars: config.limits.maxTextChars,
      store,
      paths: this.paths,
      chatLog: (row) => this.telemetry.chat(row),
      metrics,
      log: log.message,
      standing: (botName, deviceId) => this.registry.get(connectionKey(botName, deviceId))?.info.standing,
    });
    this.jobs = new JobRunning({
      clock,
      metrics,
      log: log.message,
      rooms: this.rooms,
      pendingRooms: new PendingRoomNotices(log.message, opts.cliPrefix ?? 'msgbot-gateway'),
      router: () => this.router,
      sender: this.sender,
      services,
      durable: this.durable,
      waiting: () => this.dispatcher.getSnapshot().context.waiting,
      deadlineMs: p.deadlineMs,
      replyGapMs: config.outbound.minGapMs,
      maxTextChars: config.limits.maxTextChars,
    });
    // "connections by state and standing" (README Metrics): counted from the live actors when scraped
    // (prom-client runs a metric's `collect` before reading it), so no hot path keeps it current.
    (metrics.connections as { collect?: () => void }).collect = () =>
      countConnections(this.admission.all, metrics.connections);
    (metrics.outboundQueued as { collect?: () => void }).collect = () =>
      metrics.outboundQueued.set(this.paths.queued());

    this.dispatcher = createActor(
      dispatcherMachine.provide({
        actors: {
          // the signal aborts when the worker gives up (deadline, crash, stop)
          runJob: fromJobRunner(({ input, signal }) => this.jobs.runJob(input.job, signal)),
        },
        actions: {
          reportOutcome: (_, params) => this.jobs.onOutcome(params.job, params.outcome, params.waitedMs, params.ranMs),
          reportRestart: (_, params) => {
            metrics.workerRestarts.inc();
            log.dispatch.error({ workerId: params.workerId, err: params.error }, 'worker crashed; restarted');
          },
          reportUnhealthy: () => log.dispatch.fatal('worker restart limit exceeded; gateway unhealthy'),
        },
      }),
      { input: { ...dispatcherInputOf(p), now: () => clock.now() }, clock, inspect: opts.inspect },
    );
    this.dispatcher.subscribe({
      error: (err) => log.dispatch.fatal({ err }, 'dispatcher failed'),
    });
    this.outbox = new DispatchOutbox({
      dispatcher: this.dispatcher,
      durable: this.durable,
      mailboxSize: p.mailboxSize,
      depth: (waiting) => metrics.mailboxDepth.set(waiting),
    });
    const runDirect = (message: Parameters<JobRunning['runDirect']>[0]) => this.jobs.runDirect(message);
    this.replays = new DurableReplay({
      clock,
      metrics,
      dispatchLog: log.dispatch,
      messageLog: log.message,
      durable: this.durable,
      dedup: this.dedup,
      hold: this.replayHold,
      mode: p.mode,
      runDirect,
      enqueue: (job) => this.outbox.enqueue(job),
    });
    const intake = new Intake({
      clock,
      metrics,
      log: log.message,
      mode: p.mode,
      dedup: this.dedup,
      pairs: new DedupWindow(p.pairWindowMs),
      durable: this.durable,
      outbox: this.outbox,
      stopping,
      chatLog: (row) => this.telemetry.chat(row),
      countIn: (message) => {
        const live = this.registry.get(connectionKey(message.botName, message.deviceId));
        if (live !== undefined) live.info.messagesIn++;
      },
      registerRoom: (message) => void this.rooms.status(message),
      served: (message) => this.sender.served(message),
      runDirect,
    });
    const ports: ConnectionPorts = connectionPorts({
      clock,
      keys: opts.keys,
      random: opts.random ?? Math.random,
      newTraceId: traceIdFactory(),
      metrics,
      loggers,
      registry: this.registry,
      devices: this.devices,
      maxConnections: config.limits.maxConnections,
      handshakeOver: (actor) => this.admission.handshakeOver(actor),
      poke: (key) => this.paths.poke(key),
      chat: (message, standing, self) => intake.chat(message, standing, self),
      handshaken: (key, standing) => this.replays.handOn(key, standing),
      pingRow: (row) => this.telemetry.ping(row),
      serverStats: () => this.sampler.stats(),
      processName: opts.processName ?? 'msgbot-gateway',
      cliPrefix: opts.cliPrefix ?? 'msgbot-gateway',
    });
    const settings: ConnectionSettings = {
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
    this.admission = new Admission({
      clock,
      metrics,
      log: log.client,
      ports,
      settings,
      maxHandshaking: config.limits.maxHandshaking,
      maxOutboundBytes: config.limits.maxOutboundBytes,
      inspect: opts.inspect,
      stopping,
    });
    this.standing = new StandingRefresh({
      clock,
      metrics,
      databaseLog: log.database,
      clientLog: log.client,
      registry: this.registry,
      devices: this.devices,
      rooms: this.rooms,
      poke: (key) => this.paths.poke(key),
      everyMs: config.timers.standingRefreshMs,
      // rooms whose every slot is held by a hung handler (room-saturation.ts), on the refresh tick
      onTick: () =>
        saturation.check({
          now: clock.now(),
          perRoom: p.perRoom,
          stuckAfterMs: p.stuckAfterMs,
          workers: this.dispatcher.getSnapshot().context.workers.values(),
        }),
      stopping,
    });
    this.listeners = new PhoneListeners({
      host: config.host,
      port: config.port,
      tlsPort: config.tls.port,
      tls: opts.tls,
      handshakeMs: config.timers.handshakeMs,
      admit: (socket) => this.admit(socket),
      log: log.client,
      metrics,
      clock,
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
    await this.replays.recover();
    this.telemetry.start();
    this.sampler.start();
    this.standing.schedule();
    await this.listeners.start();
    this.opts.loggers.cat.client.info(listeningFields(this.opts.config, this.listeners), 'listening for phones');
    return this;
  }

  /** A new socket (the listeners' admission; docs/decisions.md "Admission"). */
  private admit(socket: net.Socket): void {
    this.admission.admit(socket);
  }

  /** Live connections for `# client_info` and /actors. */
  connectionInfos(): ConnectionInfo[] {
    return connectionInfos(this.registry);
  }

  /** Re-reads the standing of every live connection (PROTOCOL §7.10 `# reload bots-config`). */
  reloadStanding(): Promise<{ checked: number; changed: number }> {
    return this.standing.reload();
  }

  /** Every live actor with its state (GET /actors). */
  actors(): unknown {
    return actorsView({
      all: this.admission.all,
      registry: this.registry,
      dispatcher: this.dispatcher,
      paths: this.paths,
    });
  }

  liveConnections(): number {
    return this.admission.all.size;
  }

  /**
   * Graceful stop (PROTOCOL §7.14 closes at once; this finishes in-flight work first): stop accepting, stop reading, let running handlers finish up to
   * `deadlineMs`, flush telemetry, close sockets.
   */
  async stop(deadlineMs = this.opts.config.shutdownMs): Promise<{ unfinished: number }> {
    if (this.stopping) return { unfinished: 0 };
    this.stopping = true;
    this.standing.stop();
    const closed = this.listeners.close();
    for (const actor of this.admission.all) actor.send({ type: 'MAILBOX_FULL' });
    await this.durable?.drain(); // stored, then handed on
    this.outbox.flush(); // what was accepted is the dispatcher's before it closes
    this.dispatcher.send({ type: 'SHUTDOWN' });
    const until = Date.now() + deadlineMs;
    // what handlers still send to connected phones may go out within the deadline too
    while (
      Date.now() < until &&
      (this.dispatcher.getSnapshot().context.running > 0 || this.jobs.directRunning > 0 || this.paths.deliverable())
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const ctx = this.dispatcher.getSnapshot().context;
    const unfinished = ctx.running + ctx.waiting + this.jobs.directRunning;
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
    for (const actor of [...this.admission.all]) actor.send({ type: 'KICK', reason: 'shutdown' });
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
