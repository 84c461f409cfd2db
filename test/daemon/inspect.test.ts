import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createInspectObserver } from '../../src/infra/inspect/index.js';
import { createLoggers } from '../../src/infra/logger.js';
import { BridgeClient } from '../support/bridge-client.js';
import { KEYS } from '../support/fake-connection.js';
import { startTestGateway, until } from '../support/test-gateway.js';

/**
 * Issue 5 §4: the JSON-lines inspector (`--inspect`) records a full connection lifecycle —
 * handshaking → approved → active → closed — as the actor really went through it over TCP.
 */

type TG = Awaited<ReturnType<typeof startTestGateway>>;
let tg: TG | undefined;
afterEach(async () => {
  await tg?.stop();
  tg = undefined;
});

type Line = Record<string, unknown>;

function capturedInspectLog(): { lines: Line[]; log: ReturnType<typeof createLoggers>['cat']['inspect'] } {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: createLoggers({ level: 'info', destination }).cat.inspect };
}

/** Top-level state name of a snapshot value (`{ active: {...} }` → `active`). */
function topState(value: unknown): string {
  if (typeof value === 'string') return value;
  return Object.keys(value as object)[0] ?? '?';
}

describe('JSON-lines actor inspection (issue 5 §4)', () => {
  it('records handshaking → approved → active → closed for a connection actor', async () => {
    const { lines, log } = capturedInspectLog();
    const inspector = createInspectObserver(log);
    tg = await startTestGateway({ inspect: inspector.observer });
    const t = tg;
    await t.store.setDeviceStatus({ botName: 'demo-bot', deviceId: 'a1b2c3' }, 'approved');

    const c = await BridgeClient.connect({
      port: t.port,
      secret: KEYS.secret,
      salt: KEYS.salt,
      now: () => t.clock?.now() ?? Date.now(),
    });
    await c.next((p) => p.event === 'handshakeComplete');
    c.close(); // the phone goes away: EOF
    await until(() => t.logs.some((l) => l.msg === 'connection closed'));

    // Every line is one of the three kinds, in the `inspect` category, and carries no context.
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(['@xstate.actor', '@xstate.event', '@xstate.snapshot']).toContain(line.msg);
      expect(line.cat).toBe('inspect');
      expect(line).not.toHaveProperty('context');
    }

    const registered = lines.filter((l) => l.msg === '@xstate.actor' && l.machine === 'connection');
    expect(registered).toHaveLength(1);
    const session = registered[0]!.session;
    expect(typeof session).toBe('string');

    const mine = lines.filter((l) => l.session === session);
    const snapshots = mine.filter((l) => l.msg === '@xstate.snapshot');
    const states: string[] = [];
    for (const s of snapshots) {
      const state = topState(s.value);
      if (states.at(-1) !== state) states.push(state);
    }
    expect(states).toEqual(['handshaking', 'approved', 'active', 'closed']);
    // the actor ends: its last snapshot is the final state, status done
    expect(snapshots.at(-1)).toMatchObject({ value: 'closed', status: 'done' });
    // the active value shows the parallel regions as they were
    const active = snapshots.find((s) => topState(s.value) === 'active');
    expect(active?.value).toMatchObject({
      active: { reader: 'flowing', heartbeat: 'waiting', liveness: 'listening', standing: 'full' },
    });

    // what moved it: the handshake line, the device lookup, the EOF of the socket
    const events = mine.filter((l) => l.msg === '@xstate.event').map((l) => l.event);
    expect(events[0]).toBe('xstate.init');
    expect(events).toContain('LINE');
    expect(events.some((e) => typeof e === 'string' && e.startsWith('xstate.done.actor.'))).toBe(true);
    expect(events).toContain('EOF');
    expect(events.indexOf('LINE')).toBeLessThan(events.indexOf('EOF'));
  });

  it('writes nothing while switched off, and resumes when switched on', async () => {
    const { lines, log } = capturedInspectLog();
    const inspector = createInspectObserver(log, { enabled: false });
    tg = await startTestGateway({ inspect: inspector.observer });
    const t = tg;
    const first = await BridgeClient.connect({ port: t.port, secret: KEYS.secret, salt: KEYS.salt });
    await first.next((p) => p.event === 'handshakeComplete');
    first.close();
    await until(() => t.logs.some((l) => l.msg === 'connection closed'));
    expect(lines).toEqual([]);

    inspector.setEnabled(true);
    const second = await BridgeClient.connect({ port: t.port, secret: KEYS.secret, salt: KEYS.salt });
    await second.next((p) => p.event === 'handshakeComplete');
    second.close();
    await until(() => t.logs.filter((l) => l.msg === 'connection closed').length === 2);
    expect(lines.some((l) => l.msg === '@xstate.snapshot' && l.value === 'closed')).toBe(true);
  });
});
