import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../infra/config/config-error.js';
import type { HmacKeys } from '../protocol/index.js';

/** `<dataDir>/secrets.json`: whatever was generated because config did not set it. */
const secretsFileSchema = z.object({
  secret: z.string().min(1).optional(),
  salt: z.string().min(1).optional(),
  adminToken: z.string().min(16).optional(),
});
type SecretsFile = z.infer<typeof secretsFileSchema>;

export interface ResolvedKeys {
  keys: HmacKeys;
  /** where the keys came from, for the start-up log */
  source: 'config' | 'file' | 'generated';
  file?: string;
}

/** hmac.secret and hmac.salt from different sources (config and the data folder). */
export class MixedKeysError extends ConfigError {
  constructor(message: string) {
    super([message]);
  }
}

export interface ResolvedToken {
  token: string;
  source: 'config' | 'file' | 'generated';
  file?: string;
}

export function secretsFileOf(dataDir: string): string {
  return resolve(join(dataDir, 'secrets.json'));
}

function readSecrets(file: string): SecretsFile {
  if (!existsSync(file)) return {};
  const parsed = secretsFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${file} is not {"secret": "...", "salt": "...", "adminToken": "..."}: ${parsed.error.message}`);
  }
  return parsed.data;
}

function writeSecrets(dataDir: string, file: string, values: SecretsFile): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
}

/**
 * PROTOCOL §3.3: the shared secret and salt come from config/env; a first start without them
 * writes a random pair into the data folder (mode 0600) and reuses it on later starts.
 */
export function resolveKeys(dataDir: string, secret?: string, salt?: string): ResolvedKeys {
  if (secret !== undefined && salt !== undefined) return { keys: { secret, salt }, source: 'config' };
  // One source for the pair: a configured secret with a generated salt (or the reverse) is a
  // pair no phone was set up with.
  if (secret !== undefined || salt !== undefined) {
    const [given, missing] =
      secret !== undefined
        ? ['hmac.secret (MSGBOT_HMAC_SECRET)', 'hmac.salt (MSGBOT_HMAC_SALT)']
        : ['hmac.salt (MSGBOT_HMAC_SALT)', 'hmac.secret (MSGBOT_HMAC_SECRET)'];
    throw new MixedKeysError(
      `${given} is set but ${missing} is not: set both, or neither to use the pair in ${secretsFileOf(dataDir)}`,
    );
  }
  const file = secretsFileOf(dataDir);
  const stored = readSecrets(file);
  if (stored.secret !== undefined && stored.salt !== undefined) {
    return { keys: { secret: stored.secret, salt: stored.salt }, source: 'file', file };
  }
  const generated = {
    secret: randomBytes(24).toString('base64url'),
    salt: randomBytes(12).toString('base64url'),
  };
  writeSecrets(dataDir, file, { ...stored, ...generated });
  return { keys: generated, source: 'generated', file };
}

/**
 * The admin token (`admin.token`): from config/env, else the one in the data folder's secrets
 * file, else a random one written there (DESIGN.md §4: secrets never come from code).
 */
export function resolveAdminToken(dataDir: string, configured?: string): ResolvedToken {
  if (configured !== undefined) return { token: configured, source: 'config' };
  const file = secretsFileOf(dataDir);
  const stored = readSecrets(file);
  if (stored.adminToken !== undefined) return { token: stored.adminToken, source: 'file', file };
  const token = randomBytes(24).toString('base64url');
  writeSecrets(dataDir, file, { ...stored, adminToken: token });
  return { token, source: 'generated', file };
}

/** The token without creating anything: for the CLI, which never writes the data folder. */
export function readAdminToken(dataDir: string, configured?: string): string | undefined {
  return configured ?? readSecrets(secretsFileOf(dataDir)).adminToken;
}
