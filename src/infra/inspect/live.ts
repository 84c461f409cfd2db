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
    this.roots.set(actor, this.on ? actor.system.inspect(this.observer) : undefined);
    const leave = () => {
      this.roots.get(actor)?.unsubscribe();
      this.roots.delete(actor);
    };
    actor.subscribe({ complete: leave, error: leave });
  }

  setEnabled(on: boolean): void {
    if (on === this.on) return;
    this.on = on;
    for (const [actor, subscription] of this.roots) {
      subscription?.unsubscribe();
      this.roots.set(actor, on ? actor.system.inspect(this.observer) : undefined);
    }
  }
}
