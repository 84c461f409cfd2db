import type { DispatcherInput } from '../actors/dispatcher.js';
import type { Config } from '../infra/config/schema.js';

/** The dispatcher's settings from the `processing` config section. */
export function dispatcherInputOf(p: Config['processing']): DispatcherInput {
  return {
    capacity: p.mailboxSize,
    perBot: p.perBot,
    perRoom: p.perRoom,
    workers: p.workers,
    deadlineMs: p.deadlineMs,
    restartLimit: p.restartLimit,
    restartWindowMs: p.restartWindowMs,
    gateIdleMs: p.gateIdleMs,
    maxIdleGates: p.maxIdleGates,
  };
}
