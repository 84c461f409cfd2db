import { performance } from 'node:perf_hooks';
import type { HmacKeys } from '../src/protocol/index.js';
import { BenchClient, type ClientCounters, type Timeline, zeroCounters } from './client.js';
import { type LatencySummary, summarize } from './stats.js';

/**
 * The load generator: N lean clients on 127.0.0.1, closed loop (K in flight per client) or a
 * fixed total rate, a warm-up, a measured window and a drain. Bounded in time (warm-up +
 * seconds + drain) and so in count.
 */

export interface LoadOptions {
  port: number;
  clients: number;
  rooms: number;
  bots: number;
  inflight: number;
  /** total packets per second; undefined = closed loop */
  rate: number | undefined;
  seconds: number;
  warmup: number;
  drain: number;
  keys: HmacKeys;
  /** the gateway must answer handshakes with approved: true (the baseline always does) */
  requireApproved: boolean;
}

export interface LoadHooks {
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
}

export interface LoadResult extends ClientCounters {
  lost: number;
  connectMs: number;
  measuredSeconds: number;
  /** replies received inside the measured window, per second */
  throughput: number;
  /** packets sent inside the measured window, per second */
  sendRate: number;
  latencyMs: LatencySummary;
  /** CPU time of this (load generator) process during the window, in % of one core */
  loadCpuPercent: number;
  /** ms from the end of sending until the last outstanding reply (or no reply for `drain` s) */
  drainMs: number;
  /** clients whose connection closed during the run */
  closedClients: number;
  /** per second from the first send (warm-up included): replies and max latency in ms */
  timeline: { replies: number[]; maxLatencyMs: number[] };
}

/** A server far behind a fixed rate still gets at most this long to catch up. */
const DRAIN_CAP_MS = 60_000;
/** Late duplicates still count: after the drain, listen this much longer. */
const AFTER_DRAIN_MS = 300;

export async function runLoad(o: LoadOptions, hooks: LoadHooks = {}): Promise<LoadResult> {
  const latencies: number[] = [];
  const window = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY };
  const timeline: Timeline = { start: Number.POSITIVE_INFINITY, replies: [], maxLatencyMs: [] };
  let sending = false;
  const closedLoop = o.rate === undefined;
  const onReply = (client: BenchClient) => {
    if (sending && closedLoop) client.send();
  };

  const connectStart = performance.now();
  const connected = await Promise.all(
    Array.from({ length: o.clients }, (_, index) =>
      BenchClient.connect({
        port: o.port,
        index,
        rooms: o.rooms,
        bots: o.bots,
        keys: o.keys,
        latencies,
        window,
        timeline,
        onReply,
      }),
    ),
  );
  const connectMs = performance.now() - connectStart;
  const clients = connected.map((c) => c.client);
  try {
    const unapproved = connected.filter((c) => !c.approved).length;
    if (o.requireApproved && unapproved > 0) {
      throw new Error(`${unapproved} client(s) were not approved by the gateway (handshakeComplete approved:false)`);
    }

    const t0 = performance.now();
    timeline.start = t0;
    window.from = t0 + o.warmup * 1000;
    window.to = window.from + o.seconds * 1000;
    sending = true;
    let cpuAtStart = process.cpuUsage();
    const measureStart = setTimeout(
      () => {
        cpuAtStart = process.cpuUsage();
        hooks.onMeasureStart?.();
      },
      Math.max(0, window.from - performance.now()),
    );

    if (closedLoop) {
      for (const client of clients) for (let k = 0; k < o.inflight; k++) client.send();
      await sleepUntil(window.to);
    } else {
      await fixedRate(clients, o.rate!, t0, window.to);
    }
    sending = false;
    clearTimeout(measureStart);
    const cpu = process.cpuUsage(cpuAtStart);
    hooks.onMeasureEnd?.();

    // Drain: wait while replies keep coming; give up after `drain` s without one (or DRAIN_CAP_MS).
    const drainStart = performance.now();
    let lastReceived = -1;
    let lastProgress = drainStart;
    for (;;) {
      const now = performance.now();
      const received = clients.reduce((n, c) => n + c.counters.received, 0);
      if (received !== lastReceived) {
        lastReceived = received;
        lastProgress = now;
      }
      if (!clients.some((c) => c.inFlight > 0 && !c.isClosed)) break;
      if (now - lastProgress >= o.drain * 1000 || now - drainStart >= DRAIN_CAP_MS) break;
      await sleep(10);
    }
    const drainMs = performance.now() - drainStart;
    await sleep(AFTER_DRAIN_MS);

    const total = sumCounters(clients);
    const measuredSeconds = o.seconds;
    return {
      ...total,
      lost: total.sent - total.received,
      connectMs,
      measuredSeconds,
      throughput: total.receivedInWindow / measuredSeconds,
      sendRate: total.sentInWindow / measuredSeconds,
      latencyMs: summarize(latencies),
      loadCpuPercent: ((cpu.user + cpu.system) / 1000 / (measuredSeconds * 1000)) * 100,
      drainMs,
      closedClients: clients.filter((c) => c.isClosed).length,
      timeline: {
        replies: Array.from(timeline.replies, (n) => n ?? 0),
        maxLatencyMs: Array.from(timeline.maxLatencyMs, (n) => Math.round(n ?? 0)),
      },
    };
  } finally {
    for (const client of clients) client.close();
  }
}

/** Open loop: sends what is due every millisecond, round-robin over the clients. */
async function fixedRate(clients: BenchClient[], rate: number, t0: number, until: number): Promise<void> {
  let sent = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (now >= until) {
        clearInterval(timer);
        resolve();
        return;
      }
      const due = Math.floor(((now - t0) / 1000) * rate);
      while (sent < due) {
        clients[next]!.send();
        next = (next + 1) % clients.length;
        sent++;
      }
    }, 1);
  });
}

function sumCounters(clients: readonly BenchClient[]): ClientCounters {
  const total = zeroCounters();
  for (const c of clients) {
    for (const key of Object.keys(total) as Array<keyof ClientCounters>) total[key] += c.counters[key];
  }
  return total;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sleepUntil(at: number): Promise<void> {
  return sleep(Math.max(0, at - performance.now()));
}
