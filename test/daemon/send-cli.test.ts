import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SendRecord } from '../../src/gateway/send-outcomes.js';
import { messageRoutes } from '../../src/infra/admin/message-routes.js';
import { type AdminServer, startAdminServer } from '../../src/infra/admin/server.js';
import { configSchema } from '../../src/infra/config/schema.js';
import { silentLoggers } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';
import { CliError, sendThroughDaemon } from '../../src/send-cli.js';

/** `msgbot-gateway send`: the CLI side of POST /messages and GET /messages/<id>. */

const TOKEN = 'cli-test-token-0123456789';
let admin: AdminServer | undefined;
afterEach(async () => {
  await admin?.close();
  admin = undefined;
});

function configFor(port: number) {
  return configSchema.parse({ dataDir: '/nonexistent-msgbot-data', admin: { host: '127.0.0.1', port, token: TOKEN } });
}

async function daemonStub(outcomes: SendRecord['status'][]) {
  const bodies: unknown[] = [];
  let polls = 0;
  const record = (status: SendRecord['status']): SendRecord => ({
    id: '01JTEST',
    kind: 'api',
    botName: 'demo-bot',
    channelId: '18234567890123456',
    status,
    acceptedAt: 0,
    ...(status === 'delivered' ? { deviceId: 'a1b2c3', at: 0 } : {}),
    ...(status === 'failed' ? { reason: 'expired' as const, detail: 'gone', at: 0 } : {}),
  });
  admin = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    metrics: createMetrics(),
    log: silentLoggers().root,
    readiness: () => ({ ready: true, checks: {} }),
    actors: () => ({}),
    setLogLevel: () => {},
    routes: messageRoutes({
      accept: async (input) => {
        bodies.push(input);
        return record('queued');
      },
      outcome: () => record(outcomes[Math.min(polls++, outcomes.length - 1)]!),
    }),
  });
  return { port: admin.port, bodies };
}

describe('msgbot-gateway send', () => {
  it('posts with the token, prints the id and waits for the outcome (exit 0 when delivered)', async () => {
    const stub = await daemonStub(['queued', 'delivered']);
    const lines: string[] = [];
    const code = await sendThroughDaemon(
      configFor(stub.port),
      { bot: 'demo-bot', channelId: '18234567890123456', text: '안녕' },
      { wait: 10, device: 'a1b2c3' },
      (l) => lines.push(l),
      async () => {},
    );
    expect(code).toBe(0);
    expect(lines).toEqual(['id 01JTEST', 'delivered to a1b2c3 at 1970-01-01T00:00:00.000Z']);
    expect(stub.bodies).toEqual([
      { botName: 'demo-bot', channelId: '18234567890123456', deviceId: 'a1b2c3', text: '안녕' },
    ]);
  });

  it('says failed with the reason (exit 1), or still queued after the wait (exit 3)', async () => {
    const failed = await daemonStub(['failed']);
    const lines: string[] = [];
    const args = { bot: 'demo-bot', channelId: '1', text: 'x' };
    expect(
      await sendThroughDaemon(
        configFor(failed.port),
        args,
        { wait: 10 },
        (l) => lines.push(l),
        async () => {},
      ),
    ).toBe(1);
    expect(lines.at(-1)).toBe('failed: expired (gone)');
    await admin?.close();
    const queued = await daemonStub(['queued']);
    expect(await sendThroughDaemon(configFor(queued.port), args, { wait: 0 }, (l) => lines.push(l))).toBe(3);
    expect(lines.at(-1)).toMatch(/^still queued after the wait/);
  });

  it('a clear error when the daemon is not running, or the admin endpoint is off', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const args = { bot: 'demo-bot', channelId: '1', text: 'x' };
    await expect(sendThroughDaemon(configFor(port), args, { wait: 1 }, () => {})).rejects.toThrow(
      `the daemon is not running: nothing answers at http://127.0.0.1:${port}`,
    );
    await expect(sendThroughDaemon(configFor(0), args, { wait: 1 }, () => {})).rejects.toBeInstanceOf(CliError);
  });
});
