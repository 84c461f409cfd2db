/**
 * What the "listening for phones" line says: the address and port to put into the bridge
 * script's server list — on 0.0.0.0 (or ::) the machine's own addresses, since 0.0.0.0 is not
 * something a phone can connect to.
 */
import { networkInterfaces } from 'node:os';
import type { Config } from '../infra/config/schema.js';

export function machineAddresses(host: string, family: 'IPv4' | 'any' = host === '::' ? 'any' : 'IPv4'): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (family === 'IPv4' && a.family !== 'IPv4') continue;
      out.push(a.family === 'IPv6' ? `[${a.address}]` : a.address);
    }
  }
  return out.length > 0 ? out : ['127.0.0.1'];
}

export function listeningFields(
  config: Pick<Config, 'host' | 'processing'>,
  ports: { port: number; tlsPort: number | undefined },
): Record<string, unknown> {
  const addresses = machineAddresses(config.host);
  const tlsOnly = ports.tlsPort !== undefined && ports.tlsPort === ports.port;
  return {
    host: config.host,
    port: ports.port,
    ...(ports.tlsPort === undefined ? {} : { tlsPort: ports.tlsPort }),
    tls: tlsOnly ? 'only' : ports.tlsPort === undefined ? 'off' : 'beside',
    mode: config.processing.mode,
    // what a phone's server list needs
    phoneAddresses: addresses.map((a) => `${a}:${ports.port}`),
    ...(ports.tlsPort !== undefined && !tlsOnly ? { tlsAddresses: addresses.map((a) => `${a}:${ports.tlsPort}`) } : {}),
  };
}
