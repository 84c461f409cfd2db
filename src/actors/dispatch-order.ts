import { Fifo } from './fifo.js';
import type { GatePool } from './gate-pool.js';
import type { Job } from './job.js';

/**
 * Which job may start next (DESIGN.md §2, PROTOCOL §7.6): per-room FIFO queues served round-robin
 * over the rooms that can run, under a bot gate and a room gate. Plain synchronous functions over
 * plain data — the dispatcher machine calls them from its one `step` action.
 *
 * Rooms with waiting jobs are always in exactly one place —
 *   - the `ready` ring (may run as soon as a worker is idle),
 *   - parked on their own room gate (`roomFull`; woken by a release of that room), or
 *   - parked on their bot gate (`botFull`; one room woken per release of that bot),
 * so a decision costs O(1) per room visited and only rooms that can run are visited.
 *
 * The queues and maps hold up to 100,000s of entries, so they are mutated in place (copying them
 * per event would cost O(rooms)).
 */

/** Waiting jobs of one room; exists only while the room has waiting jobs. */
export interface RoomQueue {
  key: string;
  jobs: Fifo<Job>;
  place: 'ready' | 'roomFull' | 'botFull';
}

/** Waiting jobs of one bot; exists only while `waiting > 0`. */
export interface BotQueue {
  key: string;
  waiting: number;
  /** rooms whose head job waits for this bot's gate; one is woken per release */
  parked: Fifo<RoomQueue>;
}

export interface WorkerSlot {
  id: string;
  job: Job | null;
  startedAt: number;
}

/** The scheduler's data (part of the dispatcher's context). */
export interface SchedulerState {
  readonly now: () => number;
  /** jobs accepted and not yet started */
  waiting: number;
  /** jobs on a worker */
  running: number;
  queues: Map<string, RoomQueue>;
  bots: Map<string, BotQueue>;
  ready: Fifo<RoomQueue>;
  readonly botPool: GatePool;
  readonly roomPool: GatePool;
  idle: WorkerSlot[];
}

/** Puts a room with waiting jobs where it belongs, given its gates right now. */
export function place(s: SchedulerState, room: RoomQueue): void {
  if (s.roomPool.full(room.key)) {
    room.place = 'roomFull';
    return;
  }
  const head = room.jobs.peek()!;
  if (s.botPool.full(head.botKey)) {
    room.place = 'botFull';
    s.bots.get(head.botKey)!.parked.push(room);
    return;
  }
  room.place = 'ready';
  s.ready.push(room);
}

/** Adds a job to its room's queue (at the head for a re-queued job). */
export function queue(s: SchedulerState, job: Job, atHead: boolean): void {
  let bot = s.bots.get(job.botKey);
  if (bot === undefined) {
    bot = { key: job.botKey, waiting: 0, parked: new Fifo() };
    s.bots.set(job.botKey, bot);
  }
  bot.waiting++;
  s.waiting++;
  const room = s.queues.get(job.roomKey);
  if (room !== undefined) {
    if (atHead) room.jobs.unshift(job);
    else room.jobs.push(job);
    return;
  }
  const created: RoomQueue = { key: job.roomKey, jobs: new Fifo(), place: 'ready' };
  created.jobs.push(job);
  s.queues.set(job.roomKey, created);
  place(s, created);
}

/**
 * Starts jobs while a worker is idle and some room can run: round-robin over the ready ring, a
 * room's head job only (per-room start order = arrival order, PROTOCOL §7.6 FIFO). Appends the
 * slots that got a job to `starts`.
 */
export function schedule(s: SchedulerState, starts: WorkerSlot[]): void {
  while (s.idle.length > 0 && s.ready.size > 0) {
    const room = s.ready.shift()!;
    const job = room.jobs.peek()!;
    if (s.roomPool.full(room.key)) {
      room.place = 'roomFull';
      continue;
    }
    const bot = s.bots.get(job.botKey)!;
    if (s.botPool.full(job.botKey)) {
      room.place = 'botFull';
      bot.parked.push(room);
      continue;
    }
    // PROTOCOL §7.6: the bot slot first, then the room slot. Gates are created on demand.
    s.botPool.acquire(job.botKey);
    s.roomPool.acquire(room.key);
    room.jobs.shift();
    s.waiting--;
    bot.waiting--;
    if (bot.waiting === 0) s.bots.delete(bot.key);
    const slot = s.idle.pop()!;
    slot.job = job;
    slot.startedAt = s.now();
    job.attempts++;
    s.running++;
    starts.push(slot);
    if (room.jobs.size === 0) s.queues.delete(room.key);
    else place(s, room);
  }
}

/**
 * Gives back a finished job's gate slots, wakes what waited on them, retires gates that are idle
 * and empty. Returns true when a retired gate is kept idle (a sweep is needed).
 */
export function release(s: SchedulerState, job: Job): boolean {
  let keptIdle = false;
  // Room first, so a room woken by the bot below is placed against its room gate's current count.
  const roomLeft = s.roomPool.release(job.roomKey);
  if (roomLeft >= 0) {
    const room = s.queues.get(job.roomKey);
    if (room === undefined) {
      if (roomLeft === 0) keptIdle = s.roomPool.retire(job.roomKey) || keptIdle;
    } else if (room.place === 'roomFull') {
      place(s, room);
    }
  }
  const botLeft = s.botPool.release(job.botKey);
  if (botLeft >= 0) {
    const bot = s.bots.get(job.botKey);
    if (bot === undefined) {
      if (botLeft === 0) keptIdle = s.botPool.retire(job.botKey) || keptIdle;
    } else {
      // One slot freed: wake one parked room. It had room capacity when parked and its room gate
      // can only have drained since, so it lands in the ready ring.
      const woken = bot.parked.shift();
      if (woken !== undefined) place(s, woken);
    }
  }
  return keptIdle;
}
