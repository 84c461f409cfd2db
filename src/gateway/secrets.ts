import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { HmacKeys } from '../protocol/index.js';

const secretsFileSchema = z.object({ secret: z.string().min(1), salt: z.string().min(1) });

export interface ResolvedKeys {
  keys: HmacKeys;
  /** where the keys came from, for the start-up log */
  source: 'config' | 'file' | 'generated';
  file?: string;
}

/**
 * PROTOCOL §3.3: the shared secret and salt come from config/env; a first start without them
 * writes a random pair into the data folder (mode 0600) and reuses it on later starts.
 */
export function resolveKeys(dataDir: string, secret?: string, salt?: string): ResolvedKeys {
  if (secret !== undefined && salt !== undefined) return { keys: { secret, salt }, source: 'config' };
  const file = resolve(join(dataDir, 'secrets.json'));
  if (existsSync(file)) {
    const parsed = secretsFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file} is not {"secret": "...", "salt": "..."}: ${parsed.error.message}`);
    return { keys: { secret: secret ?? parsed.data.secret, salt: salt ?? parsed.data.salt }, source: 'file', file };
  }
  const generated = {
    secret: secret ?? randomBytes(24).toString('base64url'),
    salt: salt ?? randomBytes(12).toString('base64url'),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(generated, null, 2)}\n`, { mode: 0o600 });
  return { keys: generated, source: 'generated', file };
}
