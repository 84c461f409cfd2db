import { z } from 'zod';

/**
 * Every setting of the daemon, with the seed defaults (DESIGN.md §4).
 * The env var of a key is `MSGBOT_` + its path in upper snake case (see env.ts);
 * `describe()` texts feed `config print` and the README reference.
 */

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const ms = z.number().int().nonnegative();
const level = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export const LOG_CATEGORIES = ['client', 'message', 'ping', 'dispatch', 'database', 'scheduler', 'inspect'] as const;
export type LogCategory = (typeof LOG_CATEGORIES)[number];

export const configSchema = z.object({
  host: z.string().min(1).default('0.0.0.0').describe('TCP listen address for the phones'),
  port: port.default(1485).describe('TCP listen port for the phones'),
  dataDir: z.string().min(1).default('./data').describe('folder for the SQLite file and generated secrets'),
  db: z
    .object({
      url: z
        .string()
        .regex(/^(sqlite:|mysql:\/\/)/, 'must start with sqlite: or mysql://')
        .optional()
        .describe('database URL: sqlite:<file> (default: <dataDir>/msgbot.db) or mysql://user:pass@host:3306/db'),
      connectTimeoutMs: positiveInt
        .default(3_000)
        .describe('MySQL connect timeout: bounds how long a dead database can hold up a handshake'),
      migrateRetryMs: positiveInt.default(30_000).describe('retry interval of a start-up migration that failed'),
    })
    .default({ connectTimeoutMs: 3_000, migrateRetryMs: 30_000 }),
  tls: z
    .object({
      certFile: z.string().min(1).optional().describe('PEM certificate: with keyFile, phones connect over TLS'),
      keyFile: z.string().min(1).optional().describe('PEM private key file of certFile'),
      port: port
        .optional()
        .describe(
          'TLS listen port beside the plain `port` (v3.2.x phones speak plain TCP); unset: `port` itself speaks TLS when certFile/keyFile are set',
        ),
    })
    .default({}),
  hmac: z
    .object({
      secret: z.string().min(1).optional().describe('shared secret of the bridge script (secret)'),
      salt: z.string().min(1).optional().describe('bot-specific salt of the bridge script (secret)'),
      windowMs: ms.default(300_000).describe('accepted |now - auth.timestamp| in ms (PROTOCOL §3.4)'),
    })
    .default({ windowMs: 300_000 }),
  limits: z
    .object({
      maxLineBytes: positiveInt.default(1_048_576).describe('largest client line in bytes (PROTOCOL §1.5)'),
      maxTextChars: positiveInt.default(65_000).describe('longest analyze text in characters (PROTOCOL §1.5)'),
      maxConnections: positiveInt.default(100).describe('admitted connections at once (PROTOCOL §7.2)'),
      maxHandshaking: positiveInt
        .default(200)
        .describe('connections in the handshake at once; a new socket beyond it closes the oldest pending handshake'),
      maxPendingLines: positiveInt
        .default(64)
        .describe('lines kept from behind the handshake before reading pauses (PROTOCOL §2.1)'),
      maxOutboundBytes: positiveInt
        .default(16 * 1_048_576)
        .describe('unsent reply bytes a connection may hold before it is closed as a slow consumer'),
    })
    .default({
      maxLineBytes: 1_048_576,
      maxTextChars: 65_000,
      maxConnections: 100,
      maxHandshaking: 200,
      maxPendingLines: 64,
      maxOutboundBytes: 16 * 1_048_576,
    }),
  timers: z
    .object({
      handshakeMs: positiveInt.default(10_000).describe('first line to handshakeComplete (PROTOCOL §2.6)'),
      pingIntervalMs: positiveInt.default(30_000).describe('server ping interval (PROTOCOL §7.11)'),
      pingJitterMs: ms.default(5_000).describe('largest random delay before the first ping'),
      idleMs: positiveInt.default(90_000).describe('read silence that closes a connection as a zombie (3 × ping)'),
      standingRefreshMs: positiveInt.default(5_000).describe('how often live connections re-read device standing'),
    })
    .default({
      handshakeMs: 10_000,
      pingIntervalMs: 30_000,
      pingJitterMs: 5_000,
      idleMs: 90_000,
      standingRefreshMs: 5_000,
    }),
  processing: z
    .object({
      mode: z
        .enum(['queued', 'direct'])
        .default('queued')
        .describe('queued: mailbox + workers; direct: on the connection'),
      workers: positiveInt.default(31).describe('worker actors'),
      mailboxSize: positiveInt.default(10_000).describe('accepted messages waiting across all rooms'),
      perBot: positiveInt.default(30).describe('messages of one bot in flight at once'),
      perRoom: positiveInt.default(3).describe('messages of one room in flight at once'),
      deadlineMs: positiveInt.default(300_000).describe('processing deadline of one message'),
      dedupWindowMs: ms.default(60_000).describe('window in which a repeated (channelId, logId) is dropped'),
      pairWindowMs: ms
        .default(5_000)
        .describe('window in which the listener and legacy-callback copies of one chat are one message'),
      restartLimit: positiveInt.default(5).describe('worker restarts allowed within restartWindowMs'),
      restartWindowMs: positiveInt.default(10_000).describe('window of the worker restart limit'),
      gateIdleMs: ms
        .default(10_000)
        .describe('how long an idle bot or room gate actor is kept before it is stopped (0 = at once)'),
      maxIdleGates: positiveInt.default(1_000).describe('idle room gates (and idle bot gates) kept at most'),
      errorReplies: z
        .enum(['full', 'generic', 'off'])
        .default('full')
        .describe(
          'what the chat gets when a command throws: full = the PROTOCOL §7.9 text with the error message, generic = the text without it, off = nothing (always logged)',
        ),
      stuckAfterMs: positiveInt
        .default(60_000)
        .describe('a room whose every perRoom slot is held by handlers running this long is warned about once'),
      durable: z
        .boolean()
        .default(true)
        .describe('store accepted messages in msgbot_inbox so that a crash or restart replays them'),
      replayWindowMs: ms
        .default(300_000)
        .describe('unfinished messages younger than this are replayed at start; older ones expire'),
      inboxWriteWaitMs: positiveInt
        .default(1_000)
        .describe(
          'how long accepted messages, and replies waiting for their finish, wait for a slow durable write (MySQL) before they go on anyway',
        ),
    })
    .default({
      mode: 'queued',
      workers: 31,
      mailboxSize: 10_000,
      perBot: 30,
      perRoom: 3,
      deadlineMs: 300_000,
      dedupWindowMs: 60_000,
      pairWindowMs: 5_000,
      restartLimit: 5,
      restartWindowMs: 10_000,
      gateIdleMs: 10_000,
      maxIdleGates: 1_000,
      errorReplies: 'full',
      stuckAfterMs: 60_000,
      durable: true,
      replayWindowMs: 300_000,
      inboxWriteWaitMs: 1_000,
    }),
  outbound: z
    .object({
      minGapMs: ms
        .default(1_000)
        .describe(
          "least time between two sends to one room (a handler's first reply to a message goes at once; PROTOCOL §4.4)",
        ),
      holdMs: ms
        .default(600_000)
        .describe('how long a send waits for its phone (away, or busy) before it fails as expired'),
      idleMs: ms.default(60_000).describe("how long a phone's idle, empty outbound path actor is kept"),
      maxQueued: positiveInt
        .default(1_000)
        .describe(
          "sends one phone's outbound path holds at most (phone away, or paced); more fail at once as queue-full",
        ),
      maxOutcomes: positiveInt
        .default(10_000)
        .describe('send outcomes kept in memory for GET /messages/<id> (oldest forgotten first)'),
      durable: z
        .boolean()
        .default(true)
        .describe(
          'store accepted API and scheduled sends in msgbot_outbox, so that a crash or restart re-sends them and GET /messages/<id> still answers',
        ),
      recordKeepMs: positiveInt
        .default(86_400_000)
        .describe('how long msgbot_outbox keeps a settled send (GET /messages/<id> after a restart)'),
    })
    .default({
      minGapMs: 1_000,
      holdMs: 600_000,
      idleMs: 60_000,
      maxQueued: 1_000,
      maxOutcomes: 10_000,
      durable: true,
      recordKeepMs: 86_400_000,
    }),
  admins: z
    .record(z.string().min(1), z.array(z.string().min(1)))
    .default({})
    .describe('user hashes allowed to run admin-only commands, per bot: {"demo-bot": ["<userHash>"]} (PROTOCOL §7.9)'),
  rooms: z
    .object({
      autoApprove: z.boolean().default(false).describe('approve every new room on first sight'),
    })
    .default({ autoApprove: false }),
  handlers: z.string().optional().describe('path of an operator handler module (.mjs/.js/.ts)'),
  // PROTOCOL §7.12
  scheduler: z
    .object({
      enabled: z.boolean().default(true).describe('run the kb_schedule scheduler'),
      mediaDir: z
        .string()
        .min(1)
        .optional()
        .describe("folder the 'file' image paths of kb_schedule are relative to (the web application's data folder)"),
      startDelayMs: ms.default(10_000).describe('delay of the catch-up pass after start'),
      catchUpWindowS: positiveInt
        .default(300)
        .describe('the catch-up pass takes schedules due within this many seconds'),
      maxPerPoll: positiveInt.default(10).describe('schedules taken per poll'),
      perBotGapMs: ms.default(500).describe('pause between two schedules of one bot'),
      staggerMinS: ms.default(1).describe('least seconds between the starts of two bots in a poll'),
      staggerMaxS: ms.default(10).describe('most seconds between the starts of two bots in a poll'),
      staleClaimMs: positiveInt
        .default(2_100_000)
        .describe(
          'a claimed kb_schedule row with no log row is taken over by another gateway after this long (longer than a run can take: 3 × outbound.holdMs + 5 min)',
        ),
    })
    .default({
      enabled: true,
      startDelayMs: 10_000,
      catchUpWindowS: 300,
      maxPerPoll: 10,
      perBotGapMs: 500,
      staggerMinS: 1,
      staggerMaxS: 10,
      staleClaimMs: 2_100_000,
    }),
  // PROTOCOL §7.1, §7.13
  process: z
    .object({
      name: z
        .string()
        .min(1)
        .max(100)
        .optional()
        .describe('kb_server_processes.process_name: port and type come from that row (serve --name)'),
      heartbeatMs: positiveInt.default(3_000).describe('how often the process row gets CPU, memory and last_heartbeat'),
    })
    .default({ heartbeatMs: 3_000 }),
  builtins: z
    .object({
      echo: z.boolean().default(true).describe('built-in `# echo` (PROTOCOL §7.10)'),
      clientInfo: z.boolean().default(true).describe('built-in `# client_info` (PROTOCOL §7.10)'),
      imgext: z.boolean().default(true).describe('built-in `# IMGEXT` (PROTOCOL §7.10)'),
      reload: z.boolean().default(true).describe('built-in `# reload bots-config` (PROTOCOL §7.10)'),
    })
    .default({ echo: true, clientInfo: true, imgext: true, reload: true }),
  telemetry: z
    .object({
      bufferRows: positiveInt.default(10_000).describe('telemetry rows kept while the database is away'),
      batchRows: positiveInt
        .default(500)
        .describe(
          'rows per telemetry write (on SQLite the most); a full one is written at once, the rest at the flush',
        ),
      sliceRows: positiveInt
        .default(100)
        .describe(
          'rows per telemetry write on SQLite, whose writes hold the event loop; up to batchRows to catch up a backlog',
        ),
      flushMs: positiveInt.default(1_000).describe('telemetry flush interval'),
      retentionDays: positiveInt.default(7).describe('age after which ping and system rows are deleted'),
      systemSampleMs: positiveInt.default(300_000).describe('host sample interval'),
    })
    .default({
      bufferRows: 10_000,
      batchRows: 500,
      sliceRows: 100,
      flushMs: 1_000,
      retentionDays: 7,
      systemSampleMs: 300_000,
    }),
  admin: z
    .object({
      host: z.string().min(1).default('127.0.0.1').describe('admin HTTP address (keep it private)'),
      port: port.default(9485).describe('admin HTTP port, 0 = off'),
      token: z
        .string()
        .min(16)
        .optional()
        .describe(
          'bearer token of every mutating admin route (secret; generated into <dataDir>/secrets.json if unset)',
        ),
      readyRequiresStore: z
        .boolean()
        .default(false)
        .describe('/readyz fails (503) while storage is degraded; by default it stays ready and reports degraded'),
    })
    .default({ host: '127.0.0.1', port: 9485, readyRequiresStore: false }),
  dashboard: z
    .object({
      sessionTtlMs: positiveInt.default(43_200_000).describe('how long a dashboard sign-in lasts'),
      maxSessions: positiveInt.default(50).describe('dashboard sessions kept at once (the oldest is signed out)'),
      loginFailures: positiveInt
        .default(5)
        .describe('wrong admin tokens from one address within loginWindowMs before its sign-ins are refused'),
      loginWindowMs: positiveInt.default(60_000).describe('the window of loginFailures'),
      pushMs: positiveInt.default(1_000).describe('how often the dashboard pages get fresh figures'),
      historyMinutes: positiveInt.default(15).describe('span of the overview sparklines'),
      logLines: positiveInt.default(500).describe('log lines kept in memory for the Logs page'),
      chatLines: positiveInt.default(100).describe('chat log lines a room page shows'),
      replyMemory: positiveInt.default(1_000).describe('bot replies kept in memory for the room pages'),
      maxStreams: positiveInt.default(20).describe('live dashboard pages open at once'),
      maxStreamBacklogBytes: positiveInt
        .default(4_194_304)
        .describe('unsent bytes a live page may fall behind before its stream is closed (it reconnects)'),
    })
    .default({
      sessionTtlMs: 43_200_000,
      maxSessions: 50,
      loginFailures: 5,
      loginWindowMs: 60_000,
      pushMs: 1_000,
      historyMinutes: 15,
      logLines: 500,
      chatLines: 100,
      replyMemory: 1_000,
      maxStreams: 20,
      maxStreamBacklogBytes: 4_194_304,
    }),
  log: z
    .object({
      level: level.default('info').describe('default level of every category'),
      pretty: z.boolean().default(false).describe('human-readable logs instead of JSON lines'),
      categories: z.partialRecord(z.enum(LOG_CATEGORIES), level).default({}).describe('per-category levels'),
    })
    .default({ level: 'info', pretty: false, categories: {} }),
  inspect: z
    .enum(['off', 'log', 'stately'])
    .default('off')
    .describe('actor inspection: log = JSON lines (category inspect), stately = @statelyai/inspect server'),
  shutdownMs: positiveInt.default(30_000).describe('how long in-flight handlers may run after SIGTERM'),
  serverVersion: z.string().default('1.0.0').describe('server_version sent in handshakeComplete'),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** The defaults, as a fully parsed config. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
