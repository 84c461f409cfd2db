import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';

/**
 * Image sources of a kb_schedule row (PROTOCOL §7.12): with `image_storage_mode = 'file'` each
 * element's `path` is read from the web application's data folder (config `scheduler.mediaDir`)
 * and base64-encoded, inline `base64` accepted too; with `'base64'` the element's `base64` is
 * used. Anything else — not a list, an element without a source, a path leaving the folder —
 * throws, and the scheduler records `bad-media`.
 */

const element = z.looseObject({
  path: z.string().min(1).optional(),
  base64: z.string().min(1).optional(),
  name: z.string().optional(),
});
const group = z.array(element);
const BASE64 = /^[A-Za-z0-9+/\r\n]+={0,2}$/;

export class BadMediaError extends Error {
  override readonly name = 'BadMediaError';
}

function inside(base: string, full: string): boolean {
  const rel = relative(base, full);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** `rel` resolved under `mediaDir`, symlinks included; throws BadMediaError when it leaves it. */
export async function resolveMediaPath(mediaDir: string, rel: string): Promise<string> {
  const base = resolve(mediaDir);
  const full = resolve(base, rel);
  if (isAbsolute(rel) || !inside(base, full)) throw new BadMediaError(`path leaves scheduler.mediaDir: ${rel}`);
  let real: string;
  try {
    real = await realpath(full);
  } catch {
    throw new BadMediaError(`no such image file: ${rel}`);
  }
  if (!inside(await realpath(base), real)) throw new BadMediaError(`path leaves scheduler.mediaDir: ${rel}`);
  return real;
}

export function scheduleMediaLoader(mediaDir: string | undefined) {
  return async (value: unknown, mode: string): Promise<string[]> => {
    const parsed = group.safeParse(value);
    if (!parsed.success) throw new BadMediaError('image list is not a JSON array of {path} or {base64} objects');
    const out: string[] = [];
    for (const el of parsed.data) {
      if (el.base64 !== undefined) {
        const data = el.base64.replace(/^data:[^,]*;base64,/, '');
        if (!BASE64.test(data)) throw new BadMediaError(`element ${el.name ?? out.length + 1} is not base64`);
        out.push(data.replace(/[\r\n]/g, ''));
        continue;
      }
      if (mode !== 'file') throw new BadMediaError(`element ${el.name ?? out.length + 1} has no base64 (mode ${mode})`);
      if (el.path === undefined)
        throw new BadMediaError(`element ${el.name ?? out.length + 1} has neither path nor base64`);
      if (mediaDir === undefined) throw new BadMediaError('scheduler.mediaDir is not set: file images cannot be read');
      const file = await resolveMediaPath(mediaDir, el.path);
      out.push((await readFile(file)).toString('base64'));
    }
    return out;
  };
}
