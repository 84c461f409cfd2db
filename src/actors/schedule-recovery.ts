import {
  advance,
  type ComponentName,
  type ComponentResult,
  logAndAdvance,
  wantedComponents,
} from './schedule-outcome.js';
import { kstText, parseKst } from './schedule-rules.js';
import type { ClaimedSchedule, RunSendRecord, SchedulerPorts, SchedulerSettings } from './scheduler-ports.js';

/**
 * Runs a crash cut short (PROTOCOL §7.12 claim; DESIGN.md §2 outbound path, durable). A claimed
 * row is skipped by every due query, so a run that never reached its log row would leave its
 * schedule dead (compare PROTOCOL §9, weakness 41). Every pass looks at the claimed rows
 * no run of this process is working on and finishes the ones that are ours (the send record has
 * our sends for the run) or whose claim is older than scheduler.staleClaimMs (no other gateway
 * can still be running it): it takes the claim over (compare and set, so one gateway does), then
 *
 * - logged already (the crash fell between the log row and the advance): advances it;
 * - within the catch-up window of its due time, its bot connected: resumes it — components the
 *   record has as delivered or failed keep that outcome, the rest are sent (a failed send is not
 *   retried, §7.12), and the run is logged and advanced as usual;
 * - else closes it: logged `partial`/`failed` "interrupted", its still-queued sends fail
 *   `interrupted`, and advanced. Without a send record (outbound.durable off) a stale claim is
 *   always closed this way: what was delivered is unknown, so nothing is sent again.
 *
 * docs/decisions.md "Durable sends" says why.
 */

/** A run taken over, to be resumed by its bot's run queue. */
export interface ResumePlan {
  row: ClaimedSchedule;
  /** epoch ms of the original claim: the run's start */
  startedMs: number;
  prior: ReadonlyMap<ComponentName, RunSendRecord>;
}

/** claimed rows looked at per pass */
const CLAIMED_PER_PASS = 100;

export const INTERRUPTED = 'interrupted: the gateway stopped during the run';

export async function recoverClaims(
  ports: SchedulerPorts,
  settings: SchedulerSettings,
  busy: ReadonlySet<string>,
  live: ReadonlySet<string>,
): Promise<ResumePlan[]> {
  const recovery = ports.recovery;
  const plans: ResumePlan[] = [];
  for (const row of await ports.store.claimedSchedules(CLAIMED_PER_PASS)) {
    // a bot with a run going in this process: that run may be this row's
    if (busy.has(row.targetBotName)) continue;
    const now = ports.clock.now();
    const claimedMs = parseKst(row.lastSentAt) ?? 0;
    // without a send record nothing is known to be ours or delivered: stale claims are only closed
    const records = recovery === undefined ? [] : await recovery.sendsOfRun(row.id, row.nextSendAt);
    const ours = records.some((r) => r.ours);
    if (!ours && now - claimedMs < settings.staleClaimMs) continue; // another gateway may be running it
    const dueMs = parseKst(row.nextSendAt) ?? 0;
    const resumable = recovery !== undefined && !row.logged && now - dueMs <= settings.catchUpWindowS * 1000;
    // its phone's bot is not connected yet: a later pass resumes it, or closes it once the window is over
    if (resumable && !live.has(row.targetBotName)) continue;
    if (!(await ports.store.reclaimSchedule(row.id, row.nextSendAt, row.lastSentAt, kstText(now)))) continue;
    const prior = new Map<ComponentName, RunSendRecord>();
    for (const r of records) prior.set(r.component, r); // the latest row of a component wins
    const took = `claimed ${row.lastSentAt} ${ours ? 'by this gateway' : 'by another, stale'}`;
    if (row.logged) {
      await advance(ports, row, claimedMs);
      ports.onRecover?.(row.id, 'advanced', `${took}; logged before the stop, now advanced`);
      continue;
    }
    if (resumable) {
      plans.push({ row, startedMs: claimedMs, prior });
      const left = wantedComponents(row).filter((c) => (prior.get(c)?.status ?? 'queued') === 'queued');
      ports.onRecover?.(row.id, 'resumed', `${took}; sending ${left.join(',') || 'nothing'}`);
      continue;
    }
    await close(ports, row, claimedMs, prior, took);
  }
  return plans;
}

/** Logs a run that is too late to resume with what its record says, and advances it. */
async function close(
  ports: SchedulerPorts,
  row: ClaimedSchedule,
  startedMs: number,
  prior: ReadonlyMap<ComponentName, RunSendRecord>,
  took: string,
): Promise<void> {
  const results: ComponentResult[] = wantedComponents(row).map((component) => {
    const r = prior.get(component);
    if (r?.status === 'delivered') return { component, status: 'delivered' };
    if (r?.status === 'failed') {
      return {
        component,
        status: 'failed',
        reason: r.reason ?? 'error',
        ...(r.detail === undefined ? {} : { detail: r.detail }),
      };
    }
    return { component, status: 'failed', reason: 'interrupted' };
  });
  const queued = [...prior.values()].filter((r) => r.status === 'queued').map((r) => r.id);
  if (queued.length > 0) await ports.recovery?.abandon(queued, INTERRUPTED);
  const status = await logAndAdvance(ports, row, {
    scheduledAt: row.nextSendAt,
    startedMs,
    results,
    note: INTERRUPTED,
    extra: { interrupted: true },
  });
  ports.onRecover?.(row.id, 'closed', `${took}; logged ${status}: too late to resume (catch-up window over)`);
}
