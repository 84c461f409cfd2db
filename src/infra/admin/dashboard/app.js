// The dashboard shell: sign-in, the live event stream, routing and the shared helpers.
// Pages are in pages.js. Everything comes from this gateway; nothing is fetched elsewhere.

import { language, setLanguage, t, translateStatic } from './i18n.js';
import { PAGES } from './pages.js';

const state = {
  csrf: null,
  features: { send: false, schedules: false },
  overview: null,
  points: [],
  phones: [],
  rooms: { version: 0, rooms: [] },
  actors: null,
  logs: [],
  levels: {},
  live: false,
};

const MAX_LOGS = 1000;
let source = null;
let current = null;

export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function fmtTime(ms) {
  if (!ms) return '';
  return new Date(ms).toLocaleString(language() === 'ko' ? 'ko-KR' : 'en-GB');
}

export function toast(text, bad = false) {
  const el = document.createElement('div');
  el.className = bad ? 'toast bad' : 'toast';
  el.setAttribute('role', 'status');
  el.textContent = text;
  document.body.append(el);
  setTimeout(() => el.remove(), 3000);
}

export async function api(method, path, body) {
  const headers = {};
  if (method !== 'GET') headers['x-csrf-token'] = state.csrf ?? '';
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  if (res.status === 401 && !path.endsWith('/login')) showLogin();
  if (!res.ok) {
    const error = new Error(data?.error ?? res.statusText);
    error.status = res.status;
    error.data = data;
    throw error;
  }
  return data;
}

/** Replaces an element's HTML only when it changed, so clicks and selections survive updates. */
export function setHtml(el, html) {
  if (el && el.dataset.html !== html) {
    el.innerHTML = html;
    el.dataset.html = html;
  }
}

const ctx = { state, api, t, esc, fmtTime, toast, setHtml, language, navigate: (hash) => (location.hash = hash) };

function showLogin() {
  source?.close();
  source = null;
  state.csrf = null;
  document.getElementById('app').hidden = true;
  document.getElementById('login').hidden = false;
  document.getElementById('token').focus();
}

function showApp() {
  document.getElementById('login').hidden = true;
  document.getElementById('app').hidden = false;
  connect();
  route();
}

function connect() {
  source?.close();
  source = new EventSource('/dash/events');
  const live = document.getElementById('live');
  source.onopen = () => {
    state.live = true;
    live.className = 'live on';
    live.textContent = t('live');
  };
  source.onerror = () => {
    state.live = false;
    live.className = 'live';
    live.textContent = t('offline');
    // a closed stream (signed out elsewhere, session expired): ask who we are
    if (source.readyState === EventSource.CLOSED) void start();
  };
  const on = (name, apply) =>
    source.addEventListener(name, (e) => {
      apply(JSON.parse(e.data));
      current?.page.update?.(ctx, name, current.params);
    });
  on('history', (d) => (state.points = d));
  on('point', (d) => {
    state.points.push(d);
    const keep = 60 * 60;
    if (state.points.length > keep) state.points.splice(0, state.points.length - keep);
  });
  on('overview', (d) => (state.overview = d));
  on('phones', (d) => (state.phones = d));
  on('rooms', (d) => (state.rooms = d));
  on('actors', (d) => (state.actors = d));
  on('levels', (d) => (state.levels = d));
  on('logs', (d) => {
    state.logs.push(...d);
    if (state.logs.length > MAX_LOGS) state.logs.splice(0, state.logs.length - MAX_LOGS);
  });
  on('chat', () => {});
  source.addEventListener('chat', (e) => current?.page.chat?.(ctx, JSON.parse(e.data), current.params));
}

function visiblePages() {
  return PAGES.filter((p) => p.nav && (!p.feature || state.features[p.feature]));
}

function renderNav(active) {
  const nav = document.getElementById('nav');
  nav.innerHTML = visiblePages()
    .map((p) => `<a href="#/${p.id}" class="${p.id === active ? 'on' : ''}" data-page="${p.id}">${esc(t(p.id))}</a>`)
    .join('');
}

function route() {
  if (state.csrf === null) return;
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = PAGES.find((p) => p.id === parts[0] && (!p.feature || state.features[p.feature])) ?? PAGES[0];
  current = { page, params: parts.slice(1) };
  renderNav(page.navAs ?? page.id);
  const main = document.getElementById('main');
  main.innerHTML = '';
  delete main.dataset.html;
  page.mount(ctx, main, current.params);
  page.update?.(ctx, 'mount', current.params);
}

async function start() {
  const session = await api('GET', '/dash/session');
  state.features = session.features;
  if (!session.signedIn) {
    showLogin();
    return;
  }
  state.csrf = session.csrf;
  showApp();
}

function applyLanguage(next) {
  setLanguage(next);
  for (const id of ['lang', 'login-lang']) document.getElementById(id).value = language();
  translateStatic();
  if (state.csrf !== null) route();
}

document.getElementById('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const error = document.getElementById('login-error');
  error.textContent = '';
  const input = document.getElementById('token');
  try {
    const r = await api('POST', '/dash/login', { token: input.value });
    input.value = '';
    state.csrf = r.csrf;
    const session = await api('GET', '/dash/session');
    state.features = session.features;
    showApp();
  } catch (err) {
    error.textContent =
      err.status === 429
        ? t('tooMany', { s: err.data?.retryAfterS ?? '60' })
        : err.status === 401
          ? t('wrongToken')
          : err.message;
  }
});

document.getElementById('logout').addEventListener('click', async () => {
  await api('POST', '/dash/logout').catch(() => {});
  showLogin();
  toast(t('signedOut'));
});

for (const id of ['lang', 'login-lang']) {
  document.getElementById(id).addEventListener('change', (e) => applyLanguage(e.target.value));
}

document.getElementById('main').addEventListener('click', (e) => {
  const button = e.target.closest('[data-act]');
  if (button && current?.page.act) void current.page.act(ctx, button, current.params);
});

window.addEventListener('hashchange', route);
applyLanguage(language());
void start();
