import { type AnyActorRef, createActor, createMachine, SimulatedClock } from 'xstate';
import {
  type DispatcherInput,
  dispatcherMachine,
  type OutcomeReport,
  type RestartReport,
  type UnhealthyReport,
} from '../../../src/actors/dispatcher.js';
import type { ChatMessage, Job } from '../../../src/actors/job.js';
import { fromJobRunner } from '../../../src/actors/job-runner.js';

/** Test fixtures for the dispatcher: jobs, a controllable job runner, a started dispatcher. */

export function makeJob(id: string, bot = 'bot', room = 'room'): Job {
  const message: ChatMessage = {
    traceId: id,
    receivedAt: 0,
    botName: bot,
    deviceId: 'dev',
    packetBotName: bot,
    room,
    channelId: null,
    logId: null,
    text: `# echo ${id}`,
    sender: 'Alice',
    isGroupChat: true,
    isMention: false,
    userHash: null,
    timestamp: '2025-07-24 14:03:27',
    protocol: 'v3.2',
    legacyCallback: false,
  };
  return { id, botKey: bot, roomKey: `${bot}\u0000${room}`, enqueuedAt: 0, attempts: 0, message };
}

interface Run {
  job: Job;
  /** the run's abort signal (deadline, crash, stop) */
  signal: AbortSignal;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A job runner whose every run settles only when the test says so. */
export class FakeRunner {
  /** job ids in start order (a re-queued job appears twice) */
  readonly started: string[] = [];
  /** runs not settled yet, by job id */
  readonly live = new Map<string, Run>();
  /** every run ever started, by job id (last attempt) */
  readonly runs = new Map<string, Run>();
  onStart: ((run: Run) => void) | null = null;

  readonly logic = fromJobRunner(
    ({ input, signal }) =>
      new Promise<void>((resolve, reject) => {
        const run: Run = {
          job: input.job,
          signal,
          resolve: () => {
            this.live.delete(input.job.id);
            resolve();
          },
          reject: (error) => {
            this.live.delete(input.job.id);
            reject(error);
          },
        };
        this.started.push(input.job.id);
        this.live.set(input.job.id, run);
        this.runs.set(input.job.id, run);
        this.onStart?.(run);
      }),
  );

  resolve(id: string): void {
    const run = this.live.get(id);
    if (run === undefined) throw new Error(`job ${id} is not running`);
    run.resolve();
  }

  reject(id: string, error: unknown): void {
    const run = this.live.get(id);
    if (run === undefined) throw new Error(`job ${id} is not running`);
    run.reject(error);
  }
}

export const DEFAULTS: DispatcherInput = {
  capacity: 10_000,
  perBot: 30,
  perRoom: 3,
  workers: 31,
  deadlineMs: 300_000,
  restartLimit: 5,
  restartWindowMs: 10_000,
};

export function startDispatcher(runner: FakeRunner, input: Partial<DispatcherInput> = {}) {
  const clock = new SimulatedClock();
  const outcomes: OutcomeReport[] = [];
  const restarts: RestartReport[] = [];
  const unhealthy: UnhealthyReport[] = [];
  const machine = dispatcherMachine.provide({
    actors: { runJob: runner.logic },
    actions: {
      reportOutcome: (_, params) => outcomes.push(params),
      reportRestart: (_, params) => restarts.push(params),
      reportUnhealthy: (_, params) => unhealthy.push(params),
    },
  });
  const errors: unknown[] = [];
  const actor = createActor(machine, {
    clock,
    input: { ...DEFAULTS, now: () => clock.now(), ...input },
  });
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  const outcomeOf = (id: string) => outcomes.filter((o) => o.job.id === id).map((o) => o.outcome);
  return { actor, clock, outcomes, restarts, unhealthy, errors, outcomeOf };
}

/** Lets settled runner promises reach the dispatcher (promise → worker → dispatcher are sync after that). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A root actor that records the events sent to it (stands in for a connection). */
export function recorder(): { ref: AnyActorRef; events: { type: string }[] } {
  const events: { type: string }[] = [];
  const ref = createActor(createMachine({ on: { '*': { actions: ({ event }) => events.push(event) } } })).start();
  return { ref, events };
}
