import { type StatusBody, statusBodySchema } from './infra/admin/status-route.js';
import type { Config } from './infra/config/schema.js';

/**
 * The CLI's view of the running daemon, through its admin endpoint (`GET /status`): the
 * `status` command, and the ONLINE column of `devices list` / `rooms list`.
 */

/** http://<admin.host>:<admin.port>; undefined when the admin endpoint is off. */
export function adminBaseUrl(config: Config): string | undefined {
  if (config.admin.port === 0) return undefined;
  const host = config.admin.host === '0.0.0.0' || config.admin.host === '' ? '127.0.0.1' : config.admin.host;
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${config.admin.port}`;
}

export type StatusAnswer = { ok: true; url: string; body: StatusBody } | { ok: false; url?: string; reason: string };

export async function fetchStatus(config: Config, timeoutMs = 2_000): Promise<StatusAnswer> {
  const base = adminBaseUrl(config);
  if (base === undefined) return { ok: false, reason: 'the admin endpoint is off (admin.port 0)' };
  const url = `${base}/status`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { ok: false, url, reason: `HTTP ${res.status}` };
    const parsed = statusBodySchema.safeParse(await res.json());
    if (!parsed.success) return { ok: false, url, reason: `unexpected answer: ${parsed.error.message}` };
    return { ok: true, url, body: parsed.data };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, url, reason: cause ?? (error instanceof Error ? error.message : String(error)) };
  }
}

export interface OnlineView {
  /** true/false from the daemon; undefined when it did not answer */
  device(botName: string, deviceId: string): boolean | undefined;
  /** any device of the bot connected */
  bot(botName: string): boolean | undefined;
  text(online: boolean | undefined): string;
}

export function onlineView(answer: StatusAnswer): OnlineView {
  const live = answer.ok ? new Set(answer.body.connections.map((c) => `${c.botName}\u0000${c.deviceId}`)) : undefined;
  const bots = answer.ok ? new Set(answer.body.connections.map((c) => c.botName)) : undefined;
  return {
    device: (b, d) => live?.has(`${b}\u0000${d}`),
    bot: (b) => bots?.has(b),
    text: (o) => (o === undefined ? '?' : o ? 'yes' : 'no'),
  };
}

function kst(ms: number): string {
  return new Date(ms + 9 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** The `status` command's text. */
export function formatStatus(url: string, s: StatusBody): string {
  const out: string[] = [];
  out.push(`daemon: ${url} (up since ${kst(s.startedAt)} KST), store ${s.store}`);
  out.push(`mailbox: ${s.mailbox.waiting} waiting, ${s.mailbox.running} running (capacity ${s.mailbox.capacity})`);
  out.push(`connections: ${s.connections.length}`);
  for (const c of s.connections) {
    out.push(`  ${c.botName}  ${c.deviceId}  ${c.standing}  v${c.version}  since ${kst(c.connectedAt)} KST`);
  }
  if (s.pending.error !== null) out.push(`pending: the store could not be read (${s.pending.error})`);
  out.push(`pending devices: ${s.pending.devices.length}`);
  for (const d of s.pending.devices) out.push(`  ${d.botName}  ${d.deviceId}    ${d.approve}`);
  out.push(`pending rooms: ${s.pending.rooms.length}`);
  for (const r of s.pending.rooms)
    out.push(`  ${r.botName}  ${r.channelId}  ${r.deviceId}  ${r.roomName}    ${r.approve}`);
  out.push(`last errors: ${s.lastErrors.length}`);
  for (const e of s.lastErrors) {
    const { at, level, msg, ...rest } = e;
    const extra = Object.keys(rest).length > 0 ? `  ${JSON.stringify(rest)}` : '';
    out.push(`  ${kst(at)} KST  ${level}  ${msg}${extra}`);
  }
  return `${out.join('\n')}\n`;
}
