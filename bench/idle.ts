import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerChild } from './child.js';
import { BenchClient } from './client.js';
import type { ServerSpec } from './fleet.js';

/**
 * `npm run bench -- --idle N`: live heap per idle connection. The gateway child is started twice
 * with the same N approved phones: once with none connected, once with all N connected over
 * loopback, handshaken and idle (answering pings). Each run reports its heap after a full GC with
 * the connections still open (bench/server.ts); the difference / N is the heap one idle phone
 * costs. Connections are opened 100 at a time (below limits.maxHandshaking).
 */

const BATCH = 100;

async function heapAfterGc(spec: ServerSpec, connect: number): Promise<{ heap: number; connected: number }> {
  const child = await ServerChild.start({ script: 'bench/server.ts', env: { BENCH_SERVER: JSON.stringify(spec) } });
  const clients: BenchClient[] = [];
  try {
    const options = (index: number) => ({
      port: child.port,
      index,
      rooms: 1,
      bots: spec.bots,
      keys: { secret: spec.secret, salt: spec.salt },
      latencies: [],
      window: { from: 0, to: 0 },
      timeline: { start: 0, replies: [], maxLatencyMs: [] },
      onReply: () => {},
    });
    for (let i = 0; i < connect; i += BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(BATCH, connect - i) }, (_, k) => BenchClient.connect(options(i + k))),
      );
      for (const { client, approved } of batch) {
        clients.push(client);
        if (!approved) throw new Error('a bench phone was not approved');
      }
    }
    // let the last handshakes' registrations settle
    await new Promise((resolve) => setTimeout(resolve, 500));
    await child.stop();
    const heap = child.stats?.heapAfterGcBytes;
    if (heap === undefined) throw new Error('the gateway child reported no heap after GC (needs --expose-gc)');
    return { heap, connected: clients.length };
  } finally {
    for (const client of clients) client.close();
    await child.stop();
  }
}

export async function runIdle(n: number, json: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'msgbot-idle-'));
  try {
    const spec: ServerSpec = {
      clients: n,
      rooms: 1,
      bots: 5,
      mode: 'queued',
      port: 0,
      durable: true,
      chatLog: true,
      secret: randomBytes(16).toString('hex'),
      salt: randomBytes(8).toString('hex'),
      dir,
    };
    const empty = await heapAfterGc({ ...spec, dir: mkdtempSync(join(dir, 'a-')) }, 0);
    const full = await heapAfterGc({ ...spec, dir: mkdtempSync(join(dir, 'b-')) }, n);
    const perConnection = (full.heap - empty.heap) / n;
    const result = {
      idle: n,
      connected: full.connected,
      heapEmptyBytes: empty.heap,
      heapConnectedBytes: full.heap,
      bytesPerConnection: Math.round(perConnection),
      loadAverage: loadavg()[0],
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const mib = (b: number) => (b / 1_048_576).toFixed(1);
      console.log(`idle connections — node ${process.version}, load ${loadavg()[0]!.toFixed(2)}`);
      console.log(`  ${n.toLocaleString('en-US')} phones connected and idle (handshaken, approved)`);
      console.log(`  gateway heap after a full GC: ${mib(empty.heap)} MiB with none, ${mib(full.heap)} MiB with all`);
      console.log(`  live heap per idle connection: ${(perConnection / 1024).toFixed(1)} KiB`);
    }
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
