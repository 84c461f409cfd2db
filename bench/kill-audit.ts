import Database from 'better-sqlite3';

/**
 * After `--kill-at` (bench/kill-at.ts): where each message that did not get exactly one reply
 * went, read from the gateway's own data (DESIGN.md §2 durable mailbox): was it ever accepted (a
 * msgbot_inbox row), its status when the gateway was killed and at the end, whether it was
 * replayed (pending at the kill, so the restarted gateway re-queued it), and how many replies the
 * chat log holds for it (kb_chat_logs, is_our_bot_response = 1; written in batches by the
 * telemetry writer, so rows of the last moment before the kill can be missing).
 */

/** Where the client wrote the message: on the first server's socket, in its offline queue, or after. */
export type SentPhase = 'before-kill' | 'offline-queue' | 'after-restart';

/** One message of one client without exactly one reply. */
export interface Suspect {
  text: string;
  replies: number;
  phase: SentPhase;
}

export type InboxStatusAt = 'absent' | 'pending' | 'processed' | 'failed' | 'expired';

export type Cause =
  /** read by nobody or read but not yet in a committed append when the process died: a phone has no acks */
  | 'never-accepted-in-flight-at-kill'
  /** sent to the restarted gateway and never stored: a bug */
  | 'never-accepted-after-restart'
  /**
   * finished (committed) when the gateway died and never answered: the step between the commit
   * of a turn's finishes and the write syscalls of their replies (DESIGN.md §2 durable mailbox)
   */
  | 'finished-unsent-at-kill'
  /** stored, then not answered otherwise: a bug */
  | 'lost-after-acceptance'
  | 'duplicated';

export interface AuditRow extends Suspect {
  cause: Cause;
  atKill: InboxStatusAt;
  atEnd: InboxStatusAt;
  replayed: boolean;
  chatLogReplies: number;
}

export interface Audit {
  byCause: Record<Cause, number>;
  /** every suspect, for `--json` and the first few in the text report */
  rows: AuditRow[];
}

/** Status of each echo text in msgbot_inbox now (text → status). */
export function inboxStatuses(dbFile: string): Map<string, InboxStatusAt> {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const out = new Map<string, InboxStatusAt>();
    const rows = db.prepare("SELECT json_extract(message, '$.text') AS text, status FROM msgbot_inbox").all() as {
      text: string;
      status: InboxStatusAt;
    }[];
    for (const r of rows) out.set(r.text, r.status);
    return out;
  } catch (error) {
    if (/no such table/.test((error as Error).message)) return new Map();
    throw error;
  } finally {
    db.close();
  }
}

function chatLogReplies(dbFile: string, replyPrefix: string): Map<string, number> {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const out = new Map<string, number>();
    const rows = db
      .prepare('SELECT message FROM kb_chat_logs WHERE is_our_bot_response = 1 AND message LIKE ?')
      .pluck()
      .all(`${replyPrefix}%`) as string[];
    for (const m of rows) out.set(m, (out.get(m) ?? 0) + 1);
    return out;
  } finally {
    db.close();
  }
}

/**
 * Classifies every suspect. `atKill` is msgbot_inbox read right after the SIGKILL (before the
 * restart); `dbFile` is read at the end, after the restarted gateway stopped.
 */
export function audit(
  suspects: readonly Suspect[],
  atKill: ReadonlyMap<string, InboxStatusAt>,
  dbFile: string,
  echo: { request: string; reply: string },
): Audit {
  const atEndAll = inboxStatuses(dbFile);
  const logged = chatLogReplies(dbFile, echo.reply);
  const byCause: Record<Cause, number> = {
    'never-accepted-in-flight-at-kill': 0,
    'never-accepted-after-restart': 0,
    'finished-unsent-at-kill': 0,
    'lost-after-acceptance': 0,
    duplicated: 0,
  };
  const rows: AuditRow[] = [];
  for (const s of suspects) {
    const body = s.text.slice(echo.request.length);
    const killStatus = atKill.get(s.text) ?? 'absent';
    const endStatus = atEndAll.get(s.text) ?? 'absent';
    let cause: Cause;
    if (s.replies > 1) cause = 'duplicated';
    else if (killStatus === 'absent' && endStatus === 'absent')
      cause = s.phase === 'before-kill' ? 'never-accepted-in-flight-at-kill' : 'never-accepted-after-restart';
    else if (s.phase === 'before-kill' && killStatus === 'processed') cause = 'finished-unsent-at-kill';
    else cause = 'lost-after-acceptance';
    byCause[cause]++;
    rows.push({
      ...s,
      cause,
      atKill: killStatus,
      atEnd: endStatus,
      replayed: killStatus === 'pending',
      chatLogReplies: logged.get(`${echo.reply}${body}`) ?? 0,
    });
  }
  return { byCause, rows };
}

/** Lines for the text report: the counts by cause, then up to `max` rows. */
export function describeAudit(a: Audit, max = 12): string[] {
  const c = a.byCause;
  const lines = [
    `  lost, never accepted (in flight at the kill: read but not yet committed, or still in the kernel; a phone has no acks, so unrecoverable) ${c['never-accepted-in-flight-at-kill']}`,
    `  lost, never accepted after the restart (target 0) ${c['never-accepted-after-restart']}`,
    `  lost after acceptance: finished at the kill, reply not yet written (the commit-to-write step; target 0) ${c['finished-unsent-at-kill']}`,
    `  lost after acceptance, otherwise (target 0) ${c['lost-after-acceptance']}`,
    `  duplicated (target 0) ${c.duplicated}`,
  ];
  const shown = a.rows.filter((r) => r.cause !== 'never-accepted-in-flight-at-kill').slice(0, max);
  for (const r of shown) {
    lines.push(
      `    ${r.cause}: "${r.text}" replies ${r.replies}, sent ${r.phase}, inbox at kill ${r.atKill}, at end ${r.atEnd}, ` +
        `replayed ${r.replayed}, chat-log replies ${r.chatLogReplies}`,
    );
  }
  return lines;
}
