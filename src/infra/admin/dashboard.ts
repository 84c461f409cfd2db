import type { IncomingMessage } from 'node:http';
import { connectionMachine } from '../../actors/connection.js';
import type { Gateway } from '../../gateway/gateway.js';
import type { Loggers } from '../logger.js';
import type { Store } from '../store/types.js';
import { DashboardAuth } from './dash-auth.js';
import { DashboardFeed, type DashboardSettings } from './dash-feed.js';
import { type DashboardSchedules, type DashboardSend, dashboardRoutes } from './dash-routes.js';
import type { AdminRoute } from './routes.js';

export type { DashboardSchedules, DashboardSend } from './dash-routes.js';
export { watchStore } from './dash-store-watch.js';

/**
 * The operator's web dashboard on the admin endpoint (`/`): its routes, the session check the
 * admin server uses for token routes, and the live feed. `send` and `schedules` are optional:
 * the room page's send box and the Schedules page appear only when they are given.
 */
export interface DashboardOptions {
  gateway: Gateway;
  /** the watched store (watchStore), so list changes reach the pages */
  store: Store;
  loggers: Loggers;
  settings: DashboardSettings;
  token: string;
  send?: DashboardSend;
  schedules?: DashboardSchedules;
  now?: () => number;
}

export interface Dashboard {
  routes: AdminRoute[];
  authorize(req: IncomingMessage): boolean;
  feed: DashboardFeed;
  stop(): void;
}

export function createDashboard(opts: DashboardOptions): Dashboard {
  const { gateway, store, loggers, settings } = opts;
  const log = loggers.root.child({ area: 'dashboard' });
  const auth = new DashboardAuth({
    token: opts.token,
    sessionTtlMs: settings.sessionTtlMs,
    maxSessions: settings.maxSessions,
    loginFailures: settings.loginFailures,
    loginWindowMs: settings.loginWindowMs,
    log,
    now: opts.now,
  });
  const feed = new DashboardFeed({
    gateway,
    store,
    loggers,
    settings,
    now: opts.now,
    health: async () => {
      try {
        await store.ping();
        return { store: { ok: true } };
      } catch (error) {
        return { store: { ok: false, detail: (error as Error).message } };
      }
    },
  });
  const routes = dashboardRoutes({
    auth,
    feed,
    store,
    settings,
    log,
    connectionMachine,
    reloadStanding: () => gateway.reloadStanding(),
    send: opts.send,
    schedules: opts.schedules,
  });
  feed.start();
  return { routes, authorize: (req) => auth.authorize(req), feed, stop: () => feed.stop() };
}
