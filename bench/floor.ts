import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type AnyActorLogic, createActor, fromCallback } from 'xstate';
import { z } from 'zod';
import {
  type ConnectionActor,
  type ConnectionEvent,
  connectionMachine,
  type SocketCommand,
  type SocketInput,
} from '../src/actors/connection.js';
import type { ConnectionPorts, ConnectionSettings } from '../src/actors/connection-ports.js';
import { type DispatcherInput, dispatcherMachine, type OutcomeReport } from '../src/actors/dispatcher.js';
import { type ChatMessage, type Job, roomKeyOf } from '../src/actors/job.js';
import { fromJobRunner } from '../src/actors/job-runner.js';
import { dispatcherInputOf } from '../src/gateway/gateway.js';
import { systemClock } from '../src/infra/clock.js';
import { configSchema } from '../src/infra/config/schema.js';
import { messageResponseLine, type OutgoingReply } from '../src/protocol/index.js';

/**
 * The actor floor: the CPU cost per message of the actor steps the design mandates for a queued
 * message (DESIGN.md §2), in-process, with the REAL machines from src/actors and nothing else —
 * no sockets, no store, no HMAC, no JSON parsing of packets:
 *
 *   (a) dispatcher round trip: ENQUEUE → bot/room gate ACQUIRE → START to a worker → the worker
 *       sends RUN to its long-lived runner child (under its `after` deadline) → RUN.DONE →
 *       WORKER.DONE → RELEASE,
 *       closed loop with 200 in flight over 200 rooms and 5 bots;
 *   (b) connection DELIVER → WRITE to its socket child (includes encoding the messageResponse
 *       line, which the `deliver` action does; that encoding is also timed alone);
 *   (c) connection LINE with a blank line (classified `empty` and ignored: the event's cost with
 *       next to no application work).
 *
 * (a)+(b)+(c) is the floor per message; 1e6 / floor is the most replies/s one core could do if
 * all other work (framing, JSON, HMAC, dedup, logging, handlers, syscalls) were free.
 *
 * Stage (a) costs about ten times (b) or (c), so it runs fewer messages (`roundTrips`) to keep
 * the default run under ~20 s.
 *
 *   npx tsx bench/floor.ts [--messages N] [--round-trips N] [--dispatcher-input JSON] [--json]
 */

export interface StageResult {
  messages: number;
  /** process CPU time (user + system) per message */
  cpuUs: number;
  /** wall-clock time per message */
  wallUs: number;
}

export interface FloorResult {
  node: string;
  /** 1-minute load average when the run ended (other processes compete for the cores) */
  loadAverage: number;
  /** messages per measured loop of (b) and (c) */
  messages: number;
  /** messages per run of (a) and of the pipeline check */
  roundTrips: number;
  /** what the dispatcher was started with */
  dispatcherInput: DispatcherInput;
  /** (a) ENQUEUE → gates → worker → runJob → WORKER.DONE → RELEASE (second of two runs) */
  dispatcher: StageResult;
  /** (b) DELIVER → socket WRITE, messageResponseLine included */
  deliver: StageResult;
  /** (c) LINE of a blank line on an active connection */
  line: StageResult;
  /** (a)+(b)+(c), CPU µs per message */
  totalUs: number;
  /** 1e6 / totalUs: replies/s one core could do if everything else were free */
  ceilingPerSecond: number;
  /** for reference: messageResponseLine alone (already inside `deliver`), CPU µs per call */
  encodeUs: number;
  /** cross-check: (a) with runJob sending DELIVER to the connection, i.e. (a)+(b) measured together */
  pipeline: StageResult;
}

export interface FloorOptions {
  /** messages per measured loop of (b) and (c) (default 100,000) */
  messages?: number;
  /** messages per run of (a) and of the pipeline check (default min(messages, 30,000)) */
  roundTrips?: number;
  /** merged over the gateway-like dispatcher input (e.g. to try other gate or pool settings) */
  dispatcherInput?: Partial<DispatcherInput>;
}

// ---------------------------------------------------------------------------------------------
// Fixed shapes, as the gateway uses them

/** The dispatcher input the gateway builds from the default config (processing.*). */
const DISPATCHER_INPUT: DispatcherInput = dispatcherInputOf(configSchema.parse({}).processing);

/** `--dispatcher-input`: numeric dispatcher settings to try instead of the defaults. */
const dispatcherOverrides = z
  .object({
    capacity: z.number().int().positive(),
    perBot: z.number().int().positive(),
    perRoom: z.number().int().positive(),
    workers: z.number().int().positive(),
    deadlineMs: z.number().int().positive(),
    restartLimit: z.number().int().positive(),
    restartWindowMs: z.number().int().positive(),
    gateIdleMs: z.number().int().nonnegative(),
    maxIdleGates: z.number().int().positive(),
  })
  .partial()
  .strict();
const IN_FLIGHT = 200;
const ROOMS = 200;
const BOTS = 5;

/** Timers of the active state pushed far out, so no ping or idle check fires during a run. */
const SETTINGS: ConnectionSettings = {
  handshakeMs: 10_000,
  pingIntervalMs: 3_600_000,
  pingJitterMs: 3_600_000,
  idleMs: 3_600_000,
  maxLineBytes: 1_048_576,
  maxTextChars: 65_000,
  maxPendingLines: 64,
  hmacWindowMs: 300_000,
  serverVersion: 'bench',
};

/** A bare v3.2 handshake (PROTOCOL §2.3). */
const HANDSHAKE = Buffer.from(
  '{"clientType":"MessengerBotR","botName":"bench-bot-0","version":"3.2.1","deviceID":"floor","deviceIP":"127.0.0.1","deviceInfo":"bench"}',
  'utf8',
);

/** What the socket child emits for a blank line on the wire (the framer strips the newline). */
const BLANK = Buffer.alloc(0);

const REPLY: OutgoingReply = { room: 'Room 0', channelId: '10000000000000000', botName: 'bench-bot-0', text: 'echo' };

function messageFor(room: number): ChatMessage {
  return {
    traceId: '',
    receivedAt: 0,
    botName: `bench-bot-${room % BOTS}`,
    deviceId: 'floor',
    packetBotName: `bench-bot-${room % BOTS}`,
    room: `Room ${room}`,
    channelId: String(10_000_000_000_000_000n + BigInt(room)),
    logId: null,
    text: '# echo hi',
    sender: 'bench',
    isGroupChat: true,
    isMention: false,
    userHash: null,
    timestamp: '2025-07-24 14:03:27',
    protocol: 'v3.2',
    legacyCallback: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Timing

async function timed(messages: number, run: () => Promise<void> | void): Promise<StageResult> {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  await run();
  const wallNs = Number(process.hrtime.bigint() - wall0);
  const cpu = process.cpuUsage(cpu0);
  return {
    messages,
    cpuUs: (cpu.user + cpu.system) / messages,
    wallUs: wallNs / 1000 / messages,
  };
}

// ---------------------------------------------------------------------------------------------
// Connection side: the real machine, active, over a socket child that only counts

interface WriteCounter {
  writes: number;
}

/** Like the real socket actor (src/infra/tcp/socket-actor.ts): direct writes through `out`, WRITE events too. */
const countingSocket = fromCallback<SocketCommand, SocketInput>(({ input, receive }) => {
  const counter = input.socket as WriteCounter;
  if (input.out !== undefined) input.out.write = () => void counter.writes++;
  receive((command) => {
    if (command.type === 'WRITE') counter.writes++;
  });
  return () => {};
});

function stubPorts(): ConnectionPorts {
  const noop = () => {};
  return {
    clock: systemClock,
    keys: { secret: 'bench-secret', salt: 'bench-salt' },
    random: () => 0.99,
    newTraceId: () => 'trace',
    registerDevice: async () => ({ status: 'approved', message: 'approved', maxMessageSize: null }),
    canAdmit: () => true,
    claim: noop,
    release: noop,
    chat: () => 'accepted',
    pingReply: noop,
    ignored: noop,
    authFailed: noop,
    sent: noop,
    received: noop,
    pingSent: noop,
    closed: noop,
    handshakeDone: noop,
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A connection actor brought to `active` (handshake written); throws if it does not get there. */
async function activeConnection(): Promise<{ actor: ConnectionActor; counter: WriteCounter }> {
  const counter: WriteCounter = { writes: 0 };
  const actor = createActor(connectionMachine.provide({ actors: { socket: countingSocket } }), {
    input: { peer: '127.0.0.1:0', ports: stubPorts(), settings: SETTINGS, socket: counter },
  });
  let failure: unknown;
  actor.subscribe({ error: (error) => (failure = error) });
  actor.start();
  actor.send({ type: 'LINE', line: HANDSHAKE });
  for (let i = 0; i < 100 && !actor.getSnapshot().matches('active'); i++) await tick();
  if (failure !== undefined) throw failure;
  if (!actor.getSnapshot().matches('active') || counter.writes !== 1) {
    throw new Error(`connection did not become active (state ${JSON.stringify(actor.getSnapshot().value)})`);
  }
  return { actor, counter };
}

function expectWrites(stage: string, counter: WriteCounter, before: number, messages: number): void {
  const got = counter.writes - before;
  if (got !== messages) throw new Error(`${stage}: ${messages} messages produced ${got} WRITEs`);
}

/**
 * One event sent `messages` times to an active connection (after as many warm-up sends), timed;
 * checks the WRITEs each send must produce and that the connection stayed active.
 */
async function connectionStage(
  stage: string,
  messages: number,
  event: ConnectionEvent,
  writesPerEvent: number,
): Promise<StageResult> {
  const { actor, counter } = await activeConnection();
  const warm = Math.min(messages, 20_000);
  for (let i = 0; i < warm; i++) actor.send(event);
  await tick();
  const before = counter.writes;
  const result = await timed(messages, async () => {
    for (let i = 0; i < messages; i++) actor.send(event);
    await tick();
  });
  expectWrites(stage, counter, before, messages * writesPerEvent);
  if (!actor.getSnapshot().matches('active')) throw new Error(`${stage}: the connection left \`active\``);
  actor.stop();
  return result;
}

/** (b): DELIVER → WRITE, `messages` times. */
const deliverStage = (messages: number) => connectionStage('deliver', messages, { type: 'DELIVER', reply: REPLY }, 1);

/** (c): a blank LINE on an active connection, `messages` times; it writes nothing. */
const lineStage = (messages: number) => connectionStage('line', messages, { type: 'LINE', line: BLANK }, 0);

/** messageResponseLine alone, as `deliver` calls it. */
function encodeStage(messages: number): number {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += messageResponseLine(REPLY, 'v3.2', Date.now()).length;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < messages; i++) sink += messageResponseLine(REPLY, 'v3.2', Date.now()).length;
  const cpu = process.cpuUsage(cpu0);
  if (sink === 0) throw new Error('encode: nothing encoded');
  return (cpu.user + cpu.system) / messages;
}

// ---------------------------------------------------------------------------------------------
// Dispatcher side: the real machine, a closed loop of IN_FLIGHT messages

/**
 * Runs `messages` jobs through a fresh dispatcher, keeping IN_FLIGHT accepted and unfinished:
 * each outcome enqueues the next job (from the dispatcher's reportOutcome, as the gateway hears
 * of outcomes). `runJob` is the workers' long-lived runner logic.
 */
async function dispatcherStage(messages: number, input: DispatcherInput, runJob: AnyActorLogic): Promise<StageResult> {
  const rooms = Array.from({ length: ROOMS }, (_, i) => messageFor(i));
  const roomKeys = rooms.map((m) => roomKeyOf(m));
  let sent = 0;
  let done = 0;
  let failed = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const dispatcher = createActor(
    dispatcherMachine.provide({
      actors: { runJob },
      actions: {
        reportOutcome: (_, report: OutcomeReport) => {
          done++;
          if (report.outcome.status !== 'processed') failed++;
          if (sent < messages) enqueueNext();
          else if (done === messages) finish();
        },
      },
    }),
    { input },
  );
  let failure: unknown;
  dispatcher.subscribe({
    error: (error) => {
      failure = error;
      finish();
    },
  });
  const enqueueNext = () => {
    const room = sent % ROOMS;
    const message = rooms[room]!;
    const job: Job = {
      id: `job-${sent}`,
      botKey: message.botName,
      roomKey: roomKeys[room]!,
      enqueuedAt: 0,
      attempts: 0,
      message,
    };
    sent++;
    dispatcher.send({ type: 'ENQUEUE', job });
  };
  dispatcher.start();
  const result = await timed(messages, async () => {
    for (let i = 0; i < Math.min(IN_FLIGHT, messages); i++) enqueueNext();
    await finished;
  });
  if (failure !== undefined) throw failure;
  const ctx = dispatcher.getSnapshot().context;
  if (done !== messages || failed !== 0 || ctx.processed !== messages || ctx.refused !== 0) {
    throw new Error(`dispatcher: ${done}/${messages} done, ${failed} failed, ${ctx.refused} refused`);
  }
  for (const gate of [...ctx.roomGates.values(), ...ctx.botGates.values()]) {
    if (gate.getSnapshot().context.inFlight !== 0) throw new Error('dispatcher: a gate slot was never released');
  }
  dispatcher.stop();
  return result;
}

// ---------------------------------------------------------------------------------------------

export async function measureActorFloor(options: FloorOptions = {}): Promise<FloorResult> {
  const messages = options.messages ?? 100_000;
  const roundTrips = options.roundTrips ?? Math.min(messages, 30_000);
  for (const [name, n] of [
    ['messages', messages],
    ['roundTrips', roundTrips],
  ] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${n}`);
  }
  const input: DispatcherInput = { ...DISPATCHER_INPUT, ...options.dispatcherInput };

  // (a) twice: the first run warms the JIT, the second is kept.
  const resolveNow = fromJobRunner(async () => {});
  await dispatcherStage(roundTrips, input, resolveNow);
  const dispatcher = await dispatcherStage(roundTrips, input, resolveNow);

  const deliver = await deliverStage(messages);
  const line = await lineStage(messages);
  const encodeUs = encodeStage(messages);

  // Cross-check: the same loop with a runJob that only sends DELIVER to an active connection.
  const { actor: connection, counter } = await activeConnection();
  const delivering = fromJobRunner(async () => {
    connection.send({ type: 'DELIVER', reply: REPLY });
  });
  const before = counter.writes;
  const pipeline = await dispatcherStage(roundTrips, input, delivering);
  await tick();
  expectWrites('pipeline', counter, before, roundTrips);
  connection.stop();

  const totalUs = dispatcher.cpuUs + deliver.cpuUs + line.cpuUs;
  return {
    node: process.version,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
    messages,
    roundTrips,
    dispatcherInput: input,
    dispatcher,
    deliver,
    line,
    totalUs,
    ceilingPerSecond: Math.round(1e6 / totalUs),
    encodeUs,
    pipeline,
  };
}

function formatResult(r: FloorResult): string {
  const us = (n: number) => n.toFixed(2).padStart(9);
  const row = (label: string, s: StageResult) => `${label.padEnd(52)}${us(s.cpuUs)}${us(s.wallUs)}`;
  return [
    `actor floor per queued message — node ${r.node}, load ${r.loadAverage}; ` +
      `${r.roundTrips.toLocaleString('en-US')} messages for (a), ${r.messages.toLocaleString('en-US')} for (b) and (c)`,
    `${''.padEnd(52)}${'CPU µs'.padStart(9)}${'wall µs'.padStart(9)}`,
    row(`(a) dispatcher round trip, ${IN_FLIGHT} in flight`, r.dispatcher),
    row('(b) connection DELIVER → socket WRITE', r.deliver),
    `${'      of which messageResponseLine alone'.padEnd(52)}${us(r.encodeUs)}`,
    row('(c) connection LINE (blank, ignored)', r.line),
    `${'floor (a)+(b)+(c)'.padEnd(52)}${us(r.totalUs)}`,
    `${'ceiling 1e6 / floor'.padEnd(52)}${r.ceilingPerSecond.toLocaleString('en-US').padStart(9)} replies/s on one core`,
    `${'check: (a)+(b) in one loop (runJob → DELIVER)'.padEnd(52)}${us(r.pipeline.cpuUs)}${us(r.pipeline.wallUs)}` +
      `   sum of parts ${(r.dispatcher.cpuUs + r.deliver.cpuUs).toFixed(2)}`,
    'every DELIVER produced exactly one WRITE; every job was processed; all gates released',
  ].join('\n');
}

const USAGE = `usage: npx tsx bench/floor.ts [options]
  --messages N             messages per measured loop of (b) and (c) (default 100000)
  --round-trips N          messages per run of (a) and of the check (default min(messages, 30000))
  --dispatcher-input JSON  merged over the dispatcher input, e.g. '{"workers":8}'
  --json                   one JSON object on stdout`;

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      messages: { type: 'string' },
      'round-trips': { type: 'string' },
      'dispatcher-input': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const options: FloorOptions = {};
  const messages = positive(values.messages, 'messages');
  const roundTrips = positive(values['round-trips'], 'round-trips');
  if (messages !== undefined) options.messages = messages;
  if (roundTrips !== undefined) options.roundTrips = roundTrips;
  if (values['dispatcher-input'] !== undefined) {
    const parsed = dispatcherOverrides.safeParse(JSON.parse(values['dispatcher-input']));
    if (!parsed.success) throw new Error(`--dispatcher-input: ${z.prettifyError(parsed.error)}`);
    options.dispatcherInput = parsed.data;
  }
  const result = await measureActorFloor(options);
  console.log(values.json ? JSON.stringify(result) : formatResult(result));
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      console.error(USAGE);
      process.exitCode = 1;
    },
  );
}
