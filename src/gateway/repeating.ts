import type { Clock } from '../actors/clock.js';

/**
 * A task run again and again on the gateway's clock (DESIGN.md §4: time is injected),
 * each run `everyMs` after the previous one settled, so two runs never overlap. Used by the prunes
 * of the durable mailbox and the send record and by the standing refresh. The task reports its own
 * failures; one that rejects anyway is simply run again next time.
 */
export class Repeating {
  private timer: unknown = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly everyMs: number,
    private readonly task: () => Promise<unknown>,
  ) {}

  /** Schedules the next run (the first one `everyMs` from now). */
  start(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(this.run, this.everyMs);
  }

  /** No run starts after this; one in flight finishes but schedules nothing. */
  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
  }

  private readonly run = (): void => {
    void this.task()
      .catch(() => {})
      .finally(() => this.start());
  };
}
