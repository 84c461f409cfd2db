import { asInspectable, machineIdOf, snapshotSummary } from './actor-ref.js';

/** One live actor as GET /actors shows it: identity and state value, never the context. */
export interface ActorSummary {
  id: string | undefined;
  session: string;
  machine?: string;
  status?: string;
  value?: unknown;
  error?: string;
  children?: ActorSummary[];
}

/** Summarizes an actor and (down to `depth` levels) its children, for the admin endpoint and the dashboard. */
export function summarizeActor(actor: { sessionId: string; getSnapshot(): unknown }, depth = 3): ActorSummary {
  const ref = asInspectable(actor);
  const snapshot = ref.getSnapshot();
  const machine = machineIdOf(ref);
  const summary: ActorSummary = {
    id: ref.id,
    session: ref.sessionId,
    ...(machine === undefined ? {} : { machine }),
    ...snapshotSummary(snapshot),
  };
  const children = snapshot && typeof snapshot === 'object' ? (snapshot as { children?: unknown }).children : undefined;
  if (depth > 0 && children && typeof children === 'object') {
    const list = Object.values(children as Record<string, { sessionId: string; getSnapshot(): unknown } | undefined>)
      .filter((child) => child !== undefined)
      .map((child) => summarizeActor(child, depth - 1));
    if (list.length > 0) summary.children = list;
  }
  return summary;
}
