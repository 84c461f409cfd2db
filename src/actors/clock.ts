/**
 * Time, injected everywhere (DESIGN.md §4): XState schedules `after` timers with
 * setTimeout/clearTimeout, and our code reads `now()` (epoch ms). xstate's
 * SimulatedClock satisfies this interface, so tests advance time without sleeping.
 * It lives with the actors, which import nothing from infra; src/infra/clock.ts re-exports it.
 */
export interface Clock {
  now(): number;
  // biome-ignore lint/suspicious/noExplicitAny: XState's Clock signature
  setTimeout(fn: (...args: any[]) => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}
