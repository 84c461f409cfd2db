// The dashboard's pages. Each has mount (the skeleton, once per visit), update (on every live
// event) and act (a clicked [data-act] button). Tables are re-rendered only when their HTML changed.
import { actors, logs, schedules } from './pages-ops.js';
import { badge, connState, health, ms, run } from './ui.js';

function sparkline(points, pick, width, height) {
  if (points.length < 2) return '';
  const max = Math.max(1, ...points.map((p) => Math.max(p.messages, p.replies)));
  const step = width / (points.length - 1);
  return points
    .map((p, i) => `${(i * step).toFixed(1)},${(height - (p[pick] / max) * (height - 4) - 2).toFixed(1)}`)
    .join(' ');
}

const overview = {
  id: 'overview',
  nav: true,
  mount(ctx, main) {
    const { t, esc } = ctx;
    const card = (id, label) => `<div class="card"><h3>${esc(t(label))}</h3><div id="${id}" class="big">–</div></div>`;
    main.innerHTML = `<h2>${esc(t('overview'))}</h2>
      <div class="grid">${card('ov-p50', 'p50')}${card('ov-p99', 'p99')}${card('ov-mailbox', 'mailbox')}${card('ov-failed', 'failed')}${card('ov-lag', 'lag')}${card('ov-store', 'storeHealth')}${card('ov-telemetry', 'telemetryHealth')}</div>
      <div class="card"><h3 id="ov-rates-title"></h3>
        <svg class="spark" viewBox="0 0 900 70" preserveAspectRatio="none" role="img" aria-label="sparkline">
          <polyline id="ov-m" stroke="#2f6fde"></polyline><polyline id="ov-r" stroke="#1d8a4e"></polyline></svg>
        <div class="legend"><span class="m">— ${esc(t('messagesPerS'))}: <b id="ov-m-now">0</b></span><span class="r">— ${esc(t('repliesPerS'))}: <b id="ov-r-now">0</b></span></div></div>
      <div class="card"><h3>${esc(t('phonesByBot'))}</h3><div id="ov-bots"></div></div>`;
  },
  update(ctx) {
    const { state, t, esc } = ctx;
    const o = state.overview;
    if (!o) return;
    const minutes = Math.max(1, Math.round((state.points.length ? Date.now() - state.points[0].t : 0) / 60000));
    document.getElementById('ov-rates-title').textContent = t('rates', { m: minutes });
    document.getElementById('ov-p50').textContent = ms(o.p50);
    document.getElementById('ov-p99').textContent = ms(o.p99);
    document.getElementById('ov-mailbox').textContent = String(o.mailboxDepth);
    ctx.setHtml(
      document.getElementById('ov-failed'),
      `${o.failed} <span class="small">/ ${o.processed} ${esc(t('processed'))}</span>`,
    );
    document.getElementById('ov-lag').textContent = ms(o.lagSeconds);
    ctx.setHtml(document.getElementById('ov-store'), health(ctx, o.store));
    ctx.setHtml(document.getElementById('ov-telemetry'), health(ctx, o.telemetry));
    const pts = state.points;
    document.getElementById('ov-m').setAttribute('points', sparkline(pts, 'messages', 900, 70));
    document.getElementById('ov-r').setAttribute('points', sparkline(pts, 'replies', 900, 70));
    const last = pts.at(-1);
    document.getElementById('ov-m-now').textContent = last ? last.messages.toFixed(2) : '0';
    document.getElementById('ov-r-now').textContent = last ? last.replies.toFixed(2) : '0';
    const bots = Object.entries(o.phonesByBot);
    ctx.setHtml(
      document.getElementById('ov-bots'),
      bots.length === 0
        ? `<div class="empty">${esc(t('noPhones'))}</div>`
        : `<table><tr><th>${esc(t('bot'))}</th><th class="num">${esc(t('connected'))}</th><th class="num">${esc(t('approvedN'))}</th></tr>${bots
            .map(
              ([bot, n]) =>
                `<tr><td>${esc(bot)}</td><td class="num">${n.connected}</td><td class="num">${n.approved}</td></tr>`,
            )
            .join('')}</table>`,
    );
  },
};

function deviceButtons(ctx, d) {
  const b = (verb, cls) =>
    `<button type="button" class="act ${cls}" data-act="device" data-verb="${verb}" data-bot="${ctx.esc(d.botName)}" data-device="${ctx.esc(d.deviceId)}">${ctx.esc(ctx.t(verb))}</button>`;
  return [
    d.status !== 'approved' ? b('approve', 'primary') : '',
    d.status !== 'blocked' ? b('block', 'danger') : '',
    d.status === 'approved' ? b('revoke', 'danger') : '',
  ].join('');
}

// PROTOCOL §4.2: the phone reports its script heap in MB
function memory(l) {
  if (!l || l.memoryUsage === null) return '–';
  const mb = (v) => `${Number(v).toFixed(1)} MB`;
  return l.totalMemory ? `${mb(l.memoryUsage)} / ${mb(l.totalMemory)}` : mb(l.memoryUsage);
}

function deviceTable(ctx, rows) {
  const { t, esc } = ctx;
  const head = ['bot', 'device', 'status', 'state', 'version', 'peer', 'since', 'rtt', 'memory', 'actions'];
  return `<table><tr>${head.map((h) => `<th>${esc(t(h))}</th>`).join('')}</tr>${rows
    .map((d) => {
      const l = d.live;
      return `<tr data-device-row="${esc(d.botName)}/${esc(d.deviceId)}"><td>${esc(d.botName)}</td><td>${esc(d.deviceId)}</td><td>${badge(ctx, d.status)}</td>
        <td>${l ? `${badge(ctx, l.standing)} <div class="small">${esc(connState(l.state))}</div>` : `<span class="small">${esc(t('offlineState'))}</span>`}</td>
        <td>${esc(l ? `${l.version} / ${l.framing}` : (d.clientVersion ?? ''))}</td><td>${esc(l?.peer ?? d.ipAddress ?? '')}</td>
        <td>${esc(l ? ctx.fmtTime(l.connectedAt) : '')}</td><td class="num">${l?.lastRttMs === null || !l ? '–' : `${l.lastRttMs} ms`}</td>
        <td class="num">${esc(memory(l))}</td><td>${deviceButtons(ctx, d)}</td></tr>`;
    })
    .join('')}</table>`;
}

const phones = {
  id: 'phones',
  nav: true,
  mount(ctx, main) {
    const { t, esc } = ctx;
    main.innerHTML = `<h2>${esc(t('phones'))}</h2>
      <div class="card pending-box" id="ph-pending-card" hidden><h3>${esc(t('pendingDevices'))}</h3><div id="ph-pending"></div></div>
      <div class="card"><h3>${esc(t('allDevices'))}</h3><div id="ph-all"></div></div>`;
  },
  update(ctx) {
    const list = ctx.state.phones;
    const pending = list.filter((d) => d.status === 'pending');
    document.getElementById('ph-pending-card').hidden = pending.length === 0;
    ctx.setHtml(document.getElementById('ph-pending'), deviceTable(ctx, pending));
    ctx.setHtml(
      document.getElementById('ph-all'),
      list.length === 0 ? `<div class="empty">${ctx.esc(ctx.t('noDevices'))}</div>` : deviceTable(ctx, list),
    );
  },
  async act(ctx, el) {
    if (el.dataset.act !== 'device') return;
    const path = `/dash/devices/${encodeURIComponent(el.dataset.bot)}/${encodeURIComponent(el.dataset.device)}/${el.dataset.verb}`;
    el.disabled = true;
    await run(ctx, ctx.api('POST', path));
    el.disabled = false;
  },
};

function roomLink(r) {
  return `#/room/${encodeURIComponent(r.botName)}/${encodeURIComponent(r.roomId)}`;
}

const rooms = {
  id: 'rooms',
  nav: true,
  mount(ctx, main) {
    main.innerHTML = `<h2>${ctx.esc(ctx.t('rooms'))}</h2><div id="rm-list"></div>`;
  },
  update(ctx) {
    const { t, esc } = ctx;
    const byBot = new Map();
    for (const r of ctx.state.rooms.rooms) {
      if (!byBot.has(r.botName)) byBot.set(r.botName, []);
      byBot.get(r.botName).push(r);
    }
    const rank = (s) => (s === 'pending' ? 0 : 1);
    const html =
      byBot.size === 0
        ? `<div class="card empty">${esc(t('noRooms'))}</div>`
        : [...byBot.entries()]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([bot, list]) => {
              list.sort((a, b) => rank(a.status) - rank(b.status) || a.roomName.localeCompare(b.roomName));
              const rows = list
                .map((r) => {
                  const b = (verb, cls) =>
                    `<button type="button" class="act ${cls}" data-act="room" data-verb="${verb}" data-bot="${esc(r.botName)}" data-room="${esc(r.roomId)}" data-device="${esc(r.deviceId)}">${esc(t(verb))}</button>`;
                  return `<tr data-room-row="${esc(r.roomId)}"><td><a href="${roomLink(r)}">${esc(r.roomName || r.roomId)}</a></td><td>${esc(r.roomId)}</td><td>${esc(r.deviceId)}</td>
                  <td>${badge(ctx, r.status)}</td><td class="small">${esc(r.updatedAt ?? r.createdAt ?? '')}</td>
                  <td>${r.status !== 'approved' ? b('approve', 'primary') : ''}${r.status !== 'blocked' ? b('block', 'danger') : ''}</td></tr>`;
                })
                .join('');
              return `<div class="card"><h3>${esc(bot)}</h3><table><tr><th>${esc(t('room'))}</th><th>${esc(t('channel'))}</th><th>${esc(t('device'))}</th><th>${esc(t('status'))}</th><th>${esc(t('updated'))}</th><th>${esc(t('actions'))}</th></tr>${rows}</table></div>`;
            })
            .join('');
    ctx.setHtml(document.getElementById('rm-list'), html);
  },
  async act(ctx, el) {
    if (el.dataset.act !== 'room') return;
    const path = `/dash/rooms/${encodeURIComponent(el.dataset.bot)}/${encodeURIComponent(el.dataset.room)}/status/${el.dataset.verb}?device=${encodeURIComponent(el.dataset.device)}`;
    el.disabled = true;
    await run(ctx, ctx.api('POST', path));
    el.disabled = false;
  },
};

function chatLine(ctx, m) {
  return `<div class="msg ${m.fromBot ? 'bot' : ''}"><span class="who">${ctx.esc(m.sender)} · ${ctx.esc(ctx.fmtTime(m.at))}</span>${ctx.esc(m.message)}</div>`;
}

// The stored time has whole seconds and the live one milliseconds: the same line seen twice
// (history read while its live event was on the way) is recognised within a few seconds.
function sameLine(a, b) {
  return a.fromBot === b.fromBot && a.sender === b.sender && a.message === b.message && Math.abs(a.at - b.at) < 5000;
}

let chatLines = [];

function renderChat(ctx) {
  const chat = document.getElementById('chat');
  if (!chat) return;
  chatLines.sort((a, b) => a.at - b.at);
  chat.innerHTML =
    chatLines.length === 0
      ? `<div class="empty">${ctx.esc(ctx.t('noChat'))}</div>`
      : chatLines.map((m) => chatLine(ctx, m)).join('');
  chat.scrollTop = chat.scrollHeight;
}

function addChat(lines) {
  for (const m of lines) if (!chatLines.some((c) => sameLine(c, m))) chatLines.push(m);
}

const room = {
  id: 'room',
  navAs: 'rooms',
  mount(ctx, main, [bot, roomId]) {
    const { t, esc } = ctx;
    const known = ctx.state.rooms.rooms.find((r) => r.botName === bot && r.roomId === roomId);
    main.innerHTML = `<p><a href="#/rooms">${esc(t('back'))}</a></p><h2>${esc(known?.roomName ?? roomId)} <span class="small">${esc(bot)} · ${esc(roomId)}</span></h2>
      <div class="card"><h3>${esc(t('chatLog'))}</h3><div class="chat" id="chat"></div>
      ${
        ctx.state.features.send
          ? `<form class="sendbox" id="sendbox"><textarea id="send-text" required placeholder="${esc(t('sendPlaceholder'))}"></textarea><button type="submit" class="act primary">${esc(t('send'))}</button></form>`
          : ''
      }</div>`;
    chatLines = [];
    ctx.api('GET', `/dash/rooms/${encodeURIComponent(bot)}/${encodeURIComponent(roomId)}/history`).then((lines) => {
      addChat(lines);
      renderChat(ctx);
    });
    document.getElementById('sendbox')?.addEventListener('submit', async (e) => {
      e.preventDefault();
      const box = document.getElementById('send-text');
      const r = await run(
        ctx,
        ctx.api('POST', `/dash/rooms/${encodeURIComponent(bot)}/${encodeURIComponent(roomId)}/send`, {
          text: box.value,
        }),
      );
      if (r) {
        box.value = '';
        ctx.toast(ctx.t('sent', { status: r.status }));
      }
    });
  },
  chat(ctx, lines, [bot, roomId]) {
    const mine = lines.filter((m) => m.botName === bot && m.channelId === roomId);
    if (mine.length === 0) return;
    addChat(mine);
    renderChat(ctx);
  },
};

export const PAGES = [overview, phones, rooms, room, schedules, actors, logs];
