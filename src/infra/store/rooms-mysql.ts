/** kb_rooms on MariaDB/MySQL: a room's standing (auto-registration, lookups, approval; PROTOCOL §7.8, §8.2). */
import { KeyConflictError, ROOM_KEY_HINT } from './errors.js';
import { MysqlPart } from './part-mysql.js';
import { ROOM_SELECT, roomAutoDescription, roomListSql, toRoomRow, toRoomStatusRows } from './rows.js';
import type { RoomStanding } from './store-parts.js';
import type { KnownStatus, RoomKey, RoomRow, RoomStatusRow } from './types.js';

/** Room standing for the MySQL store (mysql.ts). */
export class MysqlRooms extends MysqlPart implements RoomStanding {
  private async selectRoom(key: RoomKey): Promise<RoomRow | undefined> {
    const [raw] = await this.rows(
      `SELECT ${ROOM_SELECT} FROM kb_rooms WHERE room_id = ? AND bot_name = ? AND device_id = ?`,
      [key.roomId, key.botName, key.deviceId],
    );
    return raw === undefined ? undefined : toRoomRow(raw);
  }

  private async roomOrConflict(key: RoomKey): Promise<RoomRow> {
    const row = await this.selectRoom(key);
    if (row) return row;
    const [holder] = await this.rows('SELECT room_id, bot_name, device_id FROM kb_rooms WHERE room_id = ? LIMIT 1', [
      key.roomId,
    ]);
    throw new KeyConflictError(
      'kb_rooms',
      { room_id: key.roomId, bot_name: key.botName, device_id: key.deviceId },
      holder as Record<string, string> | undefined,
      ROOM_KEY_HINT,
    );
  }

  /** Inserts the room unless a row holds its key; the no-op update leaves that row untouched. */
  private async insertRoom(
    key: RoomKey,
    v: { name: string; status: KnownStatus; description: string | null; now: string },
  ): Promise<boolean> {
    const res = await this.upsert(
      `INSERT INTO kb_rooms
         (room_id, bot_name, device_id, room_name, room_concurrency, status, approved_at, description,
          created_at, updated_at)
       VALUES (?, ?, ?, ?, 2, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE room_id = room_id`,
      [
        key.roomId,
        key.botName,
        key.deviceId,
        v.name,
        v.status,
        v.status === 'approved' ? v.now : null,
        v.description,
        v.now,
        v.now,
      ],
    );
    return res.affectedRows === 1;
  }

  getRoom(key: RoomKey): Promise<RoomRow | undefined> {
    return this.selectRoom(key);
  }

  async registerRoom(
    key: RoomKey,
    roomName: string,
    status: KnownStatus,
  ): Promise<{ room: RoomRow; created: boolean }> {
    // PROTOCOL §7.8: insert if new (room_concurrency 2, auto-registration note); an existing row
    // is returned as it is — the title is never refreshed.
    const created = await this.insertRoom(key, {
      name: roomName,
      status,
      description: roomAutoDescription(key.botName, key.deviceId),
      now: this.now(),
    });
    return { room: await this.roomOrConflict(key), created };
  }

  async listRooms(filter: { botName?: string; status?: string } = {}): Promise<RoomRow[]> {
    const { sql, params } = roomListSql(filter);
    return (await this.rows(sql, params)).map(toRoomRow);
  }

  async roomStatuses(botName: string): Promise<RoomStatusRow[]> {
    const [rows] = await this.pool.query({
      sql: 'SELECT room_id, device_id, status FROM kb_rooms WHERE bot_name = ?',
      values: [botName],
      rowsAsArray: true,
    });
    return toRoomStatusRows(rows);
  }

  async setRoomStatus(botName: string, roomId: string, status: KnownStatus, deviceId?: string): Promise<number> {
    const now = this.now();
    // Only rows whose status really changes count and get updated_at (and approved_at when approving).
    const set = `UPDATE kb_rooms SET approved_at = IF(? = 'approved', ?, approved_at), status = ?, updated_at = ?
                 WHERE bot_name = ? AND room_id = ? AND status <> ?`;
    const params: unknown[] = [status, now, status, now, botName, roomId, status];
    if (deviceId === undefined) return (await this.run(set, params)).affectedRows;
    const changed = (await this.run(`${set} AND device_id = ?`, [...params, deviceId])).affectedRows;
    if (changed > 0) return changed;
    const key = { roomId, botName, deviceId };
    // Set before the phone ever relayed the room: the title is not known yet.
    const created = await this.insertRoom(key, { name: '', status, description: null, now });
    await this.roomOrConflict(key);
    return created ? 1 : 0;
  }
}
