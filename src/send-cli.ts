import { type Command, InvalidArgumentError } from 'commander';
import { readAdminToken } from './gateway/secrets.js';
import type { SendRecord } from './gateway/send-outcomes.js';
import type { Config } from './infra/config/schema.js';

/**
 * `msgbot-gateway send <bot> <channelId> <text>`: asks the running daemon through its admin
 * endpoint (`POST /messages`, then `GET /messages/<id>` until there is an outcome or the wait
 * is over). The CLI never talks to phones itself: only the daemon holds their connections.
 */

export interface SendCliOptions {
  device?: string;
  roomTitle?: string;
  /** seconds to wait for the outcome */
  wait: number;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

function adminBase(config: Config): string {
  if (config.admin.port === 0) {
    throw new CliError('the admin endpoint is off (admin.port 0): the CLI sends through it; set admin.port');
  }
  // a daemon listening on every address is reached on loopback
  const host = config.admin.host === '0.0.0.0' || config.admin.host === '::' ? '127.0.0.1' : config.admin.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.admin.port}`;
}

async function call(url: string, init: RequestInit, base: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
      throw new CliError(
        `the daemon is not running: nothing answers at ${base} (start it with \`msgbot-gateway serve\`)`,
      );
    }
    throw new CliError(`cannot reach the daemon at ${base}: ${(error as Error).message}`);
  }
}

async function bodyOf(res: Response): Promise<Record<string, unknown>> {
  try {
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function outcomeLine(r: SendRecord): string {
  if (r.status === 'delivered') return `delivered to ${r.deviceId ?? '?'} at ${new Date(r.at ?? 0).toISOString()}`;
  if (r.status === 'failed') return `failed: ${r.reason ?? '?'}${r.detail ? ` (${r.detail})` : ''}`;
  return `still queued after the wait (the phone may be away); ask again: GET /messages/${r.id}`;
}

/** Sends and prints the id and the outcome; returns the exit code (0 delivered, 1 failed, 3 still queued). */
export async function sendThroughDaemon(
  config: Config,
  args: { bot: string; channelId: string; text: string },
  o: SendCliOptions,
  write: (line: string) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<number> {
  const base = adminBase(config);
  const token = readAdminToken(config.dataDir, config.admin.token);
  if (token === undefined) {
    throw new CliError(
      `no admin token: set admin.token (MSGBOT_ADMIN_TOKEN), or start the daemon once with this data folder (${config.dataDir}) so it writes secrets.json`,
    );
  }
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const body: Record<string, unknown> = { bot: args.bot, channelId: args.channelId, text: args.text };
  if (o.device !== undefined) body.device = o.device;
  if (o.roomTitle !== undefined) body.roomTitle = o.roomTitle;
  const res = await call(`${base}/messages`, { method: 'POST', headers, body: JSON.stringify(body) }, base);
  const answer = await bodyOf(res);
  if (res.status !== 202) {
    throw new CliError(`the daemon refused the message (${res.status}): ${String(answer.error ?? res.statusText)}`);
  }
  let record = answer as unknown as SendRecord;
  write(`id ${record.id}`);
  const until = Date.now() + o.wait * 1000;
  while (record.status === 'queued' && Date.now() < until) {
    await sleep(250);
    const poll = await call(`${base}/messages/${encodeURIComponent(record.id)}`, { headers }, base);
    if (poll.status !== 200) break;
    record = (await bodyOf(poll)) as unknown as SendRecord;
  }
  write(outcomeLine(record));
  return record.status === 'delivered' ? 0 : record.status === 'failed' ? 1 : 3;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('not a number of seconds ≥ 0');
  return n;
}

export function registerSendCommand(program: Command, config: () => Config): void {
  program
    .command('send <bot> <channelId> <text>')
    .description('send a message to a room through the running daemon (POST /messages)')
    .option('--device <device>', 'the phone to send through (default: the one that last served the room)')
    .option('--room-title <title>', 'the room title to post by (default: from kb_rooms)')
    .option('--wait <seconds>', 'how long to wait for the outcome', seconds, 15)
    .action(async (bot: string, channelId: string, text: string, o: SendCliOptions) => {
      if (!/^\d+$/.test(channelId)) throw new InvalidArgumentError('channelId is a decimal digit string');
      process.exitCode = await sendThroughDaemon(config(), { bot, channelId, text }, o, (line) =>
        process.stdout.write(`${line}\n`),
      );
    });
}
