export { type ActorSummary, summarizeActor } from './actor-summary.js';
export { createInspectObserver, type InspectObserver, type InspectObserverOptions } from './json-lines.js';
export { DEFAULT_STATELY_PORT, type StatelyInspector, startStatelyInspector } from './stately.js';
