/**
 * What inspection reads from an actor ref beyond xstate's public `ActorRefLike`
 * (`id`, `_parent`, `logic` exist on every real `Actor`, just not on that narrow type).
 */
export interface InspectableRef {
  id?: string;
  sessionId: string;
  _parent?: { sessionId: string };
  logic?: unknown;
  getSnapshot(): unknown;
}

export function asInspectable(ref: { sessionId: string; getSnapshot(): unknown }): InspectableRef {
  return ref as InspectableRef;
}

/** The machine id of a state-machine actor; undefined for promise/callback/observable actors. */
export function machineIdOf(ref: InspectableRef): string | undefined {
  const logic = ref.logic as { id?: unknown; root?: unknown } | undefined;
  // Only StateMachine logic has a root state node; other logic creators have no id of their own.
  return logic && typeof logic === 'object' && logic.root && typeof logic.id === 'string' ? logic.id : undefined;
}

/** The parts of a snapshot that are safe and cheap to show: never the context (it holds sockets). */
export function snapshotSummary(snapshot: unknown): { status?: string; value?: unknown; error?: string } {
  if (snapshot === null || typeof snapshot !== 'object') return {};
  const s = snapshot as { status?: unknown; value?: unknown; error?: unknown };
  const out: { status?: string; value?: unknown; error?: string } = {};
  if (typeof s.status === 'string') out.status = s.status;
  if (s.value !== undefined) out.value = s.value;
  if (s.status === 'error') out.error = s.error instanceof Error ? s.error.message : String(s.error);
  return out;
}
