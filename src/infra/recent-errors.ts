/**
 * The last error lines the daemon logged, for `GET /status` (`msgbot-gateway status`): a small
 * ring fed by the logger's hook, so an operator sees what went wrong without the log files.
 */

export interface RecentError {
  at: number;
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** fields worth showing with an error; everything else stays in the log */
const KEPT = ['cat', 'traceId', 'botName', 'deviceId', 'channelId', 'command', 'reason'] as const;

export class RecentErrors {
  private readonly items: RecentError[] = [];

  constructor(private readonly max = 20) {}

  add(level: string, obj: Record<string, unknown>, msg: string, at = Date.now()): void {
    const entry: RecentError = { at, level, msg };
    for (const k of KEPT) if (obj[k] !== undefined) entry[k] = obj[k];
    const err = obj.err;
    if (err instanceof Error) entry.error = err.message;
    else if (typeof err === 'string') entry.error = err;
    this.items.push(entry);
    if (this.items.length > this.max) this.items.shift();
  }

  list(): RecentError[] {
    return [...this.items];
  }
}
