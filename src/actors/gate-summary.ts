/**
 * The live bot and room gates with the jobs waiting behind each, read from the dispatcher's context
 * (the actor tests check the gates through it; `GET /actors` renders gates with actors-view.ts).
 */
import type { DispatcherContext } from './dispatcher-logic.js';
import type { GateRef } from './gate.js';

export interface GateSummary {
  kind: 'bot' | 'room';
  key: string;
  state: 'open' | 'saturated';
  inFlight: number;
  limit: number;
  /** jobs waiting behind this gate */
  waiting: number;
}

export function gateSummary(ctx: Pick<DispatcherContext, 'botGates' | 'roomGates' | 'bots' | 'queues'>): GateSummary[] {
  const out: GateSummary[] = [];
  const add = (kind: GateSummary['kind'], key: string, gate: GateRef, waiting: number) => {
    const snapshot = gate.getSnapshot();
    out.push({
      kind,
      key,
      state: snapshot.value,
      inFlight: snapshot.context.inFlight,
      limit: snapshot.context.limit,
      waiting,
    });
  };
  for (const [key, gate] of ctx.botGates) add('bot', key, gate, ctx.bots.get(key)?.waiting ?? 0);
  for (const [key, gate] of ctx.roomGates) add('room', key, gate, ctx.queues.get(key)?.jobs.size ?? 0);
  return out;
}
