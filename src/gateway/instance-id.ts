import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * The gateway's instance id in the send record (docs/decisions.md "Durable sends"): whose queued
 * sends and schedule runs a row is. Kept in `<dataDir>/instance-id` so it outlives a restart and a
 * re-created container (whose host name changes; the data volume stays); made on first start.
 */
export function resolveInstanceId(dataDir: string): string {
  const file = join(dataDir, 'instance-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[\w.:@/-]{1,200}$/.test(id)) return id;
  }
  const id = `${
    hostname()
      .replace(/[^\w.-]/g, '')
      .slice(0, 100) || 'gateway'
  }-${randomBytes(6).toString('hex')}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${id}\n`);
  return id;
}
