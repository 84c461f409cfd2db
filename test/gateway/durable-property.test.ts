import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { ChatMessage } from '../../src/actors/job.js';
import { DurableMailbox } from '../../src/gateway/durable.js';
import type { Clock } from '../../src/infra/clock.js';
import { openSqliteInbox, type SqliteInbox } from '../../src/infra/inbox/sqlite.js';
import { createLoggers } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';
import { chat } from '../support/chat-message.js';

/**
 * DESIGN.md §2 durable mailbox, as a property: random accepts (some of them re-sends of an
 * earlier message, as a reconnecting phone does, PROTOCOL §6.5), handler starts and answers,
 * crashes (every in-memory thing dropped, only the SQLite file kept) and restarts. Every message
 * handed to the dispatcher and younger than the replay window ends answered exactly once, each
 * room in acceptance order; nothing is answered twice.
 *
 * A `crash` happens between event-loop turns, after the turn's grouped write; a `kill` (SIGKILL)
 * anywhere: what was appended but not yet written is lost with the process (in flight: a phone has
 * no acknowledgements), and so are the replies still corked behind the unwritten group. A reply
 * leaves only through `afterWrite`, as a connection's writes do, so a message is never answered
 * twice however the kills fall. A handler may answer early and keep working: that answer's count
 * is stored before it leaves, so a replay does not give it again. What a real SIGKILL can take beyond that is the step between a
 * group's commit and its replies' write syscalls.
 */

const REPLAY_WINDOW = 10_000;
const DEDUP_WINDOW = 1_000_000; // longer than any run: every re-send must be caught
const ROOMS = ['100', '200', '300'];

const op = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('accept' as const), room: fc.nat(ROOMS.length - 1) }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('resend' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('start' as const), room: fc.nat(ROOMS.length - 1) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('answer' as const), pick: fc.nat() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('early' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('turn' as const) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('crash' as const) }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 6_000 }) }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('kill' as const) }), weight: 2 },
);

type Event = { type: 'ENQUEUE'; message: ChatMessage };
/** What reached the phone: a handler's early answer (it keeps working) or its final one. */
type Answer = { m: ChatMessage; part: 'early' | 'final' };
/** A message a handler is running, and whether it gave its early answer in this process. */
type Running = { m: ChatMessage; early: boolean };

const loggers = createLoggers({ level: 'silent' });
const turn = () => new Promise<void>((r) => setImmediate(r));
const keyOf = (k: { channelId: string | null; logId: string | null }) => `${k.channelId}/${k.logId}`;

/** One gateway process: the durable stage, a per-room FIFO "dispatcher", the de-duplication set. */
class Process {
  readonly queues = new Map<string, ChatMessage[]>();
  readonly running: Running[] = [];
  readonly seen = new Set<string>();
  /** accepted here and not handed to the "dispatcher" yet (its append not written) */
  readonly unforwarded = new Set<string>();
  readonly durable: DurableMailbox<Event>;
  /** SIGKILLed: nothing it still had scheduled reaches the phone or the dispatcher */
  dead = false;

  constructor(
    readonly inbox: SqliteInbox,
    clock: SimulatedClock,
  ) {
    this.durable = new DurableMailbox<Event>({
      inbox,
      clock: clock as unknown as Clock,
      metrics: createMetrics(),
      log: loggers.cat.message,
      replayWindowMs: REPLAY_WINDOW,
      dedupWindowMs: DEDUP_WINDOW,
      writeWaitMs: 1_000,
      forward: (events) => {
        if (this.dead) return;
        for (const e of events) {
          this.unforwarded.delete(e.message.traceId);
          this.enqueue(e.message);
        }
      },
    });
  }

  enqueue(m: ChatMessage): void {
    const q = this.queues.get(m.channelId!) ?? [];
    q.push(m);
    this.queues.set(m.channelId!, q);
  }

  async recover(): Promise<ChatMessage[]> {
    const { replay, expired, keys } = await this.durable.recover(keyOf);
    for (const k of keys) this.seen.add(keyOf(k));
    for (const m of replay) this.enqueue(m);
    return expired;
  }

  /** the gateway's onChat: de-duplicate, append, ENQUEUE through the stage */
  accept(m: ChatMessage): boolean {
    const key = keyOf(m);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.durable.append(m);
    this.unforwarded.add(m.traceId);
    this.durable.push({ type: 'ENQUEUE', message: m });
    return true;
  }

  /**
   * One answer of a handler: corked like a connection's write, out after the next grouped write,
   * and counted as written (the sender's settle) — unless a replay finds it written before.
   */
  say(m: ChatMessage, part: Answer['part'], answers: Answer[]): void {
    if (this.durable.alreadyWritten(m.traceId)) return;
    this.durable.replyWritten(m.traceId);
    this.durable.afterWrite({
      seal() {},
      release: () => {
        if (!this.dead) answers.push({ m, part });
      },
    });
  }

  /** The handler ends: its early answer if not given yet, its final one, then its finish. */
  end(r: Running, answers: Answer[]): void {
    if (!r.early) this.say(r.m, 'early', answers);
    this.say(r.m, 'final', answers);
    this.durable.finish(r.m.traceId, 'processed');
  }
}

describe('durable mailbox property (DESIGN.md §2)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test.prop([fc.array(op, { maxLength: 60, size: 'medium' })], { numRuns: 60 })(
    'every message handed on and inside the window is answered exactly once, in per-room order',
    async (script) => {
      const dir = mkdtempSync(join(tmpdir(), 'msgbot-durable-prop-'));
      dirs.push(dir);
      const file = join(dir, 'msgbot.db');
      const clock = new SimulatedClock();
      clock.set(1_721_800_000_000);
      const open = async () => {
        const inbox = openSqliteInbox(file);
        await inbox.migrate();
        return new Process(inbox, clock);
      };
      let p = await open();
      await p.recover();
      const sent: ChatMessage[] = []; // every message the phone ever wrote (first copies)
      const expired = new Set<string>();
      /** accepted but never written when a kill came: lost in flight, never answered */
      const lost = new Set<string>();
      const answers: Answer[] = [];
      let n = 0;
      const crashAndRestart = async () => {
        await turn(); // the crash comes after this turn's grouped write
        await p.durable.drain();
        p.inbox.db.close(); // all in-memory state is dropped with `p`
        p = await open();
        for (const m of await p.recover()) expired.add(m.traceId);
      };
      const kill = async () => {
        p.dead = true;
        for (const id of p.unforwarded) lost.add(id);
        p.inbox.db.close(); // without a flush: whatever was buffered goes with the process
        p = await open();
        for (const m of await p.recover()) expired.add(m.traceId);
      };

      for (const o of script) {
        switch (o.kind) {
          case 'accept': {
            const m = chat(++n, {
              channelId: ROOMS[o.room]!,
              receivedAt: clock.now(),
              traceId: `T${String(n).padStart(5, '0')}`,
            });
            sent.push(m);
            p.accept(m);
            break;
          }
          case 'resend': {
            // a message lost in flight is a new one when re-sent; not modelled
            const kept = sent.filter((m) => !lost.has(m.traceId));
            if (kept.length === 0) break;
            const first = kept[o.pick % kept.length]!;
            // a re-sent packet gets a new trace id at the connection, same channelId and logId
            expect(p.accept({ ...first, traceId: `R${++n}`, receivedAt: clock.now() })).toBe(false);
            break;
          }
          case 'start': {
            // one at a time per room, so order is observable
            const room = ROOMS[o.room]!;
            if (p.running.some((r) => r.m.channelId === room)) break;
            const next = p.queues.get(room)?.shift();
            if (next !== undefined) p.running.push({ m: next, early: false });
            break;
          }
          case 'answer': {
            if (p.running.length === 0) break;
            const [r] = p.running.splice(o.pick % p.running.length, 1);
            p.end(r!, answers);
            break;
          }
          case 'early': {
            // the handler answers once and keeps working
            const r = p.running.filter((x) => !x.early)[o.pick % Math.max(1, p.running.length)];
            if (r === undefined) break;
            r.early = true;
            p.say(r.m, 'early', answers);
            break;
          }
          case 'turn':
            await turn();
            break;
          case 'crash':
            await crashAndRestart();
            break;
          case 'kill':
            await kill();
            break;
          case 'advance':
            clock.increment(o.ms);
            break;
        }
      }
      // a last crash and restart, then everything left runs to the end
      await crashAndRestart();
      for (const r of p.running.splice(0)) p.end(r, answers);
      for (const q of p.queues.values()) for (const m of q.splice(0)) p.end({ m, early: false }, answers);
      await p.durable.drain();
      p.inbox.db.close();

      // every answered message got its early answer once, before its final one
      const earlyIds = answers.filter((a) => a.part === 'early').map((a) => a.m.traceId);
      expect(new Set(earlyIds).size).toBe(earlyIds.length);
      for (const [i, a] of answers.entries()) {
        if (a.part === 'final')
          expect(answers.slice(0, i).some((b) => b.part === 'early' && b.m.traceId === a.m.traceId)).toBe(true);
      }
      // none answered twice, and only messages the phone sent
      const finals = answers.filter((a) => a.part === 'final').map((a) => a.m);
      const ids = finals.map((m) => m.traceId);
      expect(new Set(ids).size).toBe(ids.length);
      const sentIds = new Set(sent.map((m) => m.traceId));
      for (const id of ids) expect(sentIds.has(id)).toBe(true);
      // every sent message is answered exactly once, or expired unanswered (older than the
      // window), or was lost in flight at a kill
      for (const m of sent) {
        const outcomes = [ids.includes(m.traceId), expired.has(m.traceId), lost.has(m.traceId)];
        expect(outcomes.filter(Boolean), m.traceId).toHaveLength(1);
      }
      // per-room order: answers of a room follow acceptance order
      for (const room of ROOMS) {
        // logIds exceed 2^53 (PROTOCOL §1.6): compared as BigInt
        const order = finals.filter((m) => m.channelId === room).map((m) => BigInt(m.logId!));
        expect(order).toEqual([...order].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      }
    },
  );
});
