import type { AnyActorRef } from 'xstate';

/**
 * Where the root actors (connections, dispatcher, gates, outbound paths, scheduler) report for
 * inspection (DESIGN.md §2: each is its own root with its own system). An attached actor is
 * observed only while inspection is on: an XState inspection observer, even one that returns at
 * once, roughly doubles the CPU of every event, so none is registered while it is off.
 */
export interface Inspection {
  /** call right after createActor, before start, so the actor's start is seen too */
  attach(actor: AnyActorRef): void;
}
