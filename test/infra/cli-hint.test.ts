import { describe, expect, it } from 'vitest';
import { cliPrefix, describeStore } from '../../src/infra/cli-hint.js';
import { loadConfig } from '../../src/infra/config/load.js';

/** The store options the daemon's logged commands carry (cli-hint.ts). */

function config(flags: Record<string, unknown>) {
  return loadConfig({ flags, env: {} });
}

describe('cliPrefix', () => {
  it('SQLite: the absolute data folder, whatever the daemon was given', () => {
    expect(cliPrefix(config({ dataDir: '/srv/msgbot/data' }), {}, {}).prefix).toBe(
      'msgbot-gateway --data /srv/msgbot/data',
    );
    expect(cliPrefix(config({ 'db.url': 'sqlite:/srv/x.db' }), {}, {}).prefix).toBe(
      'msgbot-gateway --db sqlite:/srv/x.db',
    );
  });

  it('MySQL: the config file when it carries the URL, else the URL with its password masked', () => {
    const url = 'mysql://bot:pw@db:3306/kakao';
    const fromFile = cliPrefix(config({ 'db.url': url }), { config: '/etc/msgbot/config.json' }, {});
    expect(fromFile).toEqual({ prefix: 'msgbot-gateway --config /etc/msgbot/config.json', needsPassword: false });
    const fromEnv = cliPrefix(config({ 'db.url': url }), {}, { MSGBOT_DB_URL: url });
    expect(fromEnv).toEqual({ prefix: "msgbot-gateway --db 'mysql://bot:***@db:3306/kakao'", needsPassword: true });
    expect(fromEnv.prefix).not.toContain('pw');
  });

  it('describeStore shows the absolute SQLite path or the masked URL', () => {
    expect(describeStore('sqlite:/a/b.db')).toBe('sqlite:/a/b.db');
    expect(describeStore('mysql://u:secret@h/db')).toBe('mysql://u:***@h/db');
  });
});
