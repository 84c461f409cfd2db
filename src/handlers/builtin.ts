/**
 * The built-in commands, with the exact replies of PROTOCOL §7.10 and the declarations of the
 * §7.9 table. Tested before operator commands, in this order.
 */
import type { CommandDef, ConnectionInfo, HandlerContext } from './api.js';
import { renderValueTile } from './tile.js';

// PROTOCOL §7.10 `# echo`
export const ECHO_MAX_REPEAT = 5;
export const ECHO_REPEAT_WARNING = '⚠️ 반복 횟수는 최대 5회로 제한됩니다.';

export const echoCommand: CommandDef = {
  prefix: '# echo',
  promptRequired: true,
  params: { 'channel-id': { type: 'string' }, repeat: { type: 'int', default: 1 } },
  async run(ctx) {
    const content = ctx.command?.prompt ?? '';
    let n = Number(ctx.command?.params.repeat ?? 1);
    const out: string[] = [];
    if (n > ECHO_MAX_REPEAT) {
      out.push(ECHO_REPEAT_WARNING);
      n = ECHO_MAX_REPEAT;
    }
    if (n === 1) out.push(`에코: ${content}`);
    else for (let i = 1; i <= n; i++) out.push(`[${i}/${n}] 에코: ${content}`);
    // N ≤ 0 sends nothing; the packets of one echo go out back-to-back, without the reply gap.
    if (out.length > 0) await ctx.reply(out, { backToBack: true });
  },
};

// PROTOCOL §7.10 `# client_info` ([REC]: implemented, not silent)
export const CLIENT_INFO_USAGE =
  '사용법: # client_info summary [--bot-name=봇이름]\n• summary: 연결된 클라이언트 상태 요약';

export const clientInfoCommand: CommandDef = {
  prefix: '# client_info',
  adminOnly: true,
  params: { 'bot-name': { type: 'string' } },
  async run(ctx) {
    if (ctx.command?.prompt !== 'summary') {
      await ctx.reply(CLIENT_INFO_USAGE);
      return;
    }
    const botName = ctx.command.params['bot-name'];
    const all = ctx.gateway.connections();
    const shown = botName === undefined ? all : all.filter((c) => c.botName === String(botName));
    await ctx.reply(clientSummary(shown, ctx.now(), botName === undefined ? undefined : String(botName)));
  },
};

/** The multi-line status text of `# client_info summary`. */
export function clientSummary(conns: readonly ConnectionInfo[], now: number, botName?: string): string {
  const active = conns.filter((c) => c.state === 'active').length;
  const lines = [
    botName === undefined ? '📊 클라이언트 상태 요약' : `📊 클라이언트 상태 요약 (봇: ${botName})`,
    `• 전체 연결: ${conns.length}개`,
    `• 활성 연결: ${active}개`,
  ];
  if (conns.length === 0) lines.push('연결된 클라이언트가 없습니다.');
  const sorted = [...conns].sort((a, b) => a.botName.localeCompare(b.botName) || a.connectedAt - b.connectedAt);
  for (const c of sorted) {
    lines.push(
      '',
      `[${c.botName}] v${c.version} (${c.state}${c.standing === 'limited' ? ', 미승인' : ''})`,
      `  - 기기 ID: ${c.deviceId}`,
      `  - RAM: ${formatRam(c.monitoring)}`,
      `  - 가동 시간: ${formatUptime(now - c.connectedAt)}`,
    );
  }
  return lines.join('\n');
}

function formatRam(m: ConnectionInfo['monitoring']): string {
  const used = m?.memoryUsage;
  const total = m?.totalMemory;
  if (used === undefined) return '알 수 없음';
  if (total === undefined || total <= 0) return `${used.toFixed(1)}MB`;
  return `${used.toFixed(1)}MB / ${total.toFixed(1)}MB (${((used / total) * 100).toFixed(1)}%)`;
}

/** `1일 2시간 3분 4초`, leading zero units left out. */
export function formatUptime(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d > 0) parts.push(`${d}일`);
  if (d > 0 || h > 0) parts.push(`${h}시간`);
  if (d > 0 || h > 0 || m > 0) parts.push(`${m}분`);
  parts.push(`${s}초`);
  return parts.join(' ');
}

// PROTOCOL §7.10 `# IMGEXT`
export const imgextCommand: CommandDef = {
  prefix: '# IMGEXT',
  promptRequired: true,
  params: { 'media-wait-time': { type: 'int' } },
  async run(ctx) {
    const values = (ctx.command?.prompt ?? '').split(/\s+/).filter((v) => v.length > 0);
    const wait = ctx.command?.params['media-wait-time'];
    let images: string[];
    try {
      images = values.map((v, i) => renderValueTile(v, i).toString('base64'));
    } catch (err) {
      await ctx.reply(`❌ 멀티이미지 전송 실패: ${errorText(err)}`);
      return;
    }
    // One packet with every image; media_wait_time only when > 0, no range check (§7.10).
    await ctx.reply(typeof wait === 'number' ? { imagesBase64: images, waitMs: wait } : { imagesBase64: images });
  },
};

// PROTOCOL §7.10 `# reload bots-config`
export const reloadCommand: CommandDef = {
  prefix: '# reload bots-config',
  adminOnly: true,
  async run(ctx: HandlerContext) {
    let result: { checked: number; changed: number };
    try {
      result = await ctx.gateway.reloadStanding();
    } catch (err) {
      await ctx.reply(`❌ 봇 설정 갱신 실패: ${errorText(err)}`);
      return;
    }
    await ctx.reply(`✅ 봇 설정 갱신 완료!\n• 총 ${result.checked}개 봇 확인\n• ${result.changed}개 봇 상태 변경됨`);
  },
};

/** PROTOCOL §7.9 order. */
export const builtinCommands: readonly CommandDef[] = [echoCommand, clientInfoCommand, imgextCommand, reloadCommand];

/** The names under which config `builtins.<name>` turns a built-in on or off. */
export const BUILTIN_NAMES = ['echo', 'clientInfo', 'imgext', 'reload'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

export const builtinByName: Readonly<Record<BuiltinName, CommandDef>> = {
  echo: echoCommand,
  clientInfo: clientInfoCommand,
  imgext: imgextCommand,
  reload: reloadCommand,
};

/** The `<error text>` of the reference replies (Python's str(e)). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
