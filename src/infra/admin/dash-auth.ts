import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logger.js';
import { HttpError } from './routes.js';

/**
 * Dashboard sign-in (DESIGN.md §4: the admin endpoint stays private; the dashboard adds a
 * browser session on top of the admin token). A session is a random id in an HttpOnly,
 * SameSite=Strict cookie; every mutating request must also carry the session's CSRF token in
 * `x-csrf-token`. Wrong tokens are counted per address; past the limit, sign-ins are refused
 * until the window has passed.
 */

export const SESSION_COOKIE = 'msgbot_dash';
export const CSRF_HEADER = 'x-csrf-token';

export interface DashboardAuthOptions {
  token: string;
  sessionTtlMs: number;
  maxSessions: number;
  loginFailures: number;
  loginWindowMs: number;
  log: Logger;
  now?: () => number;
}

interface Session {
  csrf: string;
  expiresAt: number;
}

export type LoginResult =
  | { ok: true; cookie: string; csrf: string }
  | { ok: false; status: 401 | 429; message: string; retryAfterS?: number };

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function peerOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

export class DashboardAuth {
  private readonly sessions = new Map<string, Session>();
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(private readonly opts: DashboardAuthOptions) {
    this.now = opts.now ?? Date.now;
  }

  private recentFailures(peer: string, now: number): number[] {
    const recent = (this.failures.get(peer) ?? []).filter((t) => now - t < this.opts.loginWindowMs);
    if (recent.length === 0) this.failures.delete(peer);
    else this.failures.set(peer, recent);
    return recent;
  }

  /** POST /dash/login with the admin token. */
  login(req: IncomingMessage, given: string): LoginResult {
    const peer = peerOf(req);
    const now = this.now();
    const recent = this.recentFailures(peer, now);
    if (recent.length >= this.opts.loginFailures) {
      const retryAfterS = Math.ceil((recent[0]! + this.opts.loginWindowMs - now) / 1000);
      this.opts.log.warn({ peer, failures: recent.length }, 'dashboard sign-in refused: too many wrong tokens');
      return { ok: false, status: 429, message: 'too many wrong tokens from this address; wait', retryAfterS };
    }
    if (!sameText(given, this.opts.token)) {
      recent.push(now);
      this.failures.set(peer, recent);
      // the pruning above keeps this map to the addresses that failed within one window
      this.opts.log.warn({ peer, failures: recent.length }, 'dashboard sign-in with a wrong token');
      return { ok: false, status: 401, message: 'wrong admin token' };
    }
    this.failures.delete(peer);
    this.prune(now);
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    this.sessions.set(id, { csrf, expiresAt: now + this.opts.sessionTtlMs });
    while (this.sessions.size > this.opts.maxSessions) {
      const oldest = this.sessions.keys().next();
      if (oldest.done) break;
      this.sessions.delete(oldest.value);
    }
    this.opts.log.info({ peer }, 'dashboard signed in');
    const maxAge = Math.floor(this.opts.sessionTtlMs / 1000);
    return {
      ok: true,
      csrf,
      cookie: `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}`,
    };
  }

  private prune(now: number): void {
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }

  /** The live session of the request's cookie; undefined without one. */
  session(req: IncomingMessage): { id: string; csrf: string } | undefined {
    const id = cookieValue(req, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const s = this.sessions.get(id);
    if (s === undefined) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return { id, csrf: s.csrf };
  }

  logout(req: IncomingMessage): string {
    const id = cookieValue(req, SESSION_COOKIE);
    if (id !== undefined) this.sessions.delete(id);
    return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }

  /**
   * The admin server's `authorize` hook for token routes: a live session, plus its CSRF token on
   * every method that changes something. A cookie that names no session (forged, or expired) and
   * a missing or wrong CSRF token are refused with a clear error, and logged.
   */
  authorize(req: IncomingMessage): boolean {
    const cookie = cookieValue(req, SESSION_COOKIE);
    if (cookie === undefined) return false;
    const path = (req.url ?? '').split('?')[0];
    const s = this.session(req);
    if (s === undefined) {
      this.opts.log.warn({ peer: peerOf(req), path }, 'dashboard request with an unknown session cookie');
      throw new HttpError(401, 'session cookie not recognized (forged or expired); sign in again');
    }
    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD') return true;
    const header = req.headers[CSRF_HEADER];
    const given = typeof header === 'string' ? header : undefined;
    if (given === undefined || !sameText(given, s.csrf)) {
      this.opts.log.warn(
        { peer: peerOf(req), path, method, csrf: given === undefined ? 'missing' : 'wrong' },
        'dashboard request refused: CSRF token missing or wrong',
      );
      throw new HttpError(403, `CSRF token ${given === undefined ? 'missing' : 'wrong'}: reload the page`);
    }
    return true;
  }
}
