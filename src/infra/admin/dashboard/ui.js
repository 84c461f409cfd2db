// Helpers shared by the dashboard's pages.

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
export const LEVEL_NUM = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
export const NUM_LEVEL = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export function badge(ctx, value) {
  return `<span class="badge ${ctx.esc(value)}">${ctx.esc(value)}</span>`;
}

export function ms(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const v = seconds * 1000;
  return v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`;
}

export function health(ctx, h) {
  if (!h) return `<span class="badge">${ctx.esc(ctx.t('unknown'))}</span>`;
  const label = h.ok ? ctx.t('ok') : ctx.t('notOk');
  return `<span class="badge ${h.ok ? 'ok' : 'bad'}">${ctx.esc(label)}</span>${h.detail ? `<div class="small">${ctx.esc(h.detail)}</div>` : ''}`;
}

export async function run(ctx, promise) {
  try {
    const r = await promise;
    ctx.toast(ctx.t('done'));
    return r;
  } catch (err) {
    ctx.toast(ctx.t('failedAction', { e: err.message }), true);
    return undefined;
  }
}

// "active.reader.flowing,heartbeat.pinging" → "active: reader flowing · heartbeat pinging"
export function connState(text) {
  const parts = String(text).split(',');
  const top = parts[0].split('.')[0];
  const rest = parts
    .map((p) =>
      p
        .split('.')
        .slice(p.startsWith(`${top}.`) ? 1 : 0)
        .join(' '),
    )
    .filter((p) => p !== '');
  return rest.length === 0 || rest[0] === top ? top : `${top}: ${rest.join(' · ')}`;
}
