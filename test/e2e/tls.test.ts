import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, until } from '../support/test-gateway.js';

const HANDSHAKE =
  '{"clientType":"MessengerBotR","botName":"demo-bot","version":"3.2.1","deviceID":"tls-phone","deviceIP":"10.0.0.9","deviceInfo":"x"}\n';

let dir: string;
let pem: { key: Buffer; cert: Buffer };
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  pem = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('speaks the same protocol over TLS when a certificate is configured', async () => {
  const t = await startTestGateway({ tls: pem });
  try {
    const socket = tls.connect({ host: '127.0.0.1', port: t.port, ca: pem.cert, servername: 'localhost' });
    await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    let received = '';
    socket.on('data', (d: Buffer) => {
      received += d.toString('utf8');
    });
    socket.write(HANDSHAKE);
    await until(() => received.includes('\n'));
    expect(JSON.parse(received.split('\n')[0]!)).toMatchObject({ event: 'handshakeComplete', data: { success: true } });
    socket.destroy();

    // a plain-TCP client on the TLS port gets nothing and is counted
    const plain = net.connect(t.port, '127.0.0.1');
    plain.on('error', () => {});
    plain.write(HANDSHAKE);
    await new Promise((r) => plain.once('close', r));
    const refused = await t.gateway.metrics.connectionsRefused.get();
    expect(refused.values.find((v) => v.labels.reason === 'tls')?.value).toBe(1);
  } finally {
    await t.stop();
  }
});
