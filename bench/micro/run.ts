import { loadavg } from 'node:os';
import { type MicroCase, microCases, perOperation } from './cases.js';

/**
 * `npm run bench -- --micro`: each case warmed up, then timed for ~0.5 s of CPU; prints CPU ns
 * per operation (per line for the framer) and operations per second. CPU time, not wall time, so
 * that other processes on a shared host distort it less; the load average is printed with it.
 */

export interface MicroResult {
  name: string;
  nsPerOp: number;
  opsPerSecond: number;
}

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function measure(c: MicroCase, budgetNs: number): MicroResult {
  c.check();
  let sink = 0;
  for (let i = 0; i < 2_000; i++) sink += c.run(i); // warm-up
  let ops = 0;
  let batch = 256;
  const start = cpuNs();
  let spent = 0;
  while (spent < budgetNs) {
    for (let i = 0; i < batch; i++) sink += c.run(ops + i);
    ops += batch;
    spent = cpuNs() - start;
    if (spent < budgetNs / 8) batch *= 2;
  }
  if (sink === Number.MIN_VALUE) console.log(sink); // keeps `sink` alive
  const units = ops * perOperation(c.name);
  return { name: c.name, nsPerOp: spent / units, opsPerSecond: units / (spent / 1e9) };
}

export function runMicro(budgetMs = 500): MicroResult[] {
  return microCases().map((c) => measure(c, budgetMs * 1e6));
}

export function printMicro(results: readonly MicroResult[]): void {
  console.log(`micro-benchmarks — node ${process.version}, load ${loadavg()[0]!.toFixed(2)} (CPU ns per op)`);
  for (const r of results) {
    console.log(
      `  ${r.name.padEnd(52)}${r.nsPerOp.toFixed(0).padStart(8)} ns ${Math.round(r.opsPerSecond).toLocaleString('en-US').padStart(14)}/s`,
    );
  }
}
