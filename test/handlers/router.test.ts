import { describe, expect, it } from 'vitest';
import { type BotModule, defineBot } from '../../src/handlers/api.js';
import { createRouter } from '../../src/handlers/router.js';
import { chat, texts } from './harness.js';

describe('router precedence', () => {
  it('lets an operator command replace the built-in of the same prefix', async () => {
    const bot = defineBot({ commands: [{ prefix: '# echo', run: (ctx) => ctx.reply('operator echo') }] });
    expect(await texts('# echo hi', { modules: [bot] })).toEqual(['operator echo']);
  });

  it('lets the longest operator prefix win, whatever the declaration order', async () => {
    const bot = defineBot({
      commands: [
        { prefix: '!w', run: (ctx) => ctx.reply(`short:${ctx.command?.prompt}`) },
        { prefix: '!weather', run: (ctx) => ctx.reply(`long:${ctx.command?.prompt}`) },
      ],
    });
    expect(await texts('!weather Seoul', { modules: [bot] })).toEqual(['long:Seoul']);
    expect(await texts('!w x', { modules: [bot] })).toEqual(['short:x']);
    expect(await texts('!wx', { modules: [bot] })).toEqual([]);
  });

  it('breaks ties between equal prefixes by module order', async () => {
    const a = defineBot({ commands: [{ prefix: '!x', run: (ctx) => ctx.reply('a') }] });
    const b = defineBot({ commands: [{ prefix: '!x', run: (ctx) => ctx.reply('b') }] });
    expect(await texts('!x', { modules: [a, b] })).toEqual(['a']);
  });

  it('calls every catch-all for non-commands only, in module order', async () => {
    const seen: string[] = [];
    const a: BotModule = {
      commands: [{ prefix: '!cmd', run: () => void seen.push('cmd') }],
      onMessage: (ctx) => void seen.push(`a:${ctx.message.text}:${ctx.command === undefined}`),
    };
    const b: BotModule = { onMessage: (ctx) => ctx.reply(`b saw ${ctx.sender} in ${ctx.room}`) };
    expect(await texts('hello', { modules: [a, b] })).toEqual(['b saw Alice in Demo Room']);
    expect(await texts('!cmd', { modules: [a, b] })).toEqual([]);
    expect(await texts('# echo x', { modules: [a, b] })).toEqual(['에코: x']);
    expect(seen).toEqual(['a:hello:true', 'cmd']);
  });

  it('can leave the built-ins out', async () => {
    const router = createRouter([], { builtins: false });
    expect(router.match(chat('# echo hi'))).toEqual({ kind: 'chat' });
    expect(await texts('# echo hi', { router })).toEqual([]);
  });

  it('reports the route without running it', () => {
    const route = createRouter([]).match(chat('# echo a --repeat=2'));
    expect(route.kind).toBe('command');
    if (route.kind === 'command') {
      expect(route.def.prefix).toBe('# echo');
      expect(route.line.prompt).toBe('a');
    }
  });
});

describe('operator commands follow §7.9', () => {
  const bot = defineBot({
    commands: [
      {
        prefix: '!roll',
        promptRequired: true,
        params: { sides: { type: 'int', default: 6 }, label: { type: 'string' } },
        run: (ctx) => ctx.reply(JSON.stringify(ctx.command)),
      },
      {
        prefix: '!boom',
        run: () => {
          throw new Error('kaboom');
        },
      },
      {
        prefix: '!reject',
        run: async () => {
          throw 'plain string';
        },
      },
    ],
  });

  it('gives the handler the prompt and the validated, defaulted params', async () => {
    expect(await texts('!roll  dice  --label=x --junk=1', { modules: [bot] })).toEqual([
      JSON.stringify({ prefix: '!roll', prompt: 'dice', params: { sides: 6, label: 'x' } }),
    ]);
    expect(await texts('!roll d --sides=20', { modules: [bot] })).toEqual([
      JSON.stringify({ prefix: '!roll', prompt: 'd', params: { sides: 20 } }),
    ]);
  });

  it('answers usage, int error, and ignores another channel', async () => {
    expect(await texts('!roll --sides=3', { modules: [bot] })).toEqual(['사용법: !roll {내용}']);
    expect(await texts('!roll d --sides=many', { modules: [bot] })).toEqual([
      "❌ 파라미터 오류: 파라미터 'sides'의 값이 올바른 int 형식이 아닙니다: many",
    ]);
    expect(await texts('!roll d --channel-id=1', { modules: [bot] })).toEqual([]);
  });

  it('answers the error reply when a command throws', async () => {
    expect(await texts('!boom', { modules: [bot] })).toEqual(['명령어 처리 중 오류가 발생했습니다: kaboom']);
    expect(await texts('!reject', { modules: [bot] })).toEqual(['명령어 처리 중 오류가 발생했습니다: plain string']);
  });

  it('answers the error reply for a malformed media reply, before sending any element', async () => {
    const media = defineBot({
      commands: [
        { prefix: '!pic', run: (ctx) => ctx.reply(['first', { imagesBase64: ['data:image/png;base64,AAAA'] }]) },
      ],
    });
    const out = await texts('!pic', { modules: [media] });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^명령어 처리 중 오류가 발생했습니다: imagesBase64\[0\] starts with a data: URI prefix/);
  });
});

describe('admin-only commands (PROTOCOL §7.9 [REC]: enforced)', () => {
  const admins: Record<string, string[]> = { 'demo-bot': ['admin-hash'] };
  const isAdmin = (m: { botName: string; userHash: string | null }) =>
    m.userHash !== null && (admins[m.botName]?.includes(m.userHash) ?? false);

  it('answers # reload bots-config and # client_info only for a listed user hash', async () => {
    const asAdmin = chat('# reload bots-config', { userHash: 'admin-hash' });
    expect(await texts(asAdmin, { isAdmin })).toEqual([
      '✅ 봇 설정 갱신 완료!\n• 총 0개 봇 확인\n• 0개 봇 상태 변경됨',
    ]);
    expect(await texts(chat('# reload bots-config', { userHash: 'someone' }), { isAdmin })).toEqual([]);
    expect(await texts(chat('# client_info summary', { userHash: null }), { isAdmin })).toEqual([]);
    // the hash is per bot
    expect(await texts(chat('# client_info', { userHash: 'admin-hash', botName: 'other-bot' }), { isAdmin })).toEqual(
      [],
    );
  });

  it('an operator command declaring adminOnly is refused too; others still answer everyone', async () => {
    const bot = defineBot({
      commands: [
        { prefix: '!secret', adminOnly: true, run: (ctx) => ctx.reply('secret') },
        { prefix: '!open', run: (ctx) => ctx.reply('open') },
      ],
    });
    expect(await texts(chat('!secret', { userHash: 'someone' }), { modules: [bot], isAdmin })).toEqual([]);
    expect(await texts(chat('!secret', { userHash: 'admin-hash' }), { modules: [bot], isAdmin })).toEqual(['secret']);
    expect(await texts(chat('!open', { userHash: 'someone' }), { modules: [bot], isAdmin })).toEqual(['open']);
    expect(await texts(chat('# echo hi', { userHash: 'someone' }), { isAdmin })).toEqual(['에코: hi']);
  });

  it('without any admins configured nobody runs them', async () => {
    const router = createRouter([]);
    expect(await texts(chat('# client_info summary', { userHash: 'admin-hash' }), { router })).toEqual([]);
    expect(await texts(chat('# echo hi'), { router })).toEqual(['에코: hi']);
  });
});
