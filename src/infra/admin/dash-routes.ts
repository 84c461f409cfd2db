import { z } from 'zod';
import { toMermaid } from '../diagram.js';
import type { Logger } from '../logger.js';
import type { KnownStatus, Store } from '../store/types.js';
import type { DashboardAuth } from './dash-auth.js';
import { type ChatLine, type DashboardFeed, type DashboardSettings, kstToEpoch } from './dash-feed.js';
import { CONTENT_SECURITY_POLICY, DashboardFiles } from './dash-static.js';
import { type AdminContext, type AdminRoute, HttpError } from './routes.js';

/**
 * The dashboard's routes on the admin endpoint: the page and its files (open), sign-in (open,
 * rate-limited), and everything else behind the session (or the bearer token). Mutating routes
 * go through the admin server's `authorize`, which checks the CSRF token (dash-auth.ts).
 */

/** The outbound send API (POST /messages), when the gateway has it. */
export type DashboardSend = (req: {
  bot: string;
  channelId: string;
  text: string;
  device?: string;
}) => Promise<{ id: string; status: string }>;

/** The scheduler's store methods, when the gateway has them. */
export interface DashboardSchedules {
  list(): Promise<unknown[]>;
  add(input: {
    bot: string;
    channelId: string;
    text: string;
    kind: 'once' | 'daily' | 'weekly';
    /** once: ISO date-time; daily: HH:MM; weekly: HH:MM */
    at: string;
    /** weekly: 0 (Sunday) … 6 */
    weekday?: number;
    device?: string;
  }): Promise<unknown>;
  pause(id: string): Promise<unknown>;
  resume(id: string): Promise<unknown>;
  remove(id: string): Promise<unknown>;
}

export interface DashboardRouteDeps {
  auth: DashboardAuth;
  feed: DashboardFeed;
  store: Store;
  settings: DashboardSettings;
  log: Logger;
  /** the connection machine (its Mermaid diagram is drawn on the Actors page) */
  connectionMachine: Parameters<typeof toMermaid>[0];
  /** applies a status change to live connections at once (Gateway.reloadStanding) */
  reloadStanding(): Promise<unknown>;
  send?: DashboardSend;
  schedules?: DashboardSchedules;
}

const VERBS: Record<string, KnownStatus> = {
  approve: 'approved',
  block: 'blocked',
  revoke: 'revoked',
  deny: 'denied',
  pending: 'pending',
};

const loginSchema = z.object({ token: z.string().min(1).max(512) });
const sendSchema = z.object({ text: z.string().min(1).max(65_536), device: z.string().min(1).optional() });
const scheduleSchema = z.object({
  bot: z.string().min(1),
  channelId: z.string().regex(/^\d+$/, 'a decimal digit string'),
  text: z.string().min(1).max(65_536),
  kind: z.enum(['once', 'daily', 'weekly']),
  at: z.string().min(1),
  weekday: z.number().int().min(0).max(6).optional(),
  device: z.string().min(1).optional(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data;
}

function verbOf(ctx: AdminContext): KnownStatus {
  const st = VERBS[ctx.params.verb ?? ''];
  if (st === undefined)
    throw new HttpError(404, `unknown action ${ctx.params.verb}; use ${Object.keys(VERBS).join(', ')}`);
  return st;
}

export function dashboardRoutes(deps: DashboardRouteDeps): AdminRoute[] {
  const files = new DashboardFiles();
  const serve = (name: string) => (ctx: AdminContext) => {
    const file = files.get(name);
    ctx.res.writeHead(200, {
      'content-type': file.type,
      'content-length': file.body.length,
      'cache-control': name === 'index.html' ? 'no-store' : 'no-cache',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    ctx.res.end(ctx.head ? undefined : file.body);
    return undefined;
  };
  const routes: AdminRoute[] = [
    { method: 'GET', path: '/', auth: 'open', handle: serve('index.html') },
    { method: 'GET', path: '/dash/files/:name', auth: 'open', handle: (ctx) => serve(ctx.params.name ?? '')(ctx) },
    {
      method: 'GET',
      path: '/dash/session',
      auth: 'open',
      handle({ req }) {
        const s = deps.auth.session(req);
        return {
          status: 200,
          body: {
            signedIn: s !== undefined,
            csrf: s?.csrf ?? null,
            features: { send: deps.send !== undefined, schedules: deps.schedules !== undefined },
          },
        };
      },
    },
    {
      method: 'POST',
      path: '/dash/login',
      auth: 'open',
      async handle(ctx) {
        const { token } = parse(loginSchema, await ctx.json());
        const r = deps.auth.login(ctx.req, token);
        if (!r.ok) {
          const headers: Record<string, string> =
            r.retryAfterS === undefined ? {} : { 'retry-after': String(r.retryAfterS) };
          return { status: r.status, body: { error: r.message, retryAfterS: r.retryAfterS }, headers };
        }
        return { status: 200, body: { csrf: r.csrf }, headers: { 'set-cookie': r.cookie } };
      },
    },
    {
      method: 'POST',
      path: '/dash/logout',
      auth: 'token',
      handle: ({ req }) => ({ status: 204, headers: { 'set-cookie': deps.auth.logout(req) } }),
    },
    {
      method: 'GET',
      path: '/dash/events',
      auth: 'token',
      handle({ res }) {
        if (deps.feed.streams >= deps.settings.maxStreams) {
          throw new HttpError(
            503,
            `${deps.settings.maxStreams} dashboard pages are open already (dashboard.maxStreams)`,
          );
        }
        deps.feed.attach(res);
        return undefined;
      },
    },
    {
      method: 'POST',
      path: '/dash/devices/:bot/:device/:verb',
      auth: 'token',
      async handle(ctx) {
        const status = verbOf(ctx);
        const row = await deps.store.setDeviceStatus(
          { botName: ctx.params.bot!, deviceId: ctx.params.device! },
          status,
        );
        deps.log.info({ botName: row.botName, deviceId: row.deviceId, status }, 'device status set from the dashboard');
        await deps.reloadStanding().catch(() => {}); // the live connection follows within one refresh anyway
        await deps.feed.refreshLists();
        return { status: 200, body: row };
      },
    },
    {
      method: 'POST',
      path: '/dash/rooms/:bot/:room/status/:verb',
      auth: 'token',
      async handle(ctx) {
        const status = verbOf(ctx);
        const roomId = ctx.params.room!;
        if (!/^\d+$/.test(roomId)) throw new HttpError(400, 'room: the channel id is a decimal digit string');
        const device = ctx.url.searchParams.get('device') ?? undefined;
        const n = await deps.store.setRoomStatus(ctx.params.bot!, roomId, status, device);
        deps.log.info({ botName: ctx.params.bot, roomId, status, rows: n }, 'room status set from the dashboard');
        await deps.reloadStanding().catch(() => {});
        await deps.feed.refreshLists();
        return { status: 200, body: { changed: n } };
      },
    },
    {
      method: 'GET',
      path: '/dash/rooms/:bot/:room/history',
      auth: 'token',
      async handle(ctx) {
        const botName = ctx.params.bot!;
        const roomId = ctx.params.room!;
        const rows = await deps.store.chatHistory({ botName, roomId, limit: deps.settings.chatLines });
        const lines: ChatLine[] = rows.map((r) => ({
          botName: r.botName,
          channelId: r.channelId,
          roomName: r.roomName,
          sender: r.sender,
          message: r.message,
          at: kstToEpoch(r.at),
          fromBot: false,
        }));
        const merged = [...lines, ...deps.feed.repliesOf(botName, roomId)].sort((a, b) => a.at - b.at);
        return { status: 200, body: merged.slice(-deps.settings.chatLines) };
      },
    },
    {
      method: 'GET',
      path: '/dash/diagram',
      auth: 'token',
      handle: () => ({ status: 200, body: { mermaid: toMermaid(deps.connectionMachine) } }),
    },
  ];
  if (deps.send !== undefined) {
    const send = deps.send;
    routes.push({
      method: 'POST',
      path: '/dash/rooms/:bot/:room/send',
      auth: 'token',
      async handle(ctx) {
        const body = parse(sendSchema, await ctx.json());
        const result = await send({ bot: ctx.params.bot!, channelId: ctx.params.room!, ...body });
        deps.log.info(
          { botName: ctx.params.bot, channelId: ctx.params.room, id: result.id },
          'message sent from the dashboard',
        );
        return { status: 202, body: result };
      },
    });
  }
  if (deps.schedules !== undefined) routes.push(...scheduleRoutes(deps.schedules));
  return routes;
}

function scheduleRoutes(schedules: DashboardSchedules): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/dash/schedules',
      auth: 'token',
      handle: async () => ({ status: 200, body: await schedules.list() }),
    },
    {
      method: 'POST',
      path: '/dash/schedules',
      auth: 'token',
      handle: async (ctx) => ({ status: 201, body: await schedules.add(parse(scheduleSchema, await ctx.json())) }),
    },
    {
      method: 'POST',
      path: '/dash/schedules/:id/:action',
      auth: 'token',
      async handle(ctx) {
        const id = ctx.params.id!;
        switch (ctx.params.action) {
          case 'pause':
            return { status: 200, body: await schedules.pause(id) };
          case 'resume':
            return { status: 200, body: await schedules.resume(id) };
          case 'remove':
            return { status: 200, body: await schedules.remove(id) };
          default:
            throw new HttpError(404, 'use pause, resume or remove');
        }
      },
    },
  ];
}
