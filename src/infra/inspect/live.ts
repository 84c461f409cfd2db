import type { AnyActorRef, InspectionEvent, Subscription } from 'xstate';
import type { Inspection } from '../../actors/inspection.js';

/**
 * The daemon's `Inspection`: keeps the live root actors and registers `observer` on each of their
 * systems while switched on (`--inspect`, `PUT /inspect`), none while off. Actors leave the set
 * when they stop or fail, so it holds only live ones.
 */
export class LiveInspection implements Inspection {
  private readonly roots = new Map<AnyActorRef, Subscription | undefined>();
  private on: boolean;

  constructor(
    private readonly observer: (event: InspectionEvent) => void,
    enabled: boolean,
  ) {
    this.on = enabled;
  }

  get enabled(): boolean {
    return this.on;
  }

  /** live root actors known (for tests and /actors) */
  get size(): number {
    return this.roots.size;
  }

  attach(actor: AnyActorRef): void {
    if (this.roots.has(actor)) return;
    this.roots.set(actor, this.on ? this.observe(actor) : undefined);
    actor.subscribe(new Departure(this, actor));
  }

  /** The actor stopped or failed: it leaves the set. */
  left(actor: AnyActorRef): void {
    const subscription = this.roots.get(actor);
    this.roots.delete(actor);
    // XState reports the final snapshot after it has told the observers: stay for that
    if (subscription !== undefined) queueMicrotask(() => subscription.unsubscribe());
  }

  setEnabled(on: boolean): void {
    if (on === this.on) return;
    this.on = on;
    for (const [actor, subscription] of this.roots) {
      subscription?.unsubscribe();
      this.roots.set(actor, on ? this.observe(actor) : undefined);
    }
  }

  /**
   * Registers the observer on the actor's system. XState announces an actor (`@xstate.actor`)
   * when it is created, before anyone could attach here, so the announcement is repeated.
   */
  private observe(actor: AnyActorRef): Subscription {
    const subscription = actor.system.inspect(this.observer);
    this.observer({ type: '@xstate.actor', actorRef: actor, rootId: actor.sessionId });
    return subscription;
  }
}

/**
 * Tells the inspection when an attached actor ends. Methods on one small object rather than a
 * closure per actor: every connection is attached, and thousands of idle phones each keep one.
 */
class Departure {
  constructor(
    private readonly inspection: LiveInspection,
    private readonly actor: AnyActorRef,
  ) {}

  complete(): void {
    this.inspection.left(this.actor);
  }

  error(): void {
    this.inspection.left(this.actor);
  }
}
