import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BenchArgs, parseBenchArgs, USAGE } from './args.js';
import { ServerChild } from './child.js';
import type { ServerSpec } from './fleet.js';
import { type FloorResult, measureActorFloor } from './floor.js';
import { runIdle } from './idle.js';
import { runKillAt } from './kill-at.js';
import { describeAudit } from './kill-audit.js';
import { type LoadResult, runLoad } from './load.js';
import { printMicro, runMicro } from './micro/run.js';
import { formatProfile, type ProfileSummary, summarizeProfile } from './profile-top.js';
import { describeRepeat, median, type RunFigures, summarizeRuns } from './repeat.js';
import { round2 } from './stats.js';

/**
 * `npm run bench` (DESIGN.md §6): the gateway as a child process under N simulated bridge
 * clients on 127.0.0.1, then the same clients against a bare newline-JSON echo server; prints
 * throughput, latency, lost/duplicated replies, the server's RSS and our share of the baseline.
 * Exit code 1 when any reply was lost, duplicated, unexpected or in the wrong room.
 */

interface RunResult {
  server: 'gateway' | 'baseline';
  load: LoadResult;
  /** % of one core the server used during the measured window */
  serverCpuPercent: number;
  rssKb: { idle: number; end: number; sampledPeak: number; hwm: number; everySecond: number[] };
  setupMs: number;
  stderrLines: number;
  stderrHead: readonly string[];
  stats: Record<string, number> | undefined;
  profile?: { file: string; summary: ProfileSummary };
}

const WORKERS = 31; // processing.workers default
const PER_BOT = 30; // processing.perBot default

async function runOne(
  server: RunResult['server'],
  args: BenchArgs,
  keys: { secret: string; salt: string },
  dir: string,
): Promise<RunResult> {
  const spec: ServerSpec = {
    clients: args.clients,
    rooms: args.rooms,
    bots: args.bots,
    mode: args.mode,
    port: 0,
    durable: args.durable,
    chatLog: args.chatLog,
    secret: keys.secret,
    salt: keys.salt,
    dir,
  };
  const profDir = server === 'gateway' && args.cpuProf !== undefined ? resolve(args.cpuProf) : undefined;
  if (profDir !== undefined) mkdirSync(profDir, { recursive: true });
  const child = await ServerChild.start({
    script: server === 'gateway' ? 'bench/server.ts' : 'bench/echo-baseline.ts',
    env: { BENCH_SERVER: JSON.stringify(spec) },
    profileDir: profDir,
  });
  let stopped = false;
  try {
    const idle = child.rss();
    child.startSampling();
    let cpuAtStart = 0;
    let cpuSeconds = 0;
    const load = await runLoad(
      {
        port: child.port,
        clients: args.clients,
        rooms: args.rooms,
        bots: args.bots,
        inflight: args.inflight,
        rate: args.rate,
        seconds: args.seconds,
        warmup: args.warmup,
        drain: args.drain,
        keys,
        requireApproved: true,
      },
      {
        onMeasureStart: () => {
          cpuAtStart = child.cpuSeconds();
          if (server === 'gateway') child.command('measure-start');
          if (profDir !== undefined) child.command('profile-start');
        },
        onMeasureEnd: () => {
          cpuSeconds = child.cpuSeconds() - cpuAtStart;
          if (server === 'gateway') child.command('measure-end');
          if (profDir !== undefined) child.command('profile-stop');
        },
      },
    );
    const end = child.rss();
    const sampledPeak = child.sampledPeakRssKb;
    await child.stop();
    stopped = true;
    const result: RunResult = {
      server,
      load,
      serverCpuPercent: round2((cpuSeconds / args.seconds) * 100),
      rssKb: { idle: idle.rssKb, end: end.rssKb, sampledPeak, hwm: end.hwmKb, everySecond: child.rssEverySecondKb },
      setupMs: round2(child.setupMs),
      stderrLines: child.stderrLines,
      stderrHead: child.stderr.slice(0, 5),
      stats: child.stats,
    };
    if (child.profile !== undefined) result.profile = { file: child.profile, summary: summarizeProfile(child.profile) };
    return result;
  } finally {
    if (!stopped) await child.stop();
  }
}

function os(): string {
  return `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}`;
}

function mib(kb: number): string {
  return `${(kb / 1024).toFixed(1)} MiB`;
}

function describeRun(r: RunResult, args: BenchArgs): string {
  const l = r.load;
  const lines = [
    r.server === 'gateway'
      ? `gateway (processing.mode ${args.mode}${args.durable ? '' : ', durable false'}${args.chatLog ? '' : ', ABLATED: no chat log rows'}${r.profile !== undefined ? ', CPU profiler on: slower than without' : ''}):`
      : 'baseline (bare newline-JSON echo server, no HMAC check / store / actors):',
    `  throughput   ${Math.round(l.throughput)} replies/s (sent ${Math.round(l.sendRate)}/s in the window)`,
    `  latency      p50 ${l.latencyMs.p50} ms, p99 ${l.latencyMs.p99} ms, max ${l.latencyMs.max} ms, mean ${l.latencyMs.mean} ms (n=${l.latencyMs.count})`,
    `  replies      sent ${l.sent}, received ${l.received}, lost ${l.lost}, duplicated ${l.duplicated}, unexpected ${l.unexpected}, wrong room ${l.wrongRoom}`,
    `  server RSS   before load ${mib(r.rssKb.idle)}, end ${mib(r.rssKb.end)}, peak ${mib(r.rssKb.sampledPeak)} sampled every 100 ms, VmHWM ${mib(r.rssKb.hwm)}`,
    `  CPU          server ${Math.round(r.serverCpuPercent)}% of one core (${Math.round(cpuPerReplyUs(r))} µs per reply), load generator ${Math.round(l.loadCpuPercent)}%`,
    `  per second   replies ${l.timeline.replies.join(' ')}`,
    `               max latency ms ${l.timeline.maxLatencyMs.join(' ')} (first ${args.warmup} s = warm-up)`,
    `               server RSS MiB ${r.rssKb.everySecond.map((kb) => Math.round(kb / 1024)).join(' ')} (from connect on)`,
    `  other        connect ${Math.round(l.connectMs)} ms, drain ${Math.round(l.drainMs)} ms, pings answered ${l.pingsAnswered}, clients closed ${l.closedClients}` +
      (r.server === 'gateway' ? `, setup (approvals) ${Math.round(r.setupMs)} ms` : ''),
  ];
  const s = r.stats;
  if (s?.heapUsedBytes !== undefined) {
    const m = (b: number | undefined) => mib((b ?? 0) / 1024);
    lines.push(
      `  server heap  at the end of the load: used ${m(s.heapUsedBytes)} of ${m(s.heapTotalBytes)}, ` +
        `external ${m(s.externalBytes)} (array buffers ${m(s.arrayBuffersBytes)})` +
        (s.heapAfterGcBytes === undefined ? '' : `; after a full GC, still connected: ${m(s.heapAfterGcBytes)}`),
    );
  }
  if (s?.loopDelayMaxMs !== undefined) {
    lines.push(
      `  stalls       event-loop delay p99 ${s.loopDelayP99Ms} ms, max ${s.loopDelayMaxMs} ms; GC ${s.gcPauses} pauses ` +
        `(${s.gcMajorPauses} major), ${s.gcTotalMs} ms in all, longest ${s.gcMaxMs} ms (major ${s.gcMajorMaxMs} ms)`,
    );
  }
  if (r.stats !== undefined) {
    const pick = Object.entries(r.stats)
      .filter(([k]) => /messages_total|duplicates|refusals|pauses|undelivered|auth_failures|closes|bad_lines/.test(k))
      .map(([k, v]) => `${k.replace(/^msgbot_/, '')}=${v}`);
    if (pick.length > 0) lines.push(`  counters     ${pick.join(' ')}`);
  }
  if (r.stderrLines > 0) {
    lines.push(
      `  stderr       ${r.stderrLines} line(s), first: ${r.stderrHead.map((s) => s.slice(0, 160)).join(' | ')}`,
    );
  }
  if (l.loadCpuPercent > 85) {
    lines.push(
      '  note         the load generator used ~one core: this run measured the generator as much as the server',
    );
  }
  if (r.profile !== undefined) lines.push(`  cpu profile  ${r.profile.file}`, formatProfile(r.profile.summary));
  return lines.join('\n');
}

/**
 * The actor floor next to the measured run: what the mandated actor steps alone cost per message
 * (direct mode skips the dispatcher round trip), and the throughput ceiling that implies.
 */
function describeFloor(f: FloorResult, mode: BenchArgs['mode'], baselinePerSecond: number | undefined): string {
  const us = (n: number) => n.toFixed(1);
  const perMessage = mode === 'queued' ? f.totalUs : f.deliver.cpuUs + f.line.cpuUs;
  const ceiling = 1e6 / perMessage;
  const parts =
    mode === 'queued'
      ? `dispatcher round trip ${us(f.dispatcher.cpuUs)} + DELIVER→WRITE ${us(f.deliver.cpuUs)} + LINE ${us(f.line.cpuUs)}`
      : `DELIVER→WRITE ${us(f.deliver.cpuUs)} + LINE ${us(f.line.cpuUs)} (direct: no dispatcher)`;
  const share =
    baselinePerSecond === undefined || baselinePerSecond === 0
      ? ''
      : ` = ${round2(ceiling / baselinePerSecond)} of the baseline`;
  return [
    `actor floor (bench/floor.ts: the real machines in-process, no I/O, protocol, store or handler work; load ${f.loadAverage})`,
    `  per message  ${us(perMessage)} µs CPU: ${parts}`,
    `  ceiling      ${Math.round(ceiling).toLocaleString('en-US')} replies/s on one core if all other work were free${share}`,
  ].join('\n');
}

/** Server CPU time per reply in the measured window, µs: comparable across fixed-rate runs. */
function cpuPerReplyUs(r: RunResult): number {
  const replies = r.load.throughput * r.load.measuredSeconds;
  return replies === 0 ? 0 : ((r.serverCpuPercent / 100) * r.load.measuredSeconds * 1e6) / replies;
}

/** What `--repeat` compares of one gateway run (repeat.ts). */
function figuresOf(r: RunResult): RunFigures {
  const f: RunFigures = {
    repliesPerSecond: Math.round(r.load.throughput),
    cpuUsPerReply: Math.round(cpuPerReplyUs(r)),
    p50Ms: r.load.latencyMs.p50,
    p99Ms: r.load.latencyMs.p99,
    maxMs: r.load.latencyMs.max,
    rssEndMiB: Math.round(r.rssKb.end / 102.4) / 10,
  };
  if (r.stats?.loopDelayP99Ms !== undefined) f.loopDelayP99Ms = r.stats.loopDelayP99Ms;
  if (r.stats?.gcTotalMs !== undefined) f.gcTotalMs = r.stats.gcTotalMs;
  return f;
}

function failures(r: RunResult): number {
  return r.load.lost + r.load.duplicated + r.load.unexpected + r.load.wrongRoom;
}

async function main(): Promise<number> {
  let args: BenchArgs | 'help';
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const a = args;
  if (a.micro) {
    const results = runMicro();
    if (a.json) process.stdout.write(`${JSON.stringify({ micro: results })}\n`);
    else printMicro(results);
    return 0;
  }
  if (a.idle !== undefined) return runIdle(a.idle, a.json);
  const keys = { secret: randomBytes(16).toString('hex'), salt: randomBytes(8).toString('hex') };
  const dir = mkdtempSync(join(tmpdir(), 'msgbot-bench-'));
  if (a.killAt !== undefined) return killAtMain({ ...a, killAt: a.killAt }, keys, dir);
  // Ctrl-C reaches the children too (same process group); the temp store goes with us.
  process.once('SIGINT', () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
  const say = (s: string) => {
    if (!a.json) process.stdout.write(`${s}\n`);
  };
  const loadShape =
    a.rate === undefined ? `closed loop, ${a.inflight} in flight per client` : `fixed rate ${a.rate} msgs/s in total`;
  say(
    `msgbot-gateway bench: ${a.clients} clients over ${a.rooms} rooms, ${loadShape}, ` +
      `${a.warmup} s warm-up + ${a.seconds} s measured, 127.0.0.1`,
  );
  say(
    `  ${a.bots} bot names (client i uses bench-bot-<i mod ${a.bots}>): per-bot gate ${PER_BOT} × ${a.bots} = ` +
      `${PER_BOT * a.bots} handlers may run, ${PER_BOT * a.bots >= WORKERS ? 'more than' : 'fewer than'} the ${WORKERS} workers` +
      `${PER_BOT * a.bots >= WORKERS ? ', so the bot gate is not the bottleneck' : ''}; every client signs every packet (HMAC-SHA256)`,
  );
  const load = () =>
    loadavg()
      .map((n) => n.toFixed(2))
      .join(' ');
  const loadBefore = load();
  say(`  host: ${os()} ; load average before ${loadBefore}`);
  try {
    const runs: RunResult[] = [];
    for (let i = 0; i < a.repeat; i++) {
      // each run on a database of its own, so a later run does not start on a bigger one
      const runDir = a.repeat === 1 ? dir : join(dir, `run-${i + 1}`);
      mkdirSync(runDir, { recursive: true });
      if (a.repeat > 1) say(`run ${i + 1} of ${a.repeat} (load average ${load()}):`);
      const run = await runOne('gateway', a, keys, runDir);
      say(describeRun(run, a));
      runs.push(run);
    }
    const gateway = runs[0]!;
    const repeat = a.repeat > 1 ? summarizeRuns(runs.map(figuresOf)) : undefined;
    if (repeat !== undefined) say(describeRepeat(repeat));
    const gatewayPerSecond = median(runs.map((r) => r.load.throughput));
    const baseline = a.baseline ? await runOne('baseline', a, keys, dir) : undefined;
    if (baseline !== undefined) say(describeRun(baseline, a));
    const ratio = baseline === undefined ? undefined : round2(gatewayPerSecond / baseline.load.throughput);
    const bad = runs.reduce((n, r) => n + failures(r), 0) + (baseline === undefined ? 0 : failures(baseline));
    if (ratio !== undefined) {
      say(
        `ratio: gateway / baseline throughput = ${ratio} (${Math.round(gatewayPerSecond)} / ` +
          `${Math.round(baseline!.load.throughput)}); target ≥ 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'}`,
      );
      if (a.rate !== undefined) {
        say(
          '  fixed rate: both servers see the same offered load, so the ratio is ~1 unless one falls behind; ' +
            `server CPU per reply ${Math.round(cpuPerReplyUs(gateway))} µs vs ${Math.round(cpuPerReplyUs(baseline!))} µs`,
        );
      }
    }
    const loadAfter = load();
    say(`load average after ${loadAfter} (other processes on this host skew the numbers)`);
    // After the runs, in this process: nothing else is running then.
    const floor = a.floor ? await measureActorFloor({ messages: 50_000 }) : undefined;
    if (floor !== undefined) say(describeFloor(floor, a.mode, baseline?.load.throughput));
    say(bad === 0 ? 'result: OK, no reply lost or duplicated' : `result: FAILED, ${bad} bad reply count(s)`);
    if (a.json) {
      process.stdout.write(
        `${JSON.stringify({ args: a, host: os(), loadBefore, loadAfter, gateway, runs: a.repeat > 1 ? runs : undefined, repeat, baseline, ratio, targetMet: ratio === undefined ? null : ratio >= 0.5, floor, ok: bad === 0 })}\n`,
      );
    }
    return bad === 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `--kill-at S`: kill -9 and restart under load (DESIGN.md §2 durable mailbox). */
async function killAtMain(
  a: BenchArgs & { killAt: number },
  keys: { secret: string; salt: string },
  dir: string,
): Promise<number> {
  try {
    const before = loadavg().map((n) => n.toFixed(2));
    const spec: ServerSpec = {
      clients: a.clients,
      rooms: a.rooms,
      bots: a.bots,
      mode: a.mode,
      ...keys,
      dir,
      port: 0,
      durable: a.durable,
      chatLog: a.chatLog,
    };
    const r = await runKillAt(a, spec);
    const out = {
      ...r,
      killAt: a.killAt,
      durable: a.durable,
      load: { before, after: loadavg().map((n) => n.toFixed(2)) },
    };
    if (a.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else {
      process.stdout.write(
        `${[
          `msgbot-gateway bench --kill-at ${a.killAt}: ${a.clients} clients, ${a.inflight} in flight each, durable ${a.durable}; load ${before.join(' ')}`,
          `  killed at ${r.killedAtMs} ms, restarted in ${r.restartMs} ms (child start + approvals), ${r.reconnects} reconnects`,
          `  replies      sent ${r.sent}, answered ${r.answered}, lost ${r.lost}, duplicated ${r.duplicated} (target 0), unexpected ${r.unexpected}`,
          ...(r.audit === undefined ? [] : describeAudit(r.audit)),
          `  restarted server counters: ${Object.entries(r.serverStats ?? {})
            .filter(([k]) => /durability|duplicates|messages_total/.test(k))
            .map(([k, v]) => `${k.replace(/^msgbot_/, '')}=${v}`)
            .join(' ')}`,
        ].join('\n')}\n`,
      );
    }
    // Only what was in flight at the kill may be lost (nothing can recover it); without the
    // durable mailbox there is no record to tell, so every loss fails.
    const c = r.audit?.byCause;
    const failures =
      c === undefined
        ? r.lost + r.duplicated
        : c['lost-after-acceptance'] + c['finished-unsent-at-kill'] + c['never-accepted-after-restart'] + c.duplicated;
    return failures + r.unexpected === 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
  },
);
