import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  configEnvVars,
  loadConfig,
  printableConfig,
  unknownEnvVars,
} from '../../src/infra/config/load.js';
import { defaultConfig, LOG_CATEGORIES } from '../../src/infra/config/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'msgbot-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function configFile(content: unknown): string {
  const file = join(dir, `config-${++fileCount}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** The ConfigError message of a load that must fail. */
function failure(opts: Parameters<typeof loadConfig>[0]): string {
  try {
    loadConfig(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted a bad configuration');
}

describe('precedence: flags > env > file > defaults', () => {
  it('uses the seed defaults when nothing is given', () => {
    expect(loadConfig({})).toEqual(defaultConfig());
    expect(loadConfig({}).port).toBe(1485);
    expect(loadConfig({}).admin).toEqual({ host: '127.0.0.1', port: 9485, readyRequiresStore: false });
  });

  it('lets each source override the one below it, key by key', () => {
    const file = configFile({ port: 1600, host: '10.0.0.1', limits: { maxConnections: 7 }, admin: { port: 9999 } });
    const env = { MSGBOT_PORT: '1700', MSGBOT_LIMITS_MAX_CONNECTIONS: '8', MSGBOT_ADMIN_PORT: '9998' };
    const flags = { port: 1800, 'admin.port': 0 };

    expect(loadConfig({ file }).port).toBe(1600);
    expect(loadConfig({ file, env }).port).toBe(1700);
    const all = loadConfig({ file, env, flags });
    expect(all.port).toBe(1800); // flag
    expect(all.admin.port).toBe(0); // flag beats env and file
    expect(all.limits.maxConnections).toBe(8); // env beats file
    expect(all.host).toBe('10.0.0.1'); // file beats default
    expect(all.limits.maxLineBytes).toBe(1_048_576); // default inside a partly-set object
    expect(all.admin.host).toBe('127.0.0.1');
  });

  it('treats an empty env var and an undefined flag as not given', () => {
    const c = loadConfig({ env: { MSGBOT_PORT: '', MSGBOT_HMAC_SECRET: '' }, flags: { port: undefined } });
    expect(c.port).toBe(1485);
    expect(c.hmac.secret).toBeUndefined();
  });

  it('coerces env text by the type of the key, including per-category log levels', () => {
    const c = loadConfig({
      env: {
        MSGBOT_ROOMS_AUTO_APPROVE: 'yes',
        MSGBOT_LOG_PRETTY: '1',
        MSGBOT_PROCESSING_MODE: 'direct',
        MSGBOT_LIMITS_MAX_LINE_BYTES: '2048',
        MSGBOT_LOG_CATEGORIES_CLIENT: 'debug',
        MSGBOT_LOG_CATEGORIES_DATABASE: 'warn',
        MSGBOT_INSPECT: 'log',
      },
    });
    expect(c.rooms.autoApprove).toBe(true);
    expect(c.log.pretty).toBe(true);
    expect(c.processing.mode).toBe('direct');
    expect(c.limits.maxLineBytes).toBe(2048);
    expect(c.log.categories).toEqual({ client: 'debug', database: 'warn' });
    expect(c.inspect).toBe('log');
    expect(loadConfig({ env: { MSGBOT_ROOMS_AUTO_APPROVE: 'no' } }).rooms.autoApprove).toBe(false);
    expect(loadConfig({ env: { MSGBOT_ROOMS_AUTO_APPROVE: 'TRUE' } }).rooms.autoApprove).toBe(true);
    expect(loadConfig({ env: { MSGBOT_ROOMS_AUTO_APPROVE: '0' } }).rooms.autoApprove).toBe(false);
  });

  it('coerces string flags (as commander hands them over) like env vars', () => {
    const c = loadConfig({ flags: { port: '1900', 'rooms.autoApprove': 'true', 'log.categories.ping': 'trace' } });
    expect(c.port).toBe(1900);
    expect(c.rooms.autoApprove).toBe(true);
    expect(c.log.categories.ping).toBe('trace');
  });

  it('keeps the env names already in use', () => {
    const c = loadConfig({
      env: {
        MSGBOT_DATA_DIR: '/var/lib/msgbot',
        MSGBOT_DB_URL: 'mysql://kb:pw@127.0.0.1:3306/kb',
        MSGBOT_HMAC_SECRET: 'shh',
        MSGBOT_HMAC_SALT: 'pepper',
        MSGBOT_HOST: '127.0.0.1',
        MSGBOT_PORT: '4242',
      },
    });
    expect(c.dataDir).toBe('/var/lib/msgbot');
    expect(c.db.url).toBe('mysql://kb:pw@127.0.0.1:3306/kb');
    expect(c.hmac).toMatchObject({ secret: 'shh', salt: 'pepper' });
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(4242);
  });
});

describe('bad values stop start-up with a message naming key, value, source and what is allowed', () => {
  it('number from env', () => {
    expect(failure({ env: { MSGBOT_PORT: 'abc' } })).toBe(
      'port: "abc" from MSGBOT_PORT is not allowed: expected an integer 0–65535',
    );
    expect(failure({ env: { MSGBOT_PORT: '1.5' } })).toContain('port: "1.5" from MSGBOT_PORT');
    expect(failure({ env: { MSGBOT_PORT: '70000' } })).toBe(
      'port: 70000 from MSGBOT_PORT is not allowed: expected an integer 0–65535',
    );
    expect(failure({ env: { MSGBOT_PROCESSING_WORKERS: '0' } })).toBe(
      'processing.workers: 0 from MSGBOT_PROCESSING_WORKERS is not allowed: expected an integer ≥ 1',
    );
  });

  it('number from the file and from a flag', () => {
    const file = configFile({ limits: { maxLineBytes: -1 } });
    expect(failure({ file })).toBe(`limits.maxLineBytes: -1 from ${file} is not allowed: expected an integer ≥ 1`);
    const quoted = configFile({ port: '1500' });
    expect(failure({ file: quoted })).toBe(`port: "1500" from ${quoted} is not allowed: expected an integer 0–65535`);
    expect(failure({ flags: { port: -5 } })).toBe(
      'port: -5 from the command line is not allowed: expected an integer 0–65535',
    );
  });

  it('boolean', () => {
    expect(failure({ env: { MSGBOT_ROOMS_AUTO_APPROVE: 'maybe' } })).toBe(
      'rooms.autoApprove: "maybe" from MSGBOT_ROOMS_AUTO_APPROVE is not allowed: expected true/false, 1/0, yes/no or on/off',
    );
    const file = configFile({ rooms: { autoApprove: 'yes' } });
    expect(failure({ file })).toBe(`rooms.autoApprove: "yes" from ${file} is not allowed: expected true or false`);
  });

  it('enum', () => {
    expect(failure({ env: { MSGBOT_PROCESSING_MODE: 'fast' } })).toBe(
      'processing.mode: "fast" from MSGBOT_PROCESSING_MODE is not allowed: expected one of queued, direct',
    );
    expect(failure({ env: { MSGBOT_LOG_CATEGORIES_CLIENT: 'loud' } })).toBe(
      'log.categories.client: "loud" from MSGBOT_LOG_CATEGORIES_CLIENT is not allowed: expected one of trace, debug, info, warn, error, fatal, silent',
    );
  });

  it('url pattern, with the password masked in the message', () => {
    expect(failure({ env: { MSGBOT_DB_URL: 'postgres://kb:hunter2@db/kb' } })).toBe(
      'db.url: "postgres://kb:***@db/kb" from MSGBOT_DB_URL is not allowed: must start with sqlite: or mysql://',
    );
  });

  it('unknown keys in the file, named with their path', () => {
    const file = configFile({ prot: 1500, limits: { maxLine: 5 }, log: { categories: { http: 'debug' } } });
    const message = failure({ file });
    expect(message).toContain(`prot: unknown key in ${file}`);
    expect(message).toContain(`limits.maxLine: unknown key in ${file} (known here: maxLineBytes,`);
    expect(message).toContain(`log.categories.http: unknown key in ${file}`);
  });

  it('unknown flag keys', () => {
    expect(failure({ flags: { prot: 1 } })).toBe('prot: unknown key given on the command line');
  });

  it('a file that is not JSON, not an object or not there', () => {
    const broken = configFile('{ "port": 1500, }');
    expect(failure({ file: broken })).toMatch(new RegExp(`^config file ${broken} is not valid JSON: `));
    const list = configFile([1, 2]);
    expect(failure({ file: list })).toBe(`config file ${list} must hold a JSON object, found [1,2]`);
    expect(failure({ file: join(dir, 'missing.json') })).toMatch(/^cannot read config file .*missing\.json: ENOENT/);
  });

  it('reports every bad value at once', () => {
    const err = (() => {
      try {
        loadConfig({ env: { MSGBOT_PORT: 'abc', MSGBOT_PROCESSING_MODE: 'fast' }, flags: { 'admin.port': 99999 } });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(err.problems).toHaveLength(3);
    expect(err.message).toMatch(/^invalid configuration:\n {2}/);
  });
});

describe('printableConfig', () => {
  it('masks the secrets and only the password of db.url', () => {
    const c = loadConfig({
      env: {
        MSGBOT_HMAC_SECRET: 'top-secret',
        MSGBOT_HMAC_SALT: 'pepper',
        MSGBOT_DB_URL: 'mysql://kb:hunter2@db.local:3306/kb',
      },
    });
    const printed = printableConfig(c);
    const text = JSON.stringify(printed);
    expect(text).not.toContain('top-secret');
    expect(text).not.toContain('pepper');
    expect(text).not.toContain('hunter2');
    expect(printed).toMatchObject({
      hmac: { secret: '***', salt: '***', windowMs: 300_000 },
      db: { url: 'mysql://kb:***@db.local:3306/kb' },
      port: 1485,
    });
    // the config itself is untouched
    expect(c.hmac.secret).toBe('top-secret');
  });

  it('leaves a password-less URL and unset secrets alone', () => {
    const printed = printableConfig(loadConfig({ env: { MSGBOT_DB_URL: 'sqlite:./data/x.db' } }));
    expect(printed).toMatchObject({ db: { url: 'sqlite:./data/x.db' } });
    expect((printed as { hmac: object }).hmac).toEqual({ windowMs: 300_000 });
  });
});

describe('configEnvVars', () => {
  /** Every leaf path of a parsed config, plus the keys that are unset by default. */
  function leafPaths(obj: Record<string, unknown>, prefix = ''): string[] {
    return Object.entries(obj).flatMap(([k, v]) =>
      v !== null && typeof v === 'object'
        ? leafPaths(v as Record<string, unknown>, `${prefix}${k}.`)
        : [`${prefix}${k}`],
    );
  }

  it('takes admins (a record with free keys) as JSON from an env var, and names a bad one', () => {
    const c = loadConfig({ env: { MSGBOT_ADMINS: '{"demo-bot":["9f8e7d6c5b4a"]}' } });
    expect(c.admins).toEqual({ 'demo-bot': ['9f8e7d6c5b4a'] });
    expect(() => loadConfig({ env: { MSGBOT_ADMINS: '{demo' } })).toThrow(/admins.*a JSON object/);
  });

  it('covers every leaf of the schema, each with a unique MSGBOT_ name and a description', () => {
    const vars = configEnvVars();
    const paths = vars.map((v) => v.path);
    const expected = [
      ...leafPaths(defaultConfig() as unknown as Record<string, unknown>),
      'db.url',
      'hmac.secret',
      'hmac.salt',
      'admin.token',
      'tls.certFile',
      'tls.keyFile',
      'tls.port',
      'handlers',
      'admins', // a record with free keys: one JSON leaf
      'scheduler.mediaDir',
      'process.name',
      ...LOG_CATEGORIES.map((c) => `log.categories.${c}`),
    ];
    expect([...paths].sort()).toEqual([...new Set(expected)].sort());
    expect(new Set(vars.map((v) => v.env)).size).toBe(vars.length);
    for (const v of vars) {
      expect(v.env).toMatch(/^MSGBOT_[A-Z0-9_]+$/);
      expect(v.description.length).toBeGreaterThan(3);
    }
  });

  it('names env vars after the path in upper snake case', () => {
    const env = Object.fromEntries(configEnvVars().map((v) => [v.path, v.env]));
    expect(env['rooms.autoApprove']).toBe('MSGBOT_ROOMS_AUTO_APPROVE');
    expect(env['admin.port']).toBe('MSGBOT_ADMIN_PORT');
    expect(env['limits.maxLineBytes']).toBe('MSGBOT_LIMITS_MAX_LINE_BYTES');
    expect(env['log.categories.client']).toBe('MSGBOT_LOG_CATEGORIES_CLIENT');
  });

  it('marks the secrets and carries the defaults', () => {
    const vars = configEnvVars();
    expect(vars.filter((v) => v.secret).map((v) => v.path)).toEqual([
      'db.url',
      'hmac.secret',
      'hmac.salt',
      'admin.token',
    ]);
    expect(vars.find((v) => v.path === 'port')).toMatchObject({ default: 1485, type: 'integer' });
    expect(vars.find((v) => v.path === 'processing.mode')).toMatchObject({ default: 'queued', type: 'enum' });
  });

  it('finds MSGBOT_ variables that name no key', () => {
    expect(unknownEnvVars({ MSGBOT_PROT: '1', MSGBOT_PORT: '2', HOME: '/root' })).toEqual(['MSGBOT_PROT']);
  });
});
