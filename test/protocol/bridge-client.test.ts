import net from 'node:net';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { LineFramer } from '../../src/protocol/framer.js';
import {
  encodeLine,
  handshakeCompleteLine,
  messageResponseLine,
  parseAnalyze,
  parseHandshake,
  pingLine,
  pingReplyDataSchema,
  verifyAuth,
} from '../../src/protocol/index.js';
import { BridgeClient, sanitize, signAuth } from '../support/bridge-client.js';

const KEYS = { secret: 'demo-shared-secret', salt: 'demo-salt' };
const T = 1721800000000;

/** A tiny line server: records each connection's lines and lets the test write to it. */
class LineServer {
  readonly server = net.createServer((socket) => this.accept(socket));
  readonly conns: Array<{ socket: net.Socket; lines: string[]; ended: boolean }> = [];
  private waiters: Array<() => void> = [];

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(socket: net.Socket): void {
    const conn = { socket, lines: [] as string[], ended: false };
    const framer = new LineFramer(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      framer.push(chunk, (l) => conn.lines.push(l.toString('utf8')));
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      conn.ended = true;
      this.wake();
    });
    this.conns.push(conn);
    this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** resolves once `check` holds (re-checked whenever something arrives) */
  async until<T>(check: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v) return v;
      if (Date.now() > deadline) throw new Error('timed out waiting for the server side');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let srv: LineServer;
let port: number;
const clients: BridgeClient[] = [];

async function connect(extra: Partial<Parameters<typeof BridgeClient.connect>[0]> = {}): Promise<BridgeClient> {
  const c = await BridgeClient.connect({ port, deviceIp: '192.168.0.23', now: () => T, ...KEYS, ...extra });
  clients.push(c);
  return c;
}

beforeEach(async () => {
  srv = new LineServer();
  port = await srv.listen();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await srv.close();
});

describe('BridgeClient → server', () => {
  test('writes the exact §2.2 handshake line first, and analyze right behind it without waiting', async () => {
    const c = await connect();
    const first = c.analyze('# echo hello');
    const second = c.analyze('good morning', { sender: 'Bob' });
    const conn = await srv.until(() => srv.conns[0]?.lines.length === 3 && srv.conns[0]);

    expect(conn.lines[0]).toBe(
      '{"clientType":"MessengerBotR","botName":"demo-bot","version":"3.2.1","deviceID":"a1b2c3","deviceIP":"192.168.0.23","deviceInfo":"samsung SM-G991N (Android 13, API 33)"}',
    );
    expect(c.handshakeLine()).toBe(conn.lines[0]);
    expect(parseHandshake(JSON.parse(conn.lines[0]!))).toMatchObject({ ok: true, handshake: { form: 'legacy' } });
    expect(conn.lines.slice(1)).toEqual([first, second]);
  });

  test('the analyze line is the §4.1 listener form, byte for byte, with the §3.3 vector-1 signature', async () => {
    const c = await connect();
    const sent = c.analyze('# echo hello');
    // identical to the §4.1 example except the timestamp, which is the phone's KST clock at T
    expect(sent).toBe(
      '{"event":"analyze","data":{"room":"Demo Room","text":"# echo hello","sender":"Alice","isGroupChat":true,"channelId":"18234567890123456","logId":"3301234567890123456","userHash":"9f8e7d6c5b4a","isMention":false,"timestamp":"2024-07-24 14:46:40","botName":"demo-bot","clientType":"MessengerBotR","auth":{"clientType":"MessengerBotR","botName":"demo-bot","deviceUUID":"a1b2c3","deviceID":"a1b2c3","macAddress":"02:00:00:00:00:00","ipAddress":"192.168.0.23","timestamp":1721800000000,"version":"3.2.1","signature":"913352daf416f7fe2ae9c3b703b27ba07bdaa6aa2715805a68e70af9ab64da3a"}}}',
    );
  });

  test('logIds count up as digit strings beyond 2^53; options override the defaults', async () => {
    const c = await connect();
    const ids = [
      c.analyze('a'),
      c.analyze('b'),
      c.analyze('c', { logId: null, channelId: null, room: 'New Room' }),
    ].map((l) => parseAnalyze(JSON.parse(l).data));
    expect(ids.map((r) => r.ok && r.value.logId)).toEqual(['3301234567890123456', '3301234567890123457', null]);
    expect(ids[2]).toMatchObject({ ok: true, value: { channelId: null, room: 'New Room' } });
  });

  test('auth variants: valid, none, bad, stale, custom', async () => {
    const c = await connect();
    const auth = (o: Parameters<BridgeClient['analyze']>[1]) => JSON.parse(c.analyze('x', o)).data.auth as unknown;
    expect(verifyAuth(auth({}), KEYS, T, 300_000, 'demo-bot')).toEqual({ ok: true });
    expect(auth({ auth: 'none' })).toBeUndefined();
    expect(verifyAuth(auth({ auth: 'bad' }), KEYS, T, 300_000)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyAuth(auth({ auth: 'stale' }), KEYS, T, 300_000)).toEqual({ ok: false, reason: 'stale' });
    expect(auth({ auth: { anything: 1 } })).toEqual({ anything: 1 });
  });

  test('text is sanitised like the phone does (§6.6); nothing is sent when nothing is left', async () => {
    const c = await connect();
    expect(sanitize('a\tb\u0000c\u202Ed\nline\r')).toBe('abcd\nline\r');
    expect(c.analyze('\u0001\u202A')).toBe('');
    expect(JSON.parse(c.analyze('x'.repeat(70_000))).data.text).toHaveLength(65_000);
  });

  test('signAuth builds the §3.2 object in the client member order', () => {
    const a = signAuth({ botName: 'demo-bot', deviceId: 'a1b2c3', macAddress: null }, KEYS, T);
    expect(Object.keys(a)).toEqual([
      'clientType',
      'botName',
      'deviceUUID',
      'deviceID',
      'macAddress',
      'ipAddress',
      'timestamp',
      'version',
      'signature',
    ]);
    // §3.3 vector 2 (macAddress null, ipAddress unknown)
    expect(a.signature).toBe('06e8664e93734c3dec0e1ea7e31c5fb67606c4b8365e58e02458a0b2f47d95ad');
  });
});

describe('server → BridgeClient', () => {
  test('next() returns packets in order, including ones that arrived before the call', async () => {
    const c = await connect();
    const conn = await srv.until(() => srv.conns[0]);
    conn.socket.write(
      handshakeCompleteLine({ approved: true, message: '승인된 디바이스입니다', serverVersion: '1.0.0' }, 'v3.2', T) +
        messageResponseLine({ room: 'Demo Room', channelId: '1', botName: 'demo-bot', text: '에코: hello' }, 'v3.2', T),
    );
    const reply = await c.next((p) => p.event === 'messageResponse');
    expect(reply.data.text).toBe('에코: hello');
    const hc = await c.next(); // arrived first, not consumed by the predicate above
    expect(hc).toEqual({
      event: 'handshakeComplete',
      data: { success: true, approved: true, message: '승인된 디바이스입니다', server_version: '1.0.0' },
    });
    await expect(c.next(undefined, 100)).rejects.toThrow(/no matching packet/);
  });

  test('answers a server ping exactly like §4.2, with a verifiable auth', async () => {
    const c = await connect();
    const conn = await srv.until(() => srv.conns[0]);
    conn.socket.write(pingLine('demo-bot', 1721800012000, 'v3.2'));
    const replyLine = await srv.until(() => conn.lines[1]);
    const reply = JSON.parse(replyLine) as { event: string; data: Record<string, unknown> };
    expect(reply.event).toBe('ping');
    expect(
      replyLine.startsWith('{"event":"ping","data":{"bot_name":"demo-bot","server_timestamp":1721800012000,'),
    ).toBe(true);
    const parsed = pingReplyDataSchema.parse(reply.data);
    expect(parsed.monitoring).toEqual({
      total_memory: 512,
      memory_usage: 87.3,
      memory_percent: 17.1,
      message_queue_size: 0,
      active_rooms: 4,
    });
    expect(verifyAuth(parsed.auth, KEYS, T, 300_000, 'demo-bot')).toEqual({ ok: true });
    expect((await c.next((p) => p.event === 'ping')).data.server_timestamp).toBe(1721800012000);
  });

  test('a string server_timestamp is echoed as a string; autoPing:false stays silent', async () => {
    const loud = await connect();
    const loudConn = await srv.until(() => srv.conns[0]?.lines.length === 1 && srv.conns[0]);
    const quiet = await connect({ autoPing: false });
    const quietConn = await srv.until(() => srv.conns[1]?.lines.length === 1 && srv.conns[1]);
    for (const conn of [loudConn, quietConn]) {
      conn.socket.write(encodeLine('ping', { bot_name: 'demo-bot', server_timestamp: 'x1' }));
    }
    await loud.next((p) => p.event === 'ping');
    await quiet.next((p) => p.event === 'ping');
    const echo = await srv.until(() => loudConn.lines[1]);
    expect(JSON.parse(echo).data.server_timestamp).toBe('x1');
    // a reply would have been written before this analyze, in the same receive step
    const marker = quiet.analyze('after the ping');
    expect(await srv.until(() => quietConn.lines[1])).toBe(marker);
  });

  test('reads like the phone: CR ends a line, junk and data-less packets are dropped (§1.3, §1.4)', async () => {
    const c = await connect();
    const conn = await srv.until(() => srv.conns[0]?.lines.length === 1 && srv.conns[0]);
    conn.socket.write(
      [
        '{"event":"messageResponse","data":{"room":"r",\r"text":"split by a raw CR"}}', // two broken lines
        '{"event":"ping"}', // no data → dropped, not answered
        '{"event":"ping","data":null}',
        `${messageResponseLine({ room: 'r', channelId: null, botName: 'b', text: 'v3.3' }, 'v3.3', T).trimEnd()}`, // payload after JSON
        '{"event":"messageResponse","data":{"room":"r","text":"ok"}}\r', // CRLF is fine
        '',
      ].join('\n'),
    );
    const ok = await c.next((p) => p.event === 'messageResponse');
    expect(ok.data.text).toBe('ok');
    expect(c.lines.slice(0, 2)).toEqual([
      '{"event":"messageResponse","data":{"room":"r",',
      '"text":"split by a raw CR"}}',
    ]);
    expect(c.lines).toHaveLength(6);
    expect(c.packets).toEqual([{ event: 'messageResponse', data: { room: 'r', text: 'ok' } }]);
    // no ping was answered: the next line after the handshake is this analyze
    const marker = c.analyze('after');
    expect(await srv.until(() => conn.lines[1])).toBe(marker);
  });

  test('close() is abrupt and the server sees the end; a server close wakes waitClosed and waiters', async () => {
    const c = await connect();
    const conn = await srv.until(() => srv.conns[0]);
    c.close();
    await srv.until(() => conn.ended);
    await c.waitClosed(1000);
    expect(c.closed).toBe(true);

    const d = await connect();
    const dConn = await srv.until(() => srv.conns[1]);
    const pending = d.next(() => true, 2000);
    dConn.socket.end();
    await expect(pending).rejects.toThrow(/closed/);
    await d.waitClosed(1000);
    expect(d.closed).toBe(true);
  });

  test('connect() rejects when nothing listens', async () => {
    const closed = new LineServer();
    const deadPort = await closed.listen();
    await closed.close();
    await expect(BridgeClient.connect({ port: deadPort, ...KEYS })).rejects.toThrow();
  });
});
