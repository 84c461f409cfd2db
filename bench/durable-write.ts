import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { ChatMessage } from '../src/actors/job.js';
import { openSqliteInbox } from '../src/infra/inbox/sqlite.js';

/**
 * CPU cost of the durable mailbox's write per message (DESIGN.md §2; target ≤ ~10 µs): every
 * message appended and later finished, written in grouped transactions of `--batch` operations
 * (one per event-loop turn in the gateway), into a real SQLite file (WAL, synchronous NORMAL).
 *   npx tsx bench/durable-write.ts [--messages 100000] [--batch 50]
 */

const args = z
  .object({
    messages: z.coerce.number().int().min(1_000).max(10_000_000).default(100_000),
    batch: z.coerce.number().int().min(1).max(10_000).default(50),
  })
  .parse(parseArgs({ options: { messages: { type: 'string' }, batch: { type: 'string' } } }).values);

function message(n: number): ChatMessage {
  return {
    traceId: `01J${String(n).padStart(23, '0')}`,
    receivedAt: Date.now(),
    botName: `bot-${n % 5}`,
    deviceId: `device-${n % 50}`,
    packetBotName: `bot-${n % 5}`,
    room: `Room ${n % 200}`,
    channelId: String(18234567890123456n + BigInt(n % 200)),
    logId: String(3301234567890123456n + BigInt(n)),
    text: `# echo bench message ${n}`,
    sender: 'Alice',
    isGroupChat: true,
    isMention: false,
    userHash: '9f8e7d6c5b4a',
    timestamp: '2025-07-24 14:03:27',
    protocol: 'v3.2',
    legacyCallback: false,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'msgbot-bench-inbox-'));
try {
  const inbox = openSqliteInbox(join(dir, 'msgbot.db'));
  await inbox.migrate();
  const messages = Array.from({ length: args.messages }, (_, i) => message(i));
  // warm-up: statements, page cache
  for (let i = 0; i < 2_000; i++) inbox.append(message(-i - 1));
  inbox.flush();

  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  // each turn appends `batch` new messages and finishes the `batch` appended one turn earlier
  for (let start = 0; start < messages.length; start += args.batch) {
    const end = Math.min(start + args.batch, messages.length);
    for (let i = start; i < end; i++) inbox.append(messages[i]!);
    for (let i = start - args.batch; i < start; i++) if (i >= 0) inbox.finish(messages[i]!.traceId, 'processed', 1);
    inbox.flush();
  }
  for (let i = messages.length - args.batch; i < messages.length; i++)
    inbox.finish(messages[i]!.traceId, 'processed', 1);
  inbox.flush();
  const used = process.cpuUsage(cpu);
  const wallMs = Number(process.hrtime.bigint() - wall) / 1e6;
  const cpuUs = (used.user + used.system) / args.messages;
  const pruneStart = process.hrtime.bigint();
  const pruned = await inbox.prune(2);
  const pruneMs = Number(process.hrtime.bigint() - pruneStart) / 1e6;
  await inbox.close();
  console.log(
    JSON.stringify({
      messages: args.messages,
      batch: args.batch,
      cpuMicrosPerMessage: Math.round(cpuUs * 100) / 100,
      userMicrosPerMessage: Math.round((used.user / args.messages) * 100) / 100,
      systemMicrosPerMessage: Math.round((used.system / args.messages) * 100) / 100,
      wallMs: Math.round(wallMs),
      prune: { rows: pruned, ms: Math.round(pruneMs) },
      load: loadavg().map((l) => Math.round(l * 100) / 100),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
