/** The package version, from package.json (one folder up from both src/ and dist/). */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

let cached: string | undefined;

export function packageVersion(): string {
  cached ??= z
    .object({ version: z.string() })
    .parse(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))).version;
  return cached;
}
