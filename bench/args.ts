import { parseArgs } from 'node:util';
import { z } from 'zod';

/** Every knob of `npm run bench`, validated once at the boundary. */
export const benchArgsSchema = z.object({
  clients: z.number().int().min(1).max(1_000).default(50),
  rooms: z.number().int().min(1).max(100_000).default(200),
  bots: z.number().int().min(1).max(1_000).default(5),
  inflight: z.number().int().min(1).max(1_000).default(4),
  seconds: z.number().positive().max(600).default(10),
  warmup: z.number().nonnegative().max(60).default(2),
  drain: z.number().positive().max(120).default(5),
  /** total analyze packets per second across all clients; absent = closed loop */
  rate: z.number().positive().max(1_000_000).optional(),
  mode: z.enum(['queued', 'direct']).default('queued'),
  json: z.boolean().default(false),
  baseline: z.boolean().default(true),
  /** also measure the in-process actor floor (bench/floor.ts) and the ceiling it implies */
  floor: z.boolean().default(true),
  /** folder for a V8 CPU profile of the gateway child (`node --cpu-prof`) */
  cpuProf: z.string().min(1).optional(),
  /** run only the micro-benchmarks (bench/micro) */
  micro: z.boolean().default(false),
  /** run only the idle-connection memory measurement with this many connected phones */
  idle: z.number().int().min(1).max(50_000).optional(),
  /** processing.durable of the gateway child (DESIGN.md §2 durable mailbox) */
  durable: z.boolean().default(true),
  /** gateway runs, each with a fresh child and database; with more than one, the medians are printed */
  repeat: z.number().int().min(1).max(20).default(1),
  /** ablation: the gateway child writes no kb_chat_logs rows (fleet.ts ServerSpec.chatLog) */
  chatLog: z.boolean().default(true),
  /** SIGKILL the gateway at this second of the load, restart it on the same data, reconnect */
  killAt: z.number().positive().max(600).optional(),
});

export type BenchArgs = z.infer<typeof benchArgsSchema>;

export const USAGE = `usage: npm run bench -- [options]
  --clients N      simulated bridge clients (default 50)
  --rooms N        channel ids the clients spread their messages over (default 200)
  --bots N         bot names the clients are spread over (default 5; the per-bot gate is 30)
  --inflight K     closed loop: messages each client keeps in flight (default 4)
  --rate N         fixed rate: N analyze packets per second in total (replaces the closed loop)
  --seconds S      measured duration (default 10)
  --warmup S       unmeasured warm-up before it (default 2)
  --drain S        at the end, a reply still missing after S s without any reply is lost (default 5)
  --mode M         gateway processing.mode: queued | direct (default queued)
  --repeat N       run the gateway N times (fresh child and database each) and print the median,
                   lowest and highest of every figure: one run here varies by ±25 % (not with
                   --kill-at, --idle or --micro)
  --no-baseline    skip the bare newline-JSON echo baseline run
  --no-floor       skip the in-process actor floor (bench/floor.ts) measured after the runs
  --no-durable     gateway without the durable mailbox (processing.durable false)
  --no-chat-log    ablation: the gateway child writes no kb_chat_logs rows (shows what the chat
                   log costs; not something an operator can configure, never the gateway's figure)
  --kill-at S      kill -9 the gateway S s into the load, restart it on the same data and port,
                   reconnect the clients; report lost and duplicated replies
  --cpu-prof DIR   CPU-profile the gateway child during the measured window into DIR, print its hot spots
  --micro          only the micro-benchmarks (framer, classifyLine v3.2/v3.3, HMAC, reply encoding, dedup)
  --idle N         only: N phones connected and idle; live heap per connection after a full GC
  --json           one machine-readable JSON object on stdout
  --help`;

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses argv (without node and script); throws with a readable message on bad input. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      clients: { type: 'string' },
      rooms: { type: 'string' },
      bots: { type: 'string' },
      inflight: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      drain: { type: 'string' },
      repeat: { type: 'string' },
      rate: { type: 'string' },
      mode: { type: 'string' },
      json: { type: 'boolean' },
      'no-baseline': { type: 'boolean' },
      'no-floor': { type: 'boolean' },
      'cpu-prof': { type: 'string' },
      micro: { type: 'boolean' },
      idle: { type: 'string' },
      'no-durable': { type: 'boolean' },
      'no-chat-log': { type: 'boolean' },
      'kill-at': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const parsed = benchArgsSchema.safeParse({
    clients: num(values.clients, 'clients'),
    rooms: num(values.rooms, 'rooms'),
    bots: num(values.bots, 'bots'),
    inflight: num(values.inflight, 'inflight'),
    seconds: num(values.seconds, 'seconds'),
    warmup: num(values.warmup, 'warmup'),
    drain: num(values.drain, 'drain'),
    repeat: num(values.repeat, 'repeat'),
    rate: num(values.rate, 'rate'),
    mode: values.mode,
    json: values.json,
    baseline: values['no-baseline'] ? false : undefined,
    floor: values['no-floor'] ? false : undefined,
    cpuProf: values['cpu-prof'],
    micro: values.micro,
    idle: num(values.idle, 'idle'),
    durable: values['no-durable'] ? false : undefined,
    chatLog: values['no-chat-log'] ? false : undefined,
    killAt: num(values['kill-at'], 'kill-at'),
  });
  if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
  return parsed.data;
}
