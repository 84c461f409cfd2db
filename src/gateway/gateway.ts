import type { Actor } from 'xstate';
import { connectionKey } from '../actors/connection.js';
import { type DispatcherEvent, type dispatcherMachine, stopGates } from '../actors/dispatcher.js';
import type { SendOutcome, SendPort } from '../actors/send.js';
import type { BotModule, ConnectionInfo, GatewayServices } from '../handlers/api.js';
import type { Router } from '../handlers/router.js';
import { routerFor } from '../handlers/setup.js';
import { type Clock, systemClock } from '../infra/clock.js';
import { createMetrics, type Metrics } from '../infra/metrics.js';
import { ProcessSampler } from '../infra/telemetry/process-stats.js';
import { TelemetryWriter } from '../infra/telemetry/writer.js';
import { Admission, connectionSettingsOf } from './admission.js';
import { DedupWindow } from './dedup.js';
import { DeviceDirectory } from './devices.js';
import { DispatchOutbox } from './dispatch-outbox.js';
import { createDispatcher, dispatcherInputOf } from './dispatcher-wiring.js';
import { type DurableMailbox, durableMailboxOf } from './durable.js';
import type { GatewayOptions } from './gateway-options.js';
import { Intake } from './intake.js';
import { actorsView, collectOnScrape, connectionInfos } from './introspection.js';
import { JobRunning } from './job-running.js';
import { ConnectionLinks } from './links.js';
import { PhoneListeners, type TlsPem } from './listeners.js';
import { listeningFields } from './listening.js';
import { LiveRegistry } from './live-info.js';
import { OutboundPaths } from './outbound-paths.js';
import { PendingRoomNotices } from './pending-rooms.js';
import { connectionPorts } from './ports.js';
import { DurableReplay } from './replay.js';
import { RoomSaturationWatch } from './room-saturation.js';
import { RoomDirectory } from './rooms.js';
import { type SendJournal, sendJournalOf } from './send-journal.js';
import { Sender, type SendInput } from './sender.js';
import { drainForShutdown } from './shutdown.js';
import { StandingRefresh } from './standing-refresh.js';
import { traceIdFactory } from './trace-id.js';

export { dispatcherInputOf, type GatewayOptions };

/**
 * The gateway (DESIGN.md §2 root): wiring and lifecycle only. It builds the listener, registry,
 * dispatcher, store-backed directories and telemetry writer, and hands each stage of a message
 * (README "Layout": admission, ports, intake, dispatch-outbox, job-running, sender, replay, …) its
 * dependencies. The actors themselves never import infra.
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
  /** the send record (msgbot_outbox); the scheduler finishes interrupted runs from it */
  readonly journal: SendJournal | undefined;
  private readonly durable: DurableMailbox<DispatcherEvent> | undefined;
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
    const dedup = new DedupWindow(p.dedupWindowMs);
    // its limits have the config's names: telemetry.bufferRows, batchRows, sliceRows, flushMs
    this.telemetry = new TelemetryWriter({ store, clock, metrics, log: log.database, ...config.telemetry });
    this.sampler = new ProcessSampler({ clock });
    this.durable = durableMailboxOf<DispatcherEvent>(opts.inbox, p, {
      clock,
      metrics,
      log: log.message,
      forward: (events) => this.outbox.forward(events),
      alsoWritten: () => this.journal?.inFlight(),
    });
    const services: GatewayServices = {
      connections: () => this.connectionInfos(),
      reloadStanding: () => this.reloadStanding(),
    };
    this.router = routerFor(opts.bots ?? [], config, loggers.root);
    const links = new ConnectionLinks(this.registry, opts.onDelivered);
    this.paths = new OutboundPaths({
      clock,
      idleMs: config.outbound.idleMs,
      minGapMs: config.outbound.minGapMs,
      maxQueued: config.outbound.maxQueued,
      link: (key) => links.of(key),
      log: log.message,
      inspection: opts.inspection,
    });
    this.journal = sendJournalOf(opts.outbox, opts.instanceId, config, { clock, metrics, log: log.message });
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
      written: this.durable,
      journal: this.journal,
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
      replayKeepMs: p.replayWindowMs + p.deadlineMs,
    });
    collectOnScrape(metrics, { all: () => this.admission.all, queued: () => this.paths.queued() });

    this.dispatcher = createDispatcher({
      processing: p,
      clock,
      metrics,
      log: log.dispatch,
      inspection: opts.inspection,
      runJob: (job, signal) => this.jobs.runJob(job, signal),
      onOutcome: (job, outcome, waitedMs, ranMs) => this.jobs.onOutcome(job, outcome, waitedMs, ranMs),
    });
    this.outbox = new DispatchOutbox({
      dispatcher: this.dispatcher,
      durable: this.durable,
      depth: (waiting) => metrics.mailboxDepth.set(waiting),
    });
    const runDirect = (message: Parameters<JobRunning['runDirect']>[0]) => this.jobs.runDirect(message);
    this.replays = new DurableReplay({
      clock,
      metrics,
      dispatchLog: log.dispatch,
      messageLog: log.message,
      durable: this.durable,
      dedup,
      replayWindowMs: p.replayWindowMs,
      mode: p.mode,
      runDirect,
      enqueue: (job) => this.outbox.enqueue(job),
    });
    const intake = new Intake({
      clock,
      metrics,
      log: log.message,
      mode: p.mode,
      dedup,
      pairs: new DedupWindow(p.pairWindowMs),
      durable: this.durable,
      outbox: this.outbox,
      stopping,
      chatLog: (row) => this.telemetry.chat(row),
      registry: this.registry,
      registerRoom: (message) => void this.rooms.status(message),
      served: (message) => this.sender.served(message),
      runDirect,
    });
    this.admission = new Admission({
      clock,
      metrics,
      log: log.client,
      ports: connectionPorts({
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
        handshaken: (key, standing, botName) => {
          this.rooms.warm(botName);
          this.replays.handOn(key, standing);
        },
        pingRow: (row) => this.telemetry.ping(row),
        serverStats: () => this.sampler.stats(),
        processName: opts.processName ?? 'msgbot-gateway',
        cliPrefix: opts.cliPrefix ?? 'msgbot-gateway',
      }),
      settings: connectionSettingsOf(config),
      maxHandshaking: config.limits.maxHandshaking,
      maxOutboundBytes: config.limits.maxOutboundBytes,
      inspection: opts.inspection,
      writes: this.durable,
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
      saturation: new RoomSaturationWatch(log.dispatch),
      processing: p,
      workers: () => this.dispatcher.getSnapshot().context.workers.values(),
    });
    this.listeners = new PhoneListeners({
      host: config.host,
      port: config.port,
      tlsPort: config.tls.port,
      tls: opts.tls,
      handshakeMs: config.timers.handshakeMs,
      admit: (socket) => this.admission.admit(socket), // docs/decisions.md "Admission"
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

  /** Starts workers, telemetry and the listener (PROTOCOL §1.1). */
  async start(): Promise<this> {
    this.dispatcher.start();
    const replayed = await this.replays.recover(); // their handlers run again: see the next two lines
    await this.journal?.recover((record) => this.sender.resubmit(record), replayed);
    this.jobs.replayedSends.load((await this.journal?.deliveredOf(replayed)) ?? []); // not sent twice
    this.telemetry.start();
    this.sampler.start();
    this.standing.schedule();
    await this.listeners.start();
    this.opts.loggers.cat.client.info(listeningFields(this.opts.config, this.listeners), 'listening for phones');
    return this;
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

  /** Graceful stop (PROTOCOL §7.14 closes at once): handlers finish up to `deadlineMs`, then close. */
  async stop(deadlineMs = this.opts.config.shutdownMs): Promise<{ unfinished: number }> {
    if (this.stopping) return { unfinished: 0 };
    this.stopping = true;
    this.standing.stop();
    const closed = this.listeners.close();
    for (const actor of this.admission.all) actor.send({ type: 'MAILBOX_FULL' });
    await this.durable?.drain(); // stored, then handed on
    this.outbox.flush(); // what was accepted is the dispatcher's before it closes
    this.dispatcher.send({ type: 'SHUTDOWN' });
    const unfinished = await drainForShutdown(
      {
        dispatcher: this.dispatcher,
        directRunning: () => this.jobs.directRunning,
        deliverable: () => this.paths.deliverable(),
        loggers: this.opts.loggers,
      },
      deadlineMs,
    );
    this.paths.shutdown(); // every send still queued fails `shutdown`, with its chat-log-free outcome
    for (const actor of [...this.admission.all]) actor.send({ type: 'KICK', reason: 'shutdown' });
    this.dispatcher.stop();
    stopGates(this.dispatcher.getSnapshot().context);
    this.sampler.stop();
    this.replays.stop();
    this.jobs.replayedSends.stop();
    this.journal?.stop();
    await this.durable?.stop();
    await this.telemetry.close(5_000);
    await closed;
    return { unfinished };
  }
}
