import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from './routes.js';

/**
 * The dashboard's files: plain HTML, CSS and JS in src/infra/admin/dashboard (shipped with the
 * package), and Mermaid's browser bundle from node_modules. Nothing is fetched from elsewhere;
 * the Content-Security-Policy keeps the page to this origin.
 */

const here = dirname(fileURLToPath(import.meta.url));

/** Next to this module under tsx (src/…), the source folder when running from dist/. */
export function dashboardDir(): string {
  const candidates = [join(here, 'dashboard'), resolve(here, '../../../src/infra/admin/dashboard')];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (found === undefined) throw new Error(`dashboard files not found in ${candidates.join(' or ')}`);
  return found;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** The only names served: a fixed list, so no path can walk out of the folder. */
export const DASHBOARD_FILES = [
  'index.html',
  'app.js',
  'pages.js',
  'pages-ops.js',
  'ui.js',
  'i18n.js',
  'app.css',
] as const;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  // Mermaid writes <style> into the SVG it renders
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "base-uri 'none'",
].join('; ');

export interface StaticFile {
  body: Buffer;
  type: string;
}

export class DashboardFiles {
  private readonly cache = new Map<string, StaticFile>();
  private readonly dir = dashboardDir();

  get(name: string): StaticFile {
    if (!(DASHBOARD_FILES as readonly string[]).includes(name) && name !== 'mermaid.min.js') {
      throw new HttpError(404, `no dashboard file ${name}`);
    }
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const path =
      name === 'mermaid.min.js'
        ? createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js')
        : join(this.dir, name);
    const file = { body: readFileSync(path), type: TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream' };
    this.cache.set(name, file);
    return file;
  }
}
