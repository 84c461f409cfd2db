import { type Actor, createActor } from 'xstate';
import { schedulerMachine } from '../actors/scheduler.js';
import type { SchedulerPorts, SchedulerRecoveryPort, SchedulerSettings } from '../actors/scheduler-ports.js';
import type { SendPort } from '../actors/send.js';
import type { Clock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import { scheduleMediaLoader } from '../infra/schedule-media.js';
import type { ScheduleStore } from '../infra/store/schedule-types.js';
import type { Store } from '../infra/store/types.js';
import { traceIdFactory } from './trace-id.js';

/** The scheduler's infra (DESIGN.md §2): store, approval lookups, media, metrics, the SendPort. */
export interface SchedulerWiring {
  store: Pick<Store, 'getDevice' | 'getRoom'> & { schedules: ScheduleStore };
  send: SendPort;
  clock: Clock;
  /** bots with at least one live connection (PROTOCOL §7.12) */
  liveBots(): readonly string[];
  config: Config['scheduler'];
  metrics: Pick<Metrics, 'scheduleRuns'> & Partial<Pick<Metrics, 'outbox'>>;
  log: Logger;
  /** the send record (gateway.journal): runs a crash cut short are finished from it */
  recovery?: SchedulerRecoveryPort;
}

export function schedulerSettings(c: Config['scheduler']): SchedulerSettings {
  return {
    startDelayMs: c.startDelayMs,
    catchUpWindowS: c.catchUpWindowS,
    maxPerPoll: c.maxPerPoll,
    perBotGapMs: c.perBotGapMs,
    staggerMinS: c.staggerMinS,
    staggerMaxS: c.staggerMaxS,
    staleClaimMs: c.staleClaimMs,
  };
}

export function schedulerPorts(w: SchedulerWiring): SchedulerPorts {
  const newId = traceIdFactory();
  return {
    clock: w.clock,
    store: w.store.schedules,
    directory: {
      deviceStatus: async (botName, deviceId) => (await w.store.getDevice({ botName, deviceId }))?.status,
      room: async (botName, roomId, deviceId) => {
        const row = await w.store.getRoom({ roomId, botName, deviceId });
        return row === undefined ? undefined : { title: row.roomName, status: row.status };
      },
    },
    send: w.send,
    loadImages: scheduleMediaLoader(w.config.mediaDir),
    liveBots: w.liveBots,
    newId: () => newId(w.clock.now()),
    onRun: (scheduleId, outcome, detail) => {
      w.metrics.scheduleRuns.inc({ outcome });
      const fields = { scheduleId, outcome, ...(detail === undefined ? {} : { detail }) };
      if (outcome === 'failed' || outcome === 'partial') w.log.warn(fields, 'schedule run');
      else w.log.info(fields, 'schedule run');
    },
    onError: (error) => w.log.error({ err: error }, 'scheduler pass failed; the next poll tries again'),
    ...(w.recovery === undefined ? {} : { recovery: w.recovery }),
    onRecover: (scheduleId, action, detail) => {
      w.metrics.outbox?.inc({ event: `run-${action}` });
      w.log.warn({ scheduleId, action, detail }, 'interrupted schedule run taken over');
    },
  };
}

/** Starts the scheduler actor on the wiring's clock; the caller stops it on shutdown. */
export function startScheduler(w: SchedulerWiring): Actor<typeof schedulerMachine> {
  const actor = createActor(schedulerMachine, {
    input: { ports: schedulerPorts(w), settings: schedulerSettings(w.config) },
    clock: w.clock,
  });
  actor.subscribe({ error: (error) => w.log.error({ err: error }, 'scheduler actor failed') });
  actor.start();
  return actor;
}
