/**
 * `/readyz` of the daemon: ready means the phones are served (listener and workers). Storage
 * trouble (store unreachable, telemetry not writing) does not stop chat traffic (DESIGN.md §4);
 * it shows as `degraded: true`, and fails readiness only with `admin.readyRequiresStore`.
 */
import type { Readiness, ReadinessCheck } from '../infra/admin/server.js';
import type { Store } from '../infra/store/types.js';

export interface ReadinessSources {
  listening(): boolean;
  store: Pick<Store, 'ping'>;
  telemetry(): ReadinessCheck;
  workersHealthy(): boolean;
  /** admin.readyRequiresStore */
  requireStore: boolean;
}

export async function gatewayReadiness(s: ReadinessSources): Promise<Readiness> {
  const checks: Record<string, ReadinessCheck> = {};
  checks.listening = { ok: s.listening() };
  try {
    await s.store.ping();
    checks.store = { ok: true };
  } catch (error) {
    checks.store = { ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
  checks.telemetry = s.telemetry();
  checks.workers = s.workersHealthy() ? { ok: true } : { ok: false, detail: 'worker restart limit exceeded' };
  const degraded = !checks.store.ok || !checks.telemetry.ok;
  const served = checks.listening.ok && checks.workers.ok;
  return { ready: served && !(s.requireStore && degraded), degraded, checks };
}
