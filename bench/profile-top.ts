import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * Hot spots of a V8 `.cpuprofile` (what `node --cpu-prof` writes): self and inclusive time per
 * function and self time per file, so a bench run can say where the gateway spends its CPU.
 * Also usable alone: `npx tsx bench/profile-top.ts <file.cpuprofile> [N]`.
 */

const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({
        functionName: z.string(),
        url: z.string(),
        lineNumber: z.number(),
      }),
      hitCount: z.number().optional(),
      children: z.array(z.number()).optional(),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()).optional(),
});

export interface HotSpot {
  name: string;
  /** % of all samples (idle excluded from nothing: compare with `idlePercent`) */
  selfPercent: number;
  totalPercent: number;
}

export interface ProfileSummary {
  durationMs: number;
  idlePercent: number;
  gcPercent: number;
  functions: HotSpot[];
  files: Array<{ file: string; selfPercent: number }>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function shortUrl(url: string): string {
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('node_modules/');
  if (nm !== -1) return path.slice(nm + 'node_modules/'.length);
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const profile = profileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const keyOf = (n: (typeof profile.nodes)[number]) => {
    const f = n.callFrame;
    const where = f.url === '' ? '' : ` ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    return `${f.functionName || '(anonymous)'}${where}`;
  };
  const samples = profile.samples?.length ?? profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const total = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  // inclusive hits: a node's hits count once for every distinct function on its stack
  const visit = (id: number, stack: Set<string>): number => {
    const n = byId.get(id);
    if (n === undefined) return 0;
    const key = keyOf(n);
    const hits = n.hitCount ?? 0;
    self.set(key, (self.get(key) ?? 0) + hits);
    const fileKey = n.callFrame.url === '' ? `(${n.callFrame.functionName || 'native'})` : shortUrl(n.callFrame.url);
    files.set(fileKey, (files.get(fileKey) ?? 0) + hits);
    if (n.callFrame.functionName === '(idle)') idle += hits;
    if (n.callFrame.functionName === '(garbage collector)') gc += hits;
    const fresh = !stack.has(key);
    if (fresh) stack.add(key);
    let sub = hits;
    for (const child of n.children ?? []) sub += visit(child, stack);
    if (fresh) {
      stack.delete(key);
      total.set(key, (total.get(key) ?? 0) + sub);
    }
    return sub;
  };
  const root = profile.nodes[0];
  if (root !== undefined) visit(root.id, new Set());
  const pct = (hits: number) => Math.round((hits / Math.max(1, samples)) * 1000) / 10;
  const functions = [...self]
    .filter(([key]) => !key.startsWith('(idle)') && !key.startsWith('(root)') && !key.startsWith('(program)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, hits]) => ({ name, selfPercent: pct(hits), totalPercent: pct(total.get(name) ?? hits) }));
  const fileList = [...files]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([f, hits]) => ({ file: f, selfPercent: pct(hits) }));
  return {
    durationMs: (profile.endTime - profile.startTime) / 1000,
    idlePercent: pct(idle),
    gcPercent: pct(gc),
    functions,
    files: fileList,
  };
}

export function formatProfile(p: ProfileSummary): string {
  const out = [
    `  profile: ${(p.durationMs / 1000).toFixed(1)} s, idle ${p.idlePercent}%, GC ${p.gcPercent}%`,
    '  top functions by self time (self% / inclusive%):',
    ...p.functions.map(
      (f) => `    ${f.selfPercent.toFixed(1).padStart(5)}% ${f.totalPercent.toFixed(1).padStart(5)}%  ${f.name}`,
    ),
    '  self time by file:',
    ...p.files.map((f) => `    ${f.selfPercent.toFixed(1).padStart(5)}%  ${f.file}`),
  ];
  return out.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, n] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: npx tsx bench/profile-top.ts <file.cpuprofile> [N]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(summarizeProfile(file, n === undefined ? 20 : Number(n)))}\n`);
}
