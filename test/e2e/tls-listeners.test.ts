import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/infra/config/schema.js';
import { readTlsFiles } from '../../src/infra/tcp/tls-files.js';
import { spawnDaemon } from '../daemon/child.js';
import { KEYS } from '../support/fake-connection.js';
import { startTestGateway, until } from '../support/test-gateway.js';

/** TLS beside plain TCP (tls.port), plain-TCP clients on the TLS port, bad files, certificate reload. */

const HANDSHAKE =
  '{"clientType":"MessengerBotR","botName":"demo-bot","version":"3.2.1","deviceID":"tls-phone","deviceIP":"10.0.0.9","deviceInfo":"x"}\n';

let dir: string;
const pems: Record<'a' | 'b', { key: Buffer; cert: Buffer; keyFile: string; certFile: string }> = {} as never;

function makeCert(name: 'a' | 'b'): void {
  const keyFile = join(dir, `${name}-key.pem`);
  const certFile = join(dir, `${name}-cert.pem`);
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
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  pems[name] = { key: readFileSync(keyFile), cert: readFileSync(certFile), keyFile, certFile };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'msgbot-tls2-'));
  makeCert('a');
  makeCert('b');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Connects over TLS trusting `ca`; resolves with the first line received after the handshake. */
function tlsHandshake(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    let received = '';
    socket.once('error', reject);
    socket.once('secureConnect', () => socket.write(HANDSHAKE));
    socket.on('data', (d: Buffer) => {
      received += d.toString('utf8');
      if (received.includes('\n')) {
        socket.destroy();
        resolve(received.split('\n')[0]!);
      }
    });
  });
}

function plainHandshake(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.once('error', reject);
    socket.write(HANDSHAKE);
    socket.on('data', (d: Buffer) => {
      received += d.toString('utf8');
      if (received.includes('\n')) {
        socket.destroy();
        resolve(received.split('\n')[0]!);
      }
    });
    socket.once('close', () => resolve(received));
  });
}

function plainOnTls(port: number): Promise<void> {
  const plain = net.connect(port, '127.0.0.1');
  plain.on('error', () => {});
  plain.write(HANDSHAKE);
  return new Promise((r) => plain.once('close', () => r()));
}

describe('TLS listeners', () => {
  it('logs a plain-TCP client on the TLS port once per peer per minute, and counts every one', async () => {
    const t = await startTestGateway({ tls: pems.a });
    try {
      const warned = () => t.logs.filter((l) => String(l.msg).startsWith('a plain-TCP client on the TLS port'));
      await plainOnTls(t.port);
      await plainOnTls(t.port);
      const refused = async () =>
        (await t.gateway.metrics.connectionsRefused.get()).values.find((v) => v.labels.reason === 'tls')?.value;
      expect(await refused()).toBe(2);
      expect(warned()).toHaveLength(1);
      expect(warned()[0]).toMatchObject({ level: 40, peer: '127.0.0.1', code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
      await t.advance(60_000);
      await plainOnTls(t.port);
      await until(() => warned().length === 2);
      expect(await refused()).toBe(3);
    } finally {
      await t.stop();
    }
  });

  it('tls.port runs a TLS listener beside the plain one', async () => {
    const t = await startTestGateway({ tls: pems.a, config: { tls: { port: 0 } } });
    try {
      expect(t.gateway.tlsPort).toBeDefined();
      expect(t.gateway.tlsPort).not.toBe(t.port);
      expect(JSON.parse(await plainHandshake(t.port))).toMatchObject({ event: 'handshakeComplete' });
      expect(JSON.parse(await tlsHandshake(t.gateway.tlsPort!, pems.a.cert))).toMatchObject({
        event: 'handshakeComplete',
      });
      const listening = t.logs.find((l) => l.msg === 'listening for phones');
      expect(listening).toMatchObject({ port: t.port, tlsPort: t.gateway.tlsPort, tls: 'beside' });
    } finally {
      await t.stop();
    }
  });

  it('names the config key of a bad certificate or key file', () => {
    const tlsOf = (v: Record<string, unknown>) => configSchema.parse({ tls: v }).tls;
    expect(() => readTlsFiles(tlsOf({ certFile: join(dir, 'nope.pem'), keyFile: pems.a.keyFile }))).toThrow(
      /^tls\.certFile \(MSGBOT_TLS_CERT_FILE\): cannot read/,
    );
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a pem\n');
    expect(() => readTlsFiles(tlsOf({ certFile: pems.a.certFile, keyFile: garbage }))).toThrow(
      /^tls\.keyFile \(MSGBOT_TLS_KEY_FILE\): .*is not a PEM private key/,
    );
    expect(() => readTlsFiles(tlsOf({ certFile: garbage, keyFile: pems.a.keyFile }))).toThrow(
      /^tls\.certFile \(MSGBOT_TLS_CERT_FILE\): .*is not a PEM certificate/,
    );
    expect(() => readTlsFiles(tlsOf({ certFile: pems.a.certFile, keyFile: pems.b.keyFile }))).toThrow(
      /^tls\.keyFile \(MSGBOT_TLS_KEY_FILE\): .*does not belong to the certificate/,
    );
    expect(() => readTlsFiles(tlsOf({ certFile: pems.a.certFile }))).toThrow(/^tls\.keyFile .*missing/);
    expect(() => readTlsFiles(tlsOf({ port: 1486 }))).toThrow(/^tls\.port \(MSGBOT_TLS_PORT\) = 1486: needs/);
    expect(readTlsFiles(tlsOf({ certFile: pems.a.certFile, keyFile: pems.a.keyFile }))?.cert).toEqual(pems.a.cert);
  });

  it('SIGHUP reloads the certificate in the running daemon', async () => {
    const certFile = join(dir, 'live-cert.pem');
    const keyFile = join(dir, 'live-key.pem');
    copyFileSync(pems.a.certFile, certFile);
    copyFileSync(pems.a.keyFile, keyFile);
    const d = spawnDaemon(['--host', '127.0.0.1', '--port', '0', '--admin-port', '0'], {
      MSGBOT_DATA_DIR: join(dir, 'data'),
      MSGBOT_HMAC_SECRET: KEYS.secret,
      MSGBOT_HMAC_SALT: KEYS.salt,
      MSGBOT_TLS_CERT_FILE: certFile,
      MSGBOT_TLS_KEY_FILE: keyFile,
    });
    try {
      const listening = await d.waitLog((l) => l.msg === 'listening for phones');
      const port = Number(listening.port);
      expect(listening.tls).toBe('only');
      expect(JSON.parse(await tlsHandshake(port, pems.a.cert))).toMatchObject({ event: 'handshakeComplete' });
      // a broken renewal is refused and the old certificate stays
      writeFileSync(keyFile, 'half-written\n');
      d.child.kill('SIGHUP');
      await d.waitLog((l) => l.msg === 'TLS certificate reload failed; the previous certificate stays in use');
      expect(JSON.parse(await tlsHandshake(port, pems.a.cert))).toMatchObject({ event: 'handshakeComplete' });
      // the renewed pair takes over for new connections
      copyFileSync(pems.b.certFile, certFile);
      copyFileSync(pems.b.keyFile, keyFile);
      d.child.kill('SIGHUP');
      await d.waitLog((l) => l.msg === 'TLS certificate reloaded');
      expect(JSON.parse(await tlsHandshake(port, pems.b.cert))).toMatchObject({ event: 'handshakeComplete' });
      await expect(tlsHandshake(port, pems.a.cert)).rejects.toThrow(/self-signed|certificate/i);
      d.child.kill('SIGTERM');
      expect((await d.exited).code).toBe(0);
    } finally {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    }
  });
});
