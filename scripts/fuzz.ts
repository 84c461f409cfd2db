/**
 * Long mode of the robustness fuzzing (DESIGN.md §5): the properties of
 * test/robustness/fuzz-properties.ts with as many runs as asked.
 *
 *   npx tsx scripts/fuzz.ts --runs 100000 [--seed 42] [--path "3:1:0"] [--only framer|connection]
 *
 * On a failure fast-check prints the shrunk counterexample with its seed and path; pass both back
 * to replay exactly that case. Exit code 1 on failure.
 */
import { Command, InvalidArgumentError } from 'commander';
import fc from 'fast-check';
import { connectionProperty, framerProperty } from '../test/robustness/fuzz-properties.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

const program = new Command()
  .name('fuzz')
  .description('generative fuzzing of the framer and the connection actor')
  .option('--runs <n>', 'cases per property', positiveInt, 10_000)
  .option('--seed <n>', 'seed to replay', (v) => Number(v))
  .option('--path <path>', 'counterexample path to replay (with --seed)')
  .option('--only <property>', 'framer or connection')
  .parse();

const opts = program.opts<{ runs: number; seed?: number; path?: string; only?: string }>();
const params = {
  numRuns: opts.runs,
  verbose: 1 as const,
  ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  ...(opts.path !== undefined ? { path: opts.path } : {}),
};

async function main(): Promise<void> {
  let failed = false;
  const runs: Array<[string, () => Promise<void>]> = [
    ['framer', async () => fc.assert(framerProperty, params)],
    ['connection', () => fc.assert(connectionProperty, params)],
  ];
  for (const [name, run] of runs) {
    if (opts.only !== undefined && opts.only !== name) continue;
    const started = Date.now();
    try {
      await run();
      console.log(`${name}: ${opts.runs} runs passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      failed = true;
      console.error(`${name}: FAILED\n${error instanceof Error ? error.message : String(error)}`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}

void main();
