import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defineBot } from '../../src/handlers/api.js';
import { prefixMatches } from '../../src/handlers/command.js';
import { createRouter } from '../../src/handlers/router.js';
import { routerFor } from '../../src/handlers/setup.js';
import { configSchema } from '../../src/infra/config/schema.js';
import { createLoggers } from '../../src/infra/logger.js';
import { chat, texts } from './harness.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, log: createLoggers({ level: 'debug', destination }).root };
}

describe('command prefixes match on a word boundary', () => {
  it('prefixMatches', () => {
    expect(prefixMatches('# echo', '# echo')).toBe(true);
    expect(prefixMatches('# echo', '# echo hi')).toBe(true);
    expect(prefixMatches('# echo', '# echo\nhi')).toBe(true);
    expect(prefixMatches('# echo', '# echo--repeat=2 x')).toBe(true);
    expect(prefixMatches('# echo', '# echo2')).toBe(false);
    expect(prefixMatches('# echo', '# echoes')).toBe(false);
    expect(prefixMatches('# echo', '# echo_x')).toBe(false);
    expect(prefixMatches('# 날씨', '# 날씨서울')).toBe(false);
    expect(prefixMatches('# 날씨', '# 날씨 서울')).toBe(true);
    // a prefix that ends in punctuation needs no space after it
    expect(prefixMatches('!', '!roll')).toBe(true);
    expect(prefixMatches('', 'x')).toBe(false);
  });

  it("a handler's `# echo2` is not the built-in `# echo`", async () => {
    const bot = defineBot({ commands: [{ prefix: '# echo2', run: (ctx) => ctx.reply(`two:${ctx.command?.prompt}`) }] });
    expect(await texts('# echo2 hi', { modules: [bot] })).toEqual(['two:hi']);
    expect(await texts('# echo hi', { modules: [bot] })).toEqual(['에코: hi']);
  });

  it('`# helloworld` does not run `# hello`', async () => {
    const bot = defineBot({ commands: [{ prefix: '# hello', run: (ctx) => ctx.reply('hello') }] });
    expect(await texts('# helloworld', { modules: [bot] })).toEqual([]);
    expect(await texts('# hello world', { modules: [bot] })).toEqual(['hello']);
    expect(await texts('# echoes', { modules: [bot] })).toEqual([]);
  });

  it('the longest matching prefix wins across built-ins and operator commands', async () => {
    const bot = defineBot({ commands: [{ prefix: '#', run: (ctx) => ctx.reply(`hash:${ctx.command?.prompt}`) }] });
    expect(await texts('# echo hi', { modules: [bot] })).toEqual(['에코: hi']);
    expect(await texts('# other', { modules: [bot] })).toEqual(['hash:other']);
  });
});

describe('operator commands and built-ins', () => {
  it('an operator command wins over the built-in of the same prefix, with a warning at load', async () => {
    const { lines, log } = capture();
    const bot = defineBot({ commands: [{ prefix: '# echo', run: (ctx) => ctx.reply('mine') }] });
    const router = routerFor([bot], configSchema.parse({}), log);
    expect(await texts('# echo hi', { router })).toEqual(['mine']);
    const warning = lines.find((l) => l.builtin === 'echo');
    expect(warning).toMatchObject({ level: 40, prefix: '# echo', key: 'builtins.echo' });
    expect(String(warning?.msg)).toMatch(/built-in/);
    expect(lines).toHaveLength(1);
  });

  it('config builtins turns built-ins off one by one', async () => {
    const { builtins } = configSchema.parse({ builtins: { echo: false } });
    expect(builtins).toEqual({ echo: false, clientInfo: true, imgext: true, reload: true });
    const router = createRouter([], { builtins });
    expect(router.match(chat('# echo hi'))).toEqual({ kind: 'chat' });
    expect(await texts('# echo hi', { router })).toEqual([]);
    expect(router.match(chat('# client_info summary')).kind).toBe('command');
    expect(router.match(chat('# IMGEXT 1')).kind).toBe('command');
    const none = createRouter([], { builtins: { echo: false, clientInfo: false, imgext: false, reload: false } });
    expect(none.match(chat('# reload bots-config'))).toEqual({ kind: 'chat' });
  });
});
