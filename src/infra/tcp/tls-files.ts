/**
 * The PEM files of `tls.certFile` / `tls.keyFile`, checked before any listener starts, so a bad
 * file stops start-up (or a SIGHUP reload) with a message naming the config key and its env var.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/schema.js';

const CERT = 'tls.certFile (MSGBOT_TLS_CERT_FILE)';
const KEY = 'tls.keyFile (MSGBOT_TLS_KEY_FILE)';

function read(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError([`${key}: cannot read "${file}": ${(err as Error).message}`]);
  }
}

function why(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Both files or neither; undefined when TLS is off. */
export function readTlsFiles(t: Config['tls']): { key: Buffer; cert: Buffer } | undefined {
  const { certFile, keyFile } = t;
  if (certFile === undefined && keyFile === undefined) {
    if (t.port !== undefined) {
      throw new ConfigError([`tls.port (MSGBOT_TLS_PORT) = ${t.port}: needs ${CERT} and ${KEY}`]);
    }
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    throw new ConfigError([`${certFile === undefined ? CERT : KEY}: missing; ${CERT} and ${KEY} go together`]);
  }
  const cert = read(certFile, CERT);
  const key = read(keyFile, KEY);
  try {
    tls.createSecureContext({ cert });
  } catch (err) {
    throw new ConfigError([`${CERT}: "${certFile}" is not a PEM certificate: ${why(err)}`]);
  }
  try {
    tls.createSecureContext({ key });
  } catch (err) {
    throw new ConfigError([`${KEY}: "${keyFile}" is not a PEM private key (unencrypted): ${why(err)}`]);
  }
  try {
    tls.createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError([`${KEY}: "${keyFile}" does not belong to the certificate of ${CERT}: ${why(err)}`]);
  }
  return { cert, key };
}
