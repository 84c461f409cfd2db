import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HandlerModuleError, loadHandlerModule } from '../../src/handlers/load.js';
import { chat, texts } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'msgbot-handlers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function moduleFile(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

describe('loadHandlerModule', () => {
  it('loads the README example and it answers `# hello` with the sender', async () => {
    const bot = await loadHandlerModule(resolve('examples/echo-bot.mjs'));
    expect(await texts(chat('# hello', { sender: 'Bob' }), { modules: [bot] })).toEqual(['hi Bob']);
    // the built-ins keep working beside it
    expect(await texts('# echo hi', { modules: [bot] })).toEqual(['에코: hi']);
  });

  it('resolves a relative path against the working directory', async () => {
    const bot = await loadHandlerModule(relative(process.cwd(), resolve('examples/echo-bot.mjs')));
    expect(bot.commands?.[0]?.prefix).toBe('# hello');
  });

  it('keeps the operator object, so methods can use `this`, and validates params', async () => {
    const bot = await loadHandlerModule(resolve('test/handlers/fixtures/bot-defined.mjs'));
    expect(await texts('!add 2 --to=40', { modules: [bot] })).toEqual(['42']);
    expect(await texts('!add 2', { modules: [bot] })).toEqual(['2']);
    expect(await texts('hey', { modules: [bot] })).toEqual(['hello Alice']);
  });

  it('takes a default function as the catch-all', async () => {
    const file = moduleFile('fn.mjs', "export default (ctx) => ctx.reply('fn got ' + ctx.message.text);\n");
    const bot = await loadHandlerModule(file);
    expect(await texts('yo', { modules: [bot] })).toEqual(['fn got yo']);
    expect(bot.commands).toBeUndefined();
  });

  it('loads TypeScript written with defineBot (under tsx or vitest)', async () => {
    const bot = await loadHandlerModule(resolve('test/handlers/fixtures/bot-typed.ts'));
    expect(await texts('!ts', { modules: [bot] })).toEqual(['typed!']);
  });

  it.each([
    ['no-default.mjs', 'export const commands = [];\n', /has no default export/],
    ['empty.mjs', 'export default {};\n', /needs at least one command or an onMessage/],
    [
      'shape.mjs',
      "export default { commands: [{ prefix: '', params: { 'bad name': { type: 'float' } } }] };\n",
      /commands\.0\.prefix: prefix must not be empty.*commands\.0\.params\.bad name.*commands\.0\.run: must be a function/,
    ],
    [
      'int-default.mjs',
      "export default { commands: [{ prefix: '!x', params: { n: { type: 'int', default: 'six' } }, run() {} }] };\n",
      /default does not match the type/,
    ],
    ['onmessage.mjs', "export default { onMessage: 'hi' };\n", /onMessage: must be a function/],
    ['syntax.mjs', 'export default {\n', /cannot be loaded/],
    ['throws.mjs', "throw new Error('module init failed');\n", /cannot be loaded: module init failed/],
    ['string.mjs', "export default 'bot';\n", /invalid bot module/],
  ])('fails clearly for %s, naming the file', async (name, source, message) => {
    const file = moduleFile(name, source);
    const err = await loadHandlerModule(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerModuleError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(message);
  });

  it('fails clearly for a missing file', async () => {
    const file = join(dir, 'missing.mjs');
    await expect(loadHandlerModule(file)).rejects.toThrow(`handler module ${file}: cannot be loaded`);
  });
});
