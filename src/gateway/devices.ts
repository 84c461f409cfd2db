import type { DeviceVerdict } from '../actors/connection-ports.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { DeviceKey, DeviceRow, HandshakeIdentity, Store } from '../infra/store/types.js';
import type { Handshake } from '../protocol/index.js';

/** PROTOCOL §7.3: the handshakeComplete message for a device status. */
export function standingMessage(status: string, created: boolean): string {
  if (created) return '디바이스가 승인 대기 상태로 등록되었습니다';
  switch (status) {
    case 'approved':
      return '승인된 디바이스입니다';
    case 'pending':
      return '승인 대기 중인 디바이스입니다';
    case 'denied':
    case 'revoked':
    case 'blocked':
      return `접근이 차단된 디바이스입니다 (${status})`;
    default:
      return `알 수 없는 상태입니다 (${status})`;
  }
}

export interface KnownDevice {
  status: string;
  maxMessageSize: number | null;
}

/**
 * Device standing with a last-known cache, so database trouble never stops the phones
 * (DESIGN.md §4): a device seen before keeps its last status; one never seen stays pending
 * (fail closed, DESIGN.md §4 — unlike the reference server's fail-open, PROTOCOL §9 item 9).
 */
export class DeviceDirectory {
  private readonly known = new Map<string, KnownDevice>();
  /**
   * Handshakes whose registration failed (database away): registered at the next refresh that
   * reaches the database, so a phone that stays connected shows up in the back office to be
   * approved instead of staying pending and invisible until it happens to reconnect.
   */
  private readonly unregistered = new Map<string, Handshake>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  private static key(k: DeviceKey): string {
    return `${k.botName}\u0000${k.deviceId}`;
  }

  private remember(row: DeviceRow): KnownDevice {
    const known = { status: row.status, maxMessageSize: row.maxMessageSize };
    this.known.set(DeviceDirectory.key(row), known);
    return known;
  }

  /** PROTOCOL §7.3 at handshake time. Never rejects. */
  async register(h: Handshake): Promise<DeviceVerdict> {
    try {
      const { device, created } = await this.store.registerDevice(identityOf(h));
      this.unregistered.delete(DeviceDirectory.key(h));
      const known = this.remember(device);
      // a literal, not a spread: V8 gives each `{ ...known, message }` a hidden class of its own,
      // and every connection keeps its verdict (DESIGN.md §6)
      return {
        status: known.status,
        maxMessageSize: known.maxMessageSize,
        message: standingMessage(device.status, created),
      };
    } catch (error) {
      this.metrics.storeErrors.inc({ op: 'registerDevice' });
      this.unregistered.set(DeviceDirectory.key(h), h);
      const last = this.known.get(DeviceDirectory.key(h));
      const status = last?.status ?? 'pending';
      this.log.warn(
        { err: error, botName: h.botName, deviceId: h.deviceId, status },
        'device lookup failed; using the last known standing',
      );
      return {
        status,
        maxMessageSize: last?.maxMessageSize ?? null,
        message: `검증 실패 - 마지막 상태 사용 (${status})`,
      };
    }
  }

  /**
   * Re-reads the rows of `keys` (PROTOCOL §7.10 reload). A key without a row is
   * unapproved; one whose registration failed earlier is registered now (as pending).
   * Returns the fresh standing of every key it could read; throws on database errors.
   */
  async refresh(keys: readonly DeviceKey[]): Promise<Map<string, KnownDevice>> {
    const rows = await this.store.getDevices(keys);
    const fresh = new Map<string, KnownDevice>();
    for (const row of rows) fresh.set(DeviceDirectory.key(row), this.remember(row));
    if (this.unregistered.size > 0) await this.registerLate(keys, fresh);
    for (const k of keys) {
      const id = DeviceDirectory.key(k);
      if (!fresh.has(id)) {
        const missing = { status: 'pending', maxMessageSize: null };
        this.known.set(id, missing);
        fresh.set(id, missing);
      }
    }
    return fresh;
  }

  /** Registers the live keys whose handshake-time registration failed; forgets the others. */
  private async registerLate(keys: readonly DeviceKey[], fresh: Map<string, KnownDevice>): Promise<void> {
    const live = new Set(keys.map((k) => DeviceDirectory.key(k)));
    for (const [id, h] of [...this.unregistered]) {
      if (!live.has(id) || fresh.has(id)) {
        this.unregistered.delete(id); // disconnected, or its row exists now
        continue;
      }
      const { device } = await this.store.registerDevice(identityOf(h));
      this.unregistered.delete(id);
      fresh.set(id, this.remember(device));
      this.log.info(
        { botName: h.botName, deviceId: h.deviceId, status: device.status },
        'device registered after the database came back',
      );
    }
  }
}

function identityOf(h: Handshake): HandshakeIdentity {
  return {
    botName: h.botName,
    deviceId: h.deviceId,
    ipAddress: h.deviceIp,
    clientType: h.clientType,
    clientVersion: h.version,
  };
}
