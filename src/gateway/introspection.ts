import type { Actor } from 'xstate';
import type { ConnectionActor } from '../actors/connection.js';
import type { dispatcherMachine } from '../actors/dispatcher.js';
import type { ConnectionInfo } from '../handlers/api.js';
import type { Metrics } from '../infra/metrics.js';
import { connectionView, gateView } from './actors-view.js';
import type { LiveRegistry } from './live-info.js';
import type { OutboundPaths } from './outbound-paths.js';

/** Live connections for `# client_info` and /actors. */
export function connectionInfos(registry: LiveRegistry): ConnectionInfo[] {
  const out: ConnectionInfo[] = [];
  for (const [, entry] of registry.entries()) {
    const info = entry.info;
    out.push({
      botName: info.handshake.botName,
      deviceId: info.handshake.deviceId,
      version: info.handshake.version,
      state: 'active',
      standing: info.standing,
      connectedAt: info.connectedAt,
      monitoring: info.monitoring,
    });
  }
  return out;
}

export interface ActorsSources {
  /** every connection actor, handshaken or not */
  all: Iterable<ConnectionActor>;
  registry: LiveRegistry;
  dispatcher: Actor<typeof dispatcherMachine>;
  paths: Pick<OutboundPaths, 'views'>;
}

/** Every live actor with its state (GET /actors). */
export function actorsView(s: ActorsSources): unknown {
  const connections = [...s.all].map((actor) => {
    const snap = actor.getSnapshot();
    const entry = snap.context.key === null ? undefined : s.registry.get(snap.context.key);
    return connectionView(
      {
        id: actor.id,
        peer: snap.context.peer,
        botName: snap.context.handshake?.botName ?? null,
        deviceId: snap.context.handshake?.deviceId ?? null,
        state: snap.value,
        openedAt: snap.context.openedAt,
      },
      entry?.ref === actor ? entry.info : undefined,
    );
  });
  const d = s.dispatcher.getSnapshot();
  return {
    connections,
    dispatcher: {
      state: d.value,
      waiting: d.context.waiting,
      running: d.context.running,
      workers: Object.entries(d.children).map(([id, child]) => ({
        id,
        state: (child?.getSnapshot() as { value?: unknown } | undefined)?.value ?? null,
      })),
      botGates: [...d.context.botGates].map(([key, gate]) => gateView(key, gate)),
      roomGates: [...d.context.roomGates].map(([key, gate]) => gateView(key, gate)),
    },
    outbound: s.paths.views().map(({ key: _key, ...view }) => view),
  };
}

/** Sets the connections gauge from each live connection actor's state and standing. */
export function countConnections(all: Iterable<ConnectionActor>, gauge: Metrics['connections']): void {
  gauge.reset();
  for (const actor of all) {
    const snap = actor.getSnapshot();
    if (snap.status !== 'active') continue;
    const state = typeof snap.value === 'string' ? snap.value : 'active';
    // standing is known once the handshake is answered
    gauge.inc({ state, standing: state === 'active' ? snap.context.standing : 'unknown' });
  }
}

/**
 * Gauges counted when scraped (prom-client runs a metric's `collect` before reading it), so no
 * hot path keeps them current: "connections by state and standing" (README Metrics) from the
 * live connection actors, and the sends queued on the outbound paths.
 */
export function collectOnScrape(
  metrics: Pick<Metrics, 'connections' | 'outboundQueued'>,
  { all, queued }: { all: () => Iterable<ConnectionActor>; queued: () => number },
): void {
  (metrics.connections as { collect?: () => void }).collect = () => countConnections(all(), metrics.connections);
  (metrics.outboundQueued as { collect?: () => void }).collect = () => metrics.outboundQueued.set(queued());
}
