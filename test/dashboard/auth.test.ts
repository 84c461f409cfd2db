import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardAuth } from '../../src/infra/admin/dash-auth.js';
import { silentLoggers } from '../../src/infra/logger.js';
import { ADMIN_TOKEN, type DashboardGateway, startDashboardGateway } from './harness.js';

let g: DashboardGateway;
beforeAll(async () => {
  g = await startDashboardGateway();
});
afterAll(() => g.stop());

async function login(token: string, from?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (from !== undefined) headers['x-test'] = from;
  return fetch(`${g.url}/dash/login`, { method: 'POST', headers, body: JSON.stringify({ token }) });
}

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const r = await login(ADMIN_TOKEN);
  expect(r.status).toBe(200);
  const setCookie = r.headers.get('set-cookie') ?? '';
  const { csrf } = (await r.json()) as { csrf: string };
  return { cookie: setCookie.split(';')[0]!, csrf };
}

describe('dashboard sign-in over HTTP', () => {
  it('serves the page and its files from the gateway, with a same-origin content policy', async () => {
    const page = await fetch(`${g.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('/dash/files/app.js');
    for (const name of ['app.js', 'pages.js', 'pages-ops.js', 'ui.js', 'i18n.js', 'app.css', 'mermaid.min.js']) {
      expect((await fetch(`${g.url}/dash/files/${name}`)).status, name).toBe(200);
    }
    expect((await fetch(`${g.url}/dash/files/..%2F..%2Fdashboard.ts`)).status).toBe(404);
    expect((await fetch(`${g.url}/dash/files/secrets.json`)).status).toBe(404);
  });

  it('a right token gives an HttpOnly, SameSite=Strict session; the data needs it', async () => {
    expect((await fetch(`${g.url}/dash/diagram`)).status).toBe(401);
    const r = await login(ADMIN_TOKEN);
    expect(r.status).toBe(200);
    const setCookie = r.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^msgbot_dash=[\w-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    const cookie = setCookie.split(';')[0]!;
    const diagram = await fetch(`${g.url}/dash/diagram`, { headers: { cookie } });
    expect(diagram.status).toBe(200);
    expect(((await diagram.json()) as { mermaid: string }).mermaid).toContain('stateDiagram');
    const session = (await (await fetch(`${g.url}/dash/session`, { headers: { cookie } })).json()) as {
      signedIn: boolean;
    };
    expect(session.signedIn).toBe(true);
  });

  it('a forged cookie is refused clearly and logged', async () => {
    const r = await fetch(`${g.url}/dash/diagram`, { headers: { cookie: 'msgbot_dash=forged-value' } });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: string }).error).toMatch(/not recognized/);
    expect(g.logs.some((l) => l.msg === 'dashboard request with an unknown session cookie')).toBe(true);
  });

  it('a mutating request without the CSRF token (or with a wrong one) is refused and logged; with it, it works', async () => {
    const { cookie, csrf } = await signIn();
    const path = `${g.url}/dash/devices/demo-bot/phone-9/approve`;
    const missing = await fetch(path, { method: 'POST', headers: { cookie } });
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { error: string }).error).toMatch(/CSRF token missing/);
    const wrong = await fetch(path, { method: 'POST', headers: { cookie, 'x-csrf-token': `${csrf}x` } });
    expect(wrong.status).toBe(403);
    expect(g.logs.filter((l) => l.msg === 'dashboard request refused: CSRF token missing or wrong')).toHaveLength(2);
    expect(await g.store.getDevice({ botName: 'demo-bot', deviceId: 'phone-9' })).toBeUndefined();
    const ok = await fetch(path, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    expect(ok.status).toBe(200);
    expect((await g.store.getDevice({ botName: 'demo-bot', deviceId: 'phone-9' }))?.status).toBe('approved');
    // the CLI's way (bearer token) needs no CSRF token
    const bearer = await fetch(`${g.url}/dash/devices/demo-bot/phone-9/block`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(bearer.status).toBe(200);
    expect((await g.store.getDevice({ botName: 'demo-bot', deviceId: 'phone-9' }))?.status).toBe('blocked');
  });

  it('switches a category level as PUT /log-level does, with the session and its CSRF token', async () => {
    const { cookie, csrf } = await signIn();
    const r = await fetch(`${g.url}/log-level?category=ping&level=debug`, {
      method: 'PUT',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(r.status).toBe(204);
    expect(g.loggers.cat.ping.level).toBe('debug');
  });

  it('five wrong tokens within the window: the address is refused, even with the right token, and it is logged', async () => {
    for (let i = 0; i < 5; i++) expect((await login('wrong-token')).status).toBe(401);
    const refused = await login(ADMIN_TOKEN);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(g.logs.filter((l) => l.msg === 'dashboard sign-in with a wrong token')).toHaveLength(5);
    expect(g.logs.some((l) => l.msg === 'dashboard sign-in refused: too many wrong tokens')).toBe(true);
  });
});

describe('DashboardAuth on a simulated clock', () => {
  const req = (cookie?: string, method = 'GET', csrf?: string) =>
    ({
      headers: { ...(cookie ? { cookie } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}) },
      method,
      url: '/x',
      socket: { remoteAddress: '10.0.0.1' },
    }) as never;
  function auth(now: { t: number }) {
    return new DashboardAuth({
      token: ADMIN_TOKEN,
      sessionTtlMs: 1_000,
      maxSessions: 2,
      loginFailures: 5,
      loginWindowMs: 60_000,
      log: silentLoggers().root,
      now: () => now.t,
    });
  }

  it('the failure window slides: after it, sign-in works again', () => {
    const now = { t: 0 };
    const a = auth(now);
    for (let i = 0; i < 5; i++) expect(a.login(req(), 'nope').ok).toBe(false);
    expect(a.login(req(), ADMIN_TOKEN)).toMatchObject({ ok: false, status: 429, retryAfterS: 60 });
    now.t = 59_999;
    expect(a.login(req(), ADMIN_TOKEN)).toMatchObject({ ok: false, status: 429 });
    now.t = 60_000;
    expect(a.login(req(), ADMIN_TOKEN).ok).toBe(true);
  });

  it('a session ends after its lifetime, and the oldest goes beyond maxSessions', () => {
    const now = { t: 0 };
    const a = auth(now);
    const first = a.login(req(), ADMIN_TOKEN);
    if (!first.ok) throw new Error('sign-in failed');
    const cookie = first.cookie.split(';')[0]!;
    expect(a.authorize(req(cookie))).toBe(true);
    expect(a.authorize(req(cookie, 'POST', first.csrf))).toBe(true);
    now.t = 1_000;
    expect(() => a.authorize(req(cookie))).toThrow(/not recognized/);
    const s1 = a.login(req(), ADMIN_TOKEN);
    a.login(req(), ADMIN_TOKEN);
    a.login(req(), ADMIN_TOKEN);
    if (!s1.ok) throw new Error('sign-in failed');
    expect(a.session(req(s1.cookie.split(';')[0]!))).toBeUndefined();
  });
});
