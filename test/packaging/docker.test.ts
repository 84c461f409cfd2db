import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The container packaging: the Dockerfile's essentials, checked statically everywhere, and
 * `npm run docker:smoke` (build + compose up with MariaDB + health checks) where Docker runs.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const lines = text.split('\n').filter((l) => !l.trimStart().startsWith('#'));
  const stages = lines.filter((l) => /^FROM\s/i.test(l));
  const final = lines.slice(lines.indexOf(stages.at(-1)!)).join('\n');

  it('builds the compiled daemon in a build stage and runs dist/cli.js on Node 20', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.every((l) => /node:20/.test(l))).toBe(true);
    expect(text).toMatch(/RUN .*npm ci/);
    expect(text).toMatch(/RUN .*npm run build/);
    expect(text).toMatch(/npm prune --omit=dev/);
    expect(final).toMatch(/COPY --from=build \S*\/dist \.\/dist/);
    expect(final).toMatch(/ENTRYPOINT \["node", "dist\/cli\.js"\]/);
    expect(final).toMatch(/CMD \["serve"\]/);
    expect(final).not.toMatch(/tsx/);
  });

  it('runs as a non-root user with the data folder as a volume', () => {
    const user = /^USER\s+(\S+)/m.exec(final)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(final).toMatch(/VOLUME \["\/data"\]/);
    expect(final).toMatch(/MSGBOT_DATA_DIR=\/data/);
    expect(final).toMatch(/chown node:node \/data/);
    expect(final).toMatch(/ln -s \/app \/node_modules\/msgbot-gateway/);
  });

  it('has a healthcheck on /healthz', () => {
    expect(final).toMatch(/HEALTHCHECK [^\n]*\\\n\s*CMD \[.*\/healthz/);
  });

  it('keeps node_modules, dist and data out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', 'dist', 'data', '.git']) expect(ignored).toContain(entry);
  });

  it('compose.yaml runs the gateway against MariaDB with a data volume', () => {
    const compose = read('compose.yaml');
    expect(compose).toMatch(/^ {2}mariadb:\n {4}image: mariadb:/m);
    expect(compose).toMatch(/^ {2}gateway:\n {4}build: \./m);
    expect(compose).toMatch(/MSGBOT_DB_URL: mysql:\/\/msgbot:\S+@mariadb:3306\/kakaobot/);
    expect(compose).toMatch(/condition: service_healthy/);
    expect(compose).toMatch(/- gateway-data:\/data/);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['docker:smoke']).toBe('bash scripts/docker-smoke.sh');
  });
});

async function dockerAvailable(): Promise<{ ok: boolean; why: string }> {
  try {
    await promisify(execFile)('docker', ['info'], { timeout: 20_000 });
    return { ok: true, why: '' };
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string };
    const why = e.code === 'ENOENT' ? 'no docker command' : (e.stderr ?? String(err)).trim().split('\n')[0];
    return { ok: false, why: why ?? '' };
  }
}

describe('npm run docker:smoke', () => {
  it('builds the image, starts gateway + MariaDB and finds them healthy', { timeout: 900_000 }, async (ctx) => {
    const docker = await dockerAvailable();
    if (!docker.ok) {
      ctx.skip(
        `Docker is not available here (\`docker info\` failed: ${docker.why}); run \`npm run docker:smoke\` where it is`,
      );
    }
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('bash', [join(ROOT, 'scripts/docker-smoke.sh')], { cwd: ROOT });
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString('utf8');
      });
      child.stderr.on('data', (b: Buffer) => {
        out += b.toString('utf8');
      });
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(result.out).toContain('docker-smoke: ok');
    expect(result.code).toBe(0);
  });
});
