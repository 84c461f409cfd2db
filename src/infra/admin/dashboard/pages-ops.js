// The operations pages: Schedules (when the scheduler is there), Actors and Logs.
import { badge, connState, LEVEL_NUM, LEVELS, NUM_LEVEL, run } from './ui.js';

function pick(o, names) {
  for (const n of names) if (o[n] !== undefined && o[n] !== null) return o[n];
  return '';
}

export const schedules = {
  id: 'schedules',
  nav: true,
  feature: 'schedules',
  mount(ctx, main) {
    const { t, esc } = ctx;
    const days = [0, 1, 2, 3, 4, 5, 6]
      .map(
        (d) =>
          `<option value="${d}">${new Date(2024, 0, 7 + d).toLocaleDateString(ctx.language() === 'ko' ? 'ko-KR' : 'en-GB', { weekday: 'short' })}</option>`,
      )
      .join('');
    main.innerHTML = `<h2>${esc(t('schedulesList'))}</h2>
      <div class="card"><form class="inline" id="sc-add">
        <input name="bot" placeholder="${esc(t('bot'))}" required><input name="channelId" placeholder="${esc(t('channel'))}" required pattern="\\d+">
        <input name="text" placeholder="${esc(t('text'))}" required>
        <select name="kind"><option value="once">${esc(t('once'))}</option><option value="daily">${esc(t('daily'))}</option><option value="weekly">${esc(t('weekly'))}</option></select>
        <input name="at" type="datetime-local" required><select name="weekday" hidden>${days}</select>
        <button type="submit" class="act primary">${esc(t('add'))}</button></form></div>
      <div class="card"><div id="sc-list"></div></div>`;
    const form = document.getElementById('sc-add');
    form.kind.addEventListener('change', () => {
      form.at.type = form.kind.value === 'once' ? 'datetime-local' : 'time';
      form.weekday.hidden = form.kind.value !== 'weekly';
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = {
        bot: form.bot.value,
        channelId: form.channelId.value,
        text: form.text.value,
        kind: form.kind.value,
        at: form.at.value,
      };
      if (body.kind === 'once') body.at = new Date(body.at).toISOString();
      if (body.kind === 'weekly') body.weekday = Number(form.weekday.value);
      if (await run(ctx, ctx.api('POST', '/dash/schedules', body))) form.text.value = '';
      void this.load(ctx);
    });
    void this.load(ctx);
  },
  async load(ctx) {
    const { t, esc } = ctx;
    const list = await ctx.api('GET', '/dash/schedules').catch(() => []);
    const el = document.getElementById('sc-list');
    if (!el) return;
    ctx.setHtml(
      el,
      list.length === 0
        ? `<div class="empty">${esc(t('noSchedules'))}</div>`
        : `<table><tr>${['id', 'bot', 'channel', 'kind', 'when', 'text', 'nextRun', 'lastOutcome', 'status', 'actions'].map((h) => `<th>${esc(t(h))}</th>`).join('')}</tr>${list
            .map((s) => {
              const id = esc(pick(s, ['id']));
              const paused = s.paused === true || s.status === 'paused';
              const b = (action, cls) =>
                `<button type="button" class="act ${cls}" data-act="schedule" data-action="${action}" data-id="${id}">${esc(t(action))}</button>`;
              return `<tr><td>${id}</td><td>${esc(pick(s, ['bot', 'botName']))}</td><td>${esc(pick(s, ['channelId', 'roomId']))}</td><td>${esc(pick(s, ['kind']))}</td>
                <td>${esc(pick(s, ['at', 'time', 'spec']))}</td><td>${esc(pick(s, ['text', 'message']))}</td><td>${esc(pick(s, ['nextRun', 'nextRunAt']))}</td>
                <td>${esc(pick(s, ['lastOutcome', 'lastStatus']))}</td><td>${badge(ctx, paused ? 'paused' : pick(s, ['status']) || 'active')}</td>
                <td>${paused ? b('resume', 'primary') : b('pause', '')}${b('remove', 'danger')}</td></tr>`;
            })
            .join('')}</table>`,
    );
  },
  async act(ctx, el) {
    if (el.dataset.act !== 'schedule') return;
    await run(ctx, ctx.api('POST', `/dash/schedules/${encodeURIComponent(el.dataset.id)}/${el.dataset.action}`));
    await this.load(ctx);
  },
};

let mermaidLoaded;
function loadMermaid() {
  mermaidLoaded ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/dash/files/mermaid.min.js';
    s.onload = () => {
      window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral' });
      resolve(window.mermaid);
    };
    s.onerror = reject;
    document.head.append(s);
  });
  return mermaidLoaded;
}

function stateText(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// {"active":{"reader":"flowing"}} → "active.reader.flowing" (as the phones page shows it)
function flatState(v) {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object')
    return Object.entries(v)
      .map(([k, x]) => `${k}.${flatState(x)}`)
      .join(',');
  return String(v);
}

function workerCounts(workers) {
  const counts = new Map();
  for (const w of workers) counts.set(stateText(w.state), (counts.get(stateText(w.state)) ?? 0) + 1);
  return [...counts.entries()];
}

export const actors = {
  id: 'actors',
  nav: true,
  mount(ctx, main) {
    const { t, esc } = ctx;
    main.innerHTML = `<h2>${esc(t('actors'))}</h2><div class="grid" id="ac-summary"></div>
      <div class="card"><h3>${esc(t('connections'))}</h3><div id="ac-conns"></div></div>
      <div class="card"><h3>${esc(t('workers'))} · ${esc(t('gates'))}</h3><div id="ac-workers"></div></div>
      <div class="card"><h3>${esc(t('diagram'))}</h3><div class="diagram" id="ac-diagram"></div></div>`;
    Promise.all([loadMermaid(), ctx.api('GET', '/dash/diagram')])
      .then(([mermaid, d]) => mermaid.render('connection-diagram', d.mermaid))
      .then(({ svg }) => {
        const el = document.getElementById('ac-diagram');
        if (el) el.innerHTML = svg;
      })
      .catch((err) => ctx.toast(ctx.t('failedAction', { e: err.message }), true));
  },
  update(ctx) {
    const { t, esc } = ctx;
    const a = ctx.state.actors;
    if (!a) return;
    const d = a.dispatcher ?? {};
    ctx.setHtml(
      document.getElementById('ac-summary'),
      `<div class="card"><h3>${esc(t('dispatcher'))}</h3><div class="big">${esc(stateText(d.state))}</div></div>
       <div class="card"><h3>${esc(t('waiting'))}</h3><div class="big">${esc(d.waiting)}</div></div>
       <div class="card"><h3>${esc(t('running'))}</h3><div class="big">${esc(d.running)}</div></div>`,
    );
    const conns = a.connections ?? [];
    ctx.setHtml(
      document.getElementById('ac-conns'),
      conns.length === 0
        ? `<div class="empty">${esc(t('noPhones'))}</div>`
        : `<table><tr><th>${esc(t('id'))}</th><th>${esc(t('peer'))}</th><th>${esc(t('bot'))}</th><th>${esc(t('device'))}</th><th>${esc(t('actorState'))}</th></tr>${conns
            .map(
              (c) =>
                `<tr><td>${esc(c.id)}</td><td>${esc(c.peer)}</td><td>${esc(c.botName ?? '')}</td><td>${esc(c.deviceId ?? '')}</td><td>${esc(connState(flatState(c.state)))}</td></tr>`,
            )
            .join('')}</table>`,
    );
    const rows = [
      ...workerCounts(d.workers ?? []).map(([st, n]) => [t('workers'), `× ${n}`, st, '']),
      ...(d.botGates ?? []).map((g) => [
        `${t('gates')} (bot)`,
        g.key.replaceAll('\u0000', ' / '),
        stateText(g.state),
        g.inFlight ?? '',
      ]),
      ...(d.roomGates ?? []).map((g) => [
        `${t('gates')} (room)`,
        g.key.replaceAll('\u0000', ' / '),
        stateText(g.state),
        g.inFlight ?? '',
      ]),
    ];
    ctx.setHtml(
      document.getElementById('ac-workers'),
      `<table><tr><th></th><th>${esc(t('key'))}</th><th>${esc(t('actorState'))}</th><th>${esc(t('running'))}</th></tr>${rows
        .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
        .join('')}</table>`,
    );
  },
};

export const logs = {
  id: 'logs',
  nav: true,
  mount(ctx, main) {
    const { t, esc } = ctx;
    const cats = Object.keys(ctx.state.levels);
    main.innerHTML = `<h2>${esc(t('logs'))}</h2>
      <div class="card"><h3>${esc(t('categoryLevels'))}</h3><div class="levels" id="lg-levels"></div></div>
      <div class="card"><div class="filters">
        <select id="lg-cat" aria-label="${esc(t('category'))}"><option value="">${esc(t('allCategories'))}</option>${cats.map((c) => `<option>${esc(c)}</option>`).join('')}<option value="-">(root)</option></select>
        <select id="lg-level" aria-label="${esc(t('level'))}">${LEVELS.slice(0, 6)
          .map((l) => `<option ${l === 'trace' ? 'selected' : ''}>${l}</option>`)
          .join('')}</select>
        <input id="lg-q" type="search" placeholder="${esc(t('search'))}"></div>
        <div id="lg-lines" class="logs"></div></div>`;
    for (const id of ['lg-cat', 'lg-level', 'lg-q'])
      document.getElementById(id).addEventListener('input', () => this.update(ctx));
    document.getElementById('lg-levels').addEventListener('change', async (e) => {
      const sel = e.target.closest('select[data-cat]');
      if (!sel) return;
      await run(
        ctx,
        ctx.api(
          'PUT',
          `/log-level?category=${encodeURIComponent(sel.dataset.cat)}&level=${encodeURIComponent(sel.value)}`,
        ),
      );
    });
  },
  update(ctx) {
    const { t, esc, state } = ctx;
    const levelsEl = document.getElementById('lg-levels');
    if (!levelsEl) return;
    if (!levelsEl.contains(document.activeElement)) {
      ctx.setHtml(
        levelsEl,
        Object.entries(state.levels)
          .map(
            ([cat, lv]) =>
              `<label>${esc(cat)} <select data-cat="${esc(cat)}">${LEVELS.map((l) => `<option ${l === lv ? 'selected' : ''}>${l}</option>`).join('')}</select></label>`,
          )
          .join(''),
      );
    }
    const cat = document.getElementById('lg-cat').value;
    const min = LEVEL_NUM[document.getElementById('lg-level').value] ?? 0;
    const q = document.getElementById('lg-q').value.toLowerCase();
    const lines = state.logs
      .filter(
        (l) =>
          (cat === '' || (cat === '-' ? l.cat === null : l.cat === cat)) &&
          l.level >= min &&
          (q === '' || l.line.toLowerCase().includes(q)),
      )
      .slice(-300)
      .reverse();
    ctx.setHtml(
      document.getElementById('lg-lines'),
      lines.length === 0
        ? `<div class="empty">${esc(t('noLogs'))}</div>`
        : `<table><tr><th>${esc(t('time'))}</th><th>${esc(t('level'))}</th><th>${esc(t('category'))}</th><th>${esc(t('message'))}</th></tr>${lines
            .map(
              (l) =>
                `<tr class="lv${l.level}"><td>${esc(ctx.fmtTime(l.time))}</td><td>${esc(NUM_LEVEL[l.level] ?? l.level)}</td><td>${esc(l.cat ?? '')}</td><td title="${esc(l.line)}">${esc(l.msg)}</td></tr>`,
            )
            .join('')}</table>`,
    );
  },
};
