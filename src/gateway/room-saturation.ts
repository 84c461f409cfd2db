import type { WorkerSlot } from '../actors/dispatcher.js';
import type { Job } from '../actors/job.js';
import type { Logger } from '../infra/logger.js';

/**
 * A room whose every perRoom slot (PROTOCOL §7.6) is held by handlers that have run longer than
 * `processing.stuckAfterMs` answers nothing more until one of them ends (at the deadline). That
 * is warned about once per episode, and the recovery logged, so a hung handler does not saturate
 * a room silently.
 */

interface Episode {
  since: number;
}

export interface SaturationSample {
  now: number;
  perRoom: number;
  stuckAfterMs: number;
  workers: Iterable<WorkerSlot>;
}

export class RoomSaturationWatch {
  private readonly episodes = new Map<string, Episode>();

  constructor(private readonly log: Logger) {}

  /** One look at the workers; logs episodes that start or end. */
  check(s: SaturationSample): void {
    const stuck = new Map<string, Job[]>();
    for (const slot of s.workers) {
      const job = slot.job;
      if (job === null || s.now - slot.startedAt < s.stuckAfterMs) continue;
      const list = stuck.get(job.roomKey);
      if (list === undefined) stuck.set(job.roomKey, [job]);
      else list.push(job);
    }
    for (const [roomKey, jobs] of stuck) {
      if (jobs.length < s.perRoom || this.episodes.has(roomKey)) continue;
      this.episodes.set(roomKey, { since: s.now });
      const m = jobs[0]!.message;
      this.log.warn(
        {
          botName: m.botName,
          channelId: m.channelId,
          room: m.room,
          held: jobs.length,
          perRoom: s.perRoom,
          stuckAfterMs: s.stuckAfterMs,
          traceIds: jobs.map((j) => j.id),
        },
        'room saturated: every slot is held by a handler running past stuckAfterMs; its messages wait until one ends (deadline)',
      );
    }
    for (const [roomKey, episode] of this.episodes) {
      if ((stuck.get(roomKey)?.length ?? 0) >= s.perRoom) continue;
      this.episodes.delete(roomKey);
      const [botName, channel] = roomKey.split('\u0000');
      this.log.info({ botName, roomKey: channel, saturatedMs: s.now - episode.since }, 'room no longer saturated');
    }
  }
}
