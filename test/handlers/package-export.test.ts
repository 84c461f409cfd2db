import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `msgbot-gateway/handlers` from an operator's own folder, the way it is installed: the package
 * built as `npm run build` does it (to a temp dist), its package.json `exports`, and an operator
 * folder whose node_modules links to it. The loader runs compiled, under plain node (no tsx loader).
 */

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
let tmp: string;
let pkg: string;
let op: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'msgbot-pkg-'));
  pkg = join(tmp, 'pkg');
  op = join(tmp, 'operator');
  mkdirSync(pkg);
  mkdirSync(join(op, 'node_modules'), { recursive: true });
  await run(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(pkg, 'dist')],
    { cwd: ROOT },
  );
  copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  symlinkSync(pkg, join(op, 'node_modules', 'msgbot-gateway'), 'dir');
}, 240_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Loads `file` with the compiled loader in a plain node process; prints the command prefixes. */
async function loadCompiled(file: string): Promise<string[]> {
  const script = `
    const { loadHandlerModule } = await import(${JSON.stringify(join(pkg, 'dist/handlers/load.js'))});
    const bot = await loadHandlerModule(${JSON.stringify(file)});
    process.stdout.write(JSON.stringify((bot.commands ?? []).map((c) => c.prefix)));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: op });
  return JSON.parse(stdout) as string[];
}

describe('msgbot-gateway/handlers as a package export', () => {
  it('resolves from a JavaScript handler module outside the repo', async () => {
    const file = join(op, 'bot.mjs');
    writeFileSync(
      file,
      [
        "import { defineBot } from 'msgbot-gateway/handlers';",
        "export default defineBot({ commands: [{ prefix: '!hi', run: (ctx) => ctx.reply('hi') }] });",
        '',
      ].join('\n'),
    );
    expect(await loadCompiled(file)).toEqual(['!hi']);
  });

  it('gives a TypeScript handler its types, and the compiled gateway loads it', async () => {
    const file = join(op, 'bot.ts');
    writeFileSync(
      file,
      [
        "import { defineBot, type HandlerContext } from 'msgbot-gateway/handlers';",
        'const greet = async (ctx: HandlerContext): Promise<void> => {',
        '  await ctx.reply("hi " + ctx.sender + " " + (ctx.command?.prompt ?? ""));',
        '};',
        "export default defineBot({ commands: [{ prefix: '!ts', params: { n: { type: 'int' } }, run: greet }] });",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(op, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['bot.ts'],
      }),
    );
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: op });
    // a type error is caught against the exported types
    writeFileSync(
      join(op, 'bad.ts'),
      "import { defineBot } from 'msgbot-gateway/handlers';\nexport default defineBot({ commands: [{ prefix: 1 }] });\n",
    );
    writeFileSync(
      join(op, 'tsconfig.bad.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['bad.ts'],
      }),
    );
    const failed = await run(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.bad.json'],
      {
        cwd: op,
      },
    ).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    expect(failed).toMatch(/bad\.ts.*error TS2322.*prefix|bad\.ts.*error TS\d+/s);
    expect(await loadCompiled(file)).toEqual(['!ts']);
  });
});
