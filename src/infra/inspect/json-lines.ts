import pino from 'pino';
import type { InspectionEvent } from 'xstate';
import type { Logger } from '../logger.js';
import { asInspectable, machineIdOf, snapshotSummary } from './actor-ref.js';

/**
 * The `inspect` observer behind `--inspect` / `PUT /inspect?mode=log`: one JSON line per actor
 * registration, received event and new snapshot. `LiveInspection` (live.ts) registers it on the
 * root actors only while inspection is on: an observer, even one that returns at once, roughly
 * doubles the CPU of every actor event (DESIGN.md §2).
 *
 * Lines carry state values and event types only — never contexts (they hold sockets) and never
 * event payloads (they hold chat text).
 */

export interface InspectObserverOptions {
  /** write the lines to this file (appending) instead of the `inspect` log category */
  file?: string;
  /** whether it starts switched on (default true) */
  enabled?: boolean;
}

export interface InspectObserver {
  /** pass as `createActor(logic, { inspect: observer })` */
  observer: (ev: InspectionEvent) => void;
  readonly enabled: boolean;
  setEnabled(on: boolean): void;
  /** flushes and closes the file, if any */
  close(): Promise<void>;
}

export function createInspectObserver(log: Logger, opts: InspectObserverOptions = {}): InspectObserver {
  let enabled = opts.enabled ?? true;
  const destination = opts.file ? pino.destination({ dest: opts.file, sync: false, mkdir: true, append: true }) : null;
  const out: Logger = destination
    ? pino({ level: 'info', base: { cat: 'inspect' }, timestamp: pino.stdTimeFunctions.isoTime }, destination)
    : log;

  function write(ev: InspectionEvent): void {
    const ref = asInspectable(ev.actorRef);
    switch (ev.type) {
      case '@xstate.actor':
        out.info(
          {
            actor: ref.id,
            session: ref.sessionId,
            parent: ref._parent?.sessionId,
            root: ev.rootId,
            machine: machineIdOf(ref),
          },
          ev.type,
        );
        return;
      case '@xstate.event':
        out.info(
          {
            actor: ref.id,
            session: ref.sessionId,
            event: ev.event.type,
            source: ev.sourceRef?.sessionId,
          },
          ev.type,
        );
        return;
      case '@xstate.snapshot':
        out.info(
          {
            actor: ref.id,
            session: ref.sessionId,
            event: ev.event.type,
            ...snapshotSummary(ev.snapshot),
          },
          ev.type,
        );
        return;
      default:
        // microsteps and actions would multiply the volume for little insight
        return;
    }
  }

  return {
    observer(ev) {
      if (!enabled || !out.isLevelEnabled('info')) return;
      try {
        write(ev);
      } catch {
        // Inspection must never break the actor it watches.
      }
    },
    get enabled() {
      return enabled;
    },
    setEnabled(on) {
      enabled = on;
    },
    close() {
      if (!destination) return Promise.resolve();
      return new Promise<void>((resolve) => {
        destination.once('close', () => resolve());
        destination.end();
      });
    },
  };
}
