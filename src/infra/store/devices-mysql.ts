/** kb_bot_devices on MariaDB/MySQL: a phone's standing (registration, lookups, approval; PROTOCOL §7.3, §8.1). */
import { DEVICE_KEY_HINT, KeyConflictError } from './errors.js';
import { MysqlPart } from './part-mysql.js';
import { DEVICE_SELECT, toDeviceRow } from './rows.js';
import type { DeviceStanding } from './store-parts.js';
import type { DeviceKey, DeviceRow, HandshakeIdentity, KnownStatus } from './types.js';

const KEY_CHUNK = 500;

/** Device standing for the MySQL store (mysql.ts). */
export class MysqlDevices extends MysqlPart implements DeviceStanding {
  private async selectDevice(bot: string, dev: string): Promise<DeviceRow | undefined> {
    const [raw] = await this.rows(`SELECT ${DEVICE_SELECT} FROM kb_bot_devices WHERE bot_name = ? AND device_id = ?`, [
      bot,
      dev,
    ]);
    return raw === undefined ? undefined : toDeviceRow(raw);
  }

  /** The row of our key after an upsert; its absence means a narrower unique key swallowed it. */
  private async deviceOrConflict(bot: string, dev: string): Promise<DeviceRow> {
    const row = await this.selectDevice(bot, dev);
    if (row) return row;
    const [holder] = await this.rows('SELECT bot_name, device_id FROM kb_bot_devices WHERE device_id = ? LIMIT 1', [
      dev,
    ]);
    throw new KeyConflictError(
      'kb_bot_devices',
      { bot_name: bot, device_id: dev },
      holder as Record<string, string> | undefined,
      DEVICE_KEY_HINT,
    );
  }

  async registerDevice(identity: HandshakeIdentity): Promise<{ device: DeviceRow; created: boolean }> {
    const { botName: bot, deviceId: dev, ipAddress: ip, clientType: type, clientVersion: version } = identity;
    const now = this.now();
    // PROTOCOL §7.3. The common case (a known phone reconnecting) is one UPDATE.
    const touched = await this.run(
      'UPDATE kb_bot_devices SET ip_address = ?, client_version = ?, updated_at = ? WHERE bot_name = ? AND device_id = ?',
      [ip, version, now, bot, dev],
    );
    if (touched.affectedRows > 0) return { device: await this.deviceOrConflict(bot, dev), created: false };
    // New (or unchanged within the same second): an upsert, so two concurrent first handshakes
    // both succeed. The update is guarded by the full identity: when an old UNIQUE(device_id)
    // catches another bot's row, that row is left alone and deviceOrConflict reports it.
    const res = await this.upsert(
      `INSERT INTO kb_bot_devices
         (bot_name, device_id, status, ip_address, client_type, client_version, created_at, updated_at)
       VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE
         ip_address = IF(bot_name = VALUES(bot_name) AND device_id = VALUES(device_id), VALUES(ip_address), ip_address),
         client_version = IF(bot_name = VALUES(bot_name) AND device_id = VALUES(device_id),
                             VALUES(client_version), client_version),
         updated_at = IF(bot_name = VALUES(bot_name) AND device_id = VALUES(device_id), VALUES(updated_at), updated_at)`,
      [bot, dev, ip, type, version, now, now],
    );
    return { device: await this.deviceOrConflict(bot, dev), created: res.affectedRows === 1 };
  }

  async getDevice(key: DeviceKey): Promise<DeviceRow | undefined> {
    return this.selectDevice(key.botName, key.deviceId);
  }

  async getDevices(keys: readonly DeviceKey[]): Promise<DeviceRow[]> {
    const out: DeviceRow[] = [];
    for (let i = 0; i < keys.length; i += KEY_CHUNK) {
      const chunk = keys.slice(i, i + KEY_CHUNK);
      const rows = await this.rows(
        `SELECT ${DEVICE_SELECT} FROM kb_bot_devices WHERE (bot_name, device_id) IN (${chunk.map(() => '(?, ?)').join(', ')})`,
        chunk.flatMap((k) => [k.botName, k.deviceId]),
      );
      for (const raw of rows) out.push(toDeviceRow(raw));
    }
    return out;
  }

  async listDevices(): Promise<DeviceRow[]> {
    return (await this.rows(`SELECT ${DEVICE_SELECT} FROM kb_bot_devices ORDER BY bot_name, device_id`, [])).map(
      toDeviceRow,
    );
  }

  async setDeviceStatus(key: DeviceKey, status: KnownStatus, reason?: string): Promise<DeviceRow> {
    const { botName: bot, deviceId: dev } = key;
    const now = this.now();
    const approvedAt = status === 'approved' ? now : null;
    // MySQL evaluates SET left to right: approved_at must look at the status before it changes.
    const updated = await this.run(
      `UPDATE kb_bot_devices SET
         approved_at = IF(? = 'approved' AND (status <> 'approved' OR approved_at IS NULL), ?, approved_at),
         status = ?, rejection_reason = COALESCE(?, rejection_reason), updated_at = ?
       WHERE bot_name = ? AND device_id = ?`,
      [status, now, status, reason ?? null, now, bot, dev],
    );
    if (updated.affectedRows === 0) {
      await this.upsert(
        `INSERT INTO kb_bot_devices (bot_name, device_id, status, approved_at, rejection_reason, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE
           status = IF(bot_name = VALUES(bot_name) AND device_id = VALUES(device_id), VALUES(status), status)`,
        [bot, dev, status, approvedAt, reason ?? null, now, now],
      );
    }
    return this.deviceOrConflict(bot, dev);
  }
}
