/** kb_bot_devices on SQLite: a phone's standing (registration, lookups, approval; PROTOCOL §7.3, §8.1). */
import type Database from 'better-sqlite3';
import { DEVICE_KEY_HINT, KeyConflictError } from './errors.js';
import { isUniqueViolation, SqlitePart, type Statements } from './part-sqlite.js';
import { DEVICE_SELECT, toDeviceRow } from './rows.js';
import type { DeviceStanding } from './store-parts.js';
import type { DeviceKey, DeviceRow, HandshakeIdentity, KnownStatus } from './types.js';

type DevicesStatements = Statements<
  'getDevice' | 'listDevices' | 'deviceHolder' | 'touchDevice' | 'insertDevice' | 'setDeviceStatus'
>;

function prepareDevices(db: Database.Database): DevicesStatements {
  return {
    getDevice: db.prepare(`SELECT ${DEVICE_SELECT} FROM kb_bot_devices WHERE bot_name = ? AND device_id = ?`),
    listDevices: db.prepare(`SELECT ${DEVICE_SELECT} FROM kb_bot_devices ORDER BY bot_name, device_id`),
    deviceHolder: db.prepare('SELECT bot_name, device_id FROM kb_bot_devices WHERE device_id = ? LIMIT 1'),
    // PROTOCOL §7.3: every handshake refreshes ip_address, client_version and updated_at
    touchDevice: db.prepare(
      `UPDATE kb_bot_devices SET ip_address = @ip, client_version = @version, updated_at = @now
       WHERE bot_name = @bot AND device_id = @dev`,
    ),
    insertDevice: db.prepare(
      `INSERT INTO kb_bot_devices
         (bot_name, device_id, status, ip_address, client_type, client_version, approved_at, rejection_reason,
          created_at, updated_at)
       VALUES (@bot, @dev, @status, @ip, @type, @version, @approvedAt, @reason, @now, @now)`,
    ),
    setDeviceStatus: db.prepare(
      `UPDATE kb_bot_devices SET
         approved_at = CASE WHEN @status = 'approved' AND (status <> 'approved' OR approved_at IS NULL)
                            THEN @now ELSE approved_at END,
         status = @status,
         rejection_reason = COALESCE(@reason, rejection_reason),
         updated_at = @now
       WHERE bot_name = @bot AND device_id = @dev`,
    ),
  };
}

/** Device standing for the SQLite store (sqlite.ts). */
export class SqliteDevices extends SqlitePart<DevicesStatements> implements DeviceStanding {
  protected readonly prepare = prepareDevices;

  async registerDevice(identity: HandshakeIdentity): Promise<{ device: DeviceRow; created: boolean }> {
    const s = this.s;
    const p = {
      bot: identity.botName,
      dev: identity.deviceId,
      ip: identity.ipAddress,
      version: identity.clientVersion,
      type: identity.clientType,
      status: 'pending',
      approvedAt: null,
      reason: null,
      now: this.now(),
    };
    // One immediate transaction: two handshakes of one new device cannot both insert.
    const created = this.db
      .transaction(() => {
        if (s.touchDevice.run(p).changes > 0) return false;
        this.insertDeviceOrConflict(p);
        return true;
      })
      .immediate();
    return { device: toDeviceRow(s.getDevice.get(p.bot, p.dev)), created };
  }

  private insertDeviceOrConflict(p: Record<string, string | null>): void {
    try {
      this.s.insertDevice.run(p);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const holder = this.s.deviceHolder.get(p.dev) as { bot_name: string; device_id: string } | undefined;
      throw new KeyConflictError(
        'kb_bot_devices',
        { bot_name: p.bot ?? '', device_id: p.dev ?? '' },
        holder,
        DEVICE_KEY_HINT,
      );
    }
  }

  async getDevice(key: DeviceKey): Promise<DeviceRow | undefined> {
    const raw = this.s.getDevice.get(key.botName, key.deviceId);
    return raw === undefined ? undefined : toDeviceRow(raw);
  }

  async getDevices(keys: readonly DeviceKey[]): Promise<DeviceRow[]> {
    const s = this.s;
    const out: DeviceRow[] = [];
    // A local point lookup per key is cheaper here than building an IN list.
    for (const key of keys) {
      const raw = s.getDevice.get(key.botName, key.deviceId);
      if (raw !== undefined) out.push(toDeviceRow(raw));
    }
    return out;
  }

  async listDevices(): Promise<DeviceRow[]> {
    return this.s.listDevices.all().map(toDeviceRow);
  }

  async setDeviceStatus(key: DeviceKey, status: KnownStatus, reason?: string): Promise<DeviceRow> {
    const s = this.s;
    const now = this.now();
    const p = {
      bot: key.botName,
      dev: key.deviceId,
      status,
      reason: reason ?? null,
      now,
      ip: null,
      type: null,
      version: null,
      approvedAt: status === 'approved' ? now : null,
    };
    this.db
      .transaction(() => {
        if (s.setDeviceStatus.run(p).changes === 0) this.insertDeviceOrConflict(p);
      })
      .immediate();
    return toDeviceRow(s.getDevice.get(p.bot, p.dev));
  }
}
