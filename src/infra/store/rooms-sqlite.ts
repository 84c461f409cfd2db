/** kb_rooms on SQLite: a room's standing (auto-registration, lookups, approval; PROTOCOL §7.8, §8.2). */
import type Database from 'better-sqlite3';
import { KeyConflictError, ROOM_KEY_HINT } from './errors.js';
import { isUniqueViolation, SqlitePart, type Statements } from './part-sqlite.js';
import { ROOM_SELECT, roomAutoDescription, roomListSql, toRoomRow, toRoomStatusRows } from './rows.js';
import type { RoomStanding } from './store-parts.js';
import type { KnownStatus, RoomKey, RoomRow, RoomStatusRow } from './types.js';

type RoomsStatements = Statements<
  'getRoom' | 'roomStatuses' | 'roomHolder' | 'insertRoom' | 'setRoomStatusAll' | 'setRoomStatusOne'
>;

function prepareRooms(db: Database.Database): RoomsStatements {
  return {
    getRoom: db.prepare(`SELECT ${ROOM_SELECT} FROM kb_rooms WHERE room_id = ? AND bot_name = ? AND device_id = ?`),
    // rows as arrays: no per-row object or date parsing on the 5 s refresh of every cached room
    roomStatuses: db.prepare('SELECT room_id, device_id, status FROM kb_rooms WHERE bot_name = ?').raw(),
    roomHolder: db.prepare('SELECT room_id, bot_name, device_id FROM kb_rooms WHERE room_id = ? LIMIT 1'),
    insertRoom: db.prepare(
      `INSERT INTO kb_rooms
         (room_id, bot_name, device_id, room_name, room_concurrency, status, approved_at, description,
          created_at, updated_at)
       VALUES (@room, @bot, @dev, @name, 2, @status, @approvedAt, @description, @now, @now)`,
    ),
    // Only rows whose status really changes count and get updated_at (and approved_at when approving).
    setRoomStatusAll: db.prepare(
      `UPDATE kb_rooms SET
         approved_at = CASE WHEN @status = 'approved' THEN @now ELSE approved_at END,
         status = @status, updated_at = @now
       WHERE bot_name = @bot AND room_id = @room AND status <> @status`,
    ),
    setRoomStatusOne: db.prepare(
      `UPDATE kb_rooms SET
         approved_at = CASE WHEN @status = 'approved' THEN @now ELSE approved_at END,
         status = @status, updated_at = @now
       WHERE bot_name = @bot AND room_id = @room AND device_id = @dev AND status <> @status`,
    ),
  };
}

/** Room standing for the SQLite store (sqlite.ts). */
export class SqliteRooms extends SqlitePart<RoomsStatements> implements RoomStanding {
  protected readonly prepare = prepareRooms;

  async getRoom(key: RoomKey): Promise<RoomRow | undefined> {
    const raw = this.s.getRoom.get(key.roomId, key.botName, key.deviceId);
    return raw === undefined ? undefined : toRoomRow(raw);
  }

  async registerRoom(
    key: RoomKey,
    roomName: string,
    status: KnownStatus,
  ): Promise<{ room: RoomRow; created: boolean }> {
    const s = this.s;
    const now = this.now();
    const created = this.db
      .transaction(() => {
        // PROTOCOL §7.8: an existing row is returned as it is (the title is never refreshed)
        if (s.getRoom.get(key.roomId, key.botName, key.deviceId) !== undefined) return false;
        this.insertRoomOrConflict(key, {
          name: roomName,
          status,
          description: roomAutoDescription(key.botName, key.deviceId),
          now,
        });
        return true;
      })
      .immediate();
    return { room: toRoomRow(s.getRoom.get(key.roomId, key.botName, key.deviceId)), created };
  }

  private insertRoomOrConflict(
    key: RoomKey,
    v: { name: string; status: KnownStatus; description: string | null; now: string },
  ): void {
    try {
      this.s.insertRoom.run({
        room: key.roomId,
        bot: key.botName,
        dev: key.deviceId,
        name: v.name,
        status: v.status,
        approvedAt: v.status === 'approved' ? v.now : null,
        description: v.description,
        now: v.now,
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const holder = this.s.roomHolder.get(key.roomId) as Record<string, string> | undefined;
      throw new KeyConflictError(
        'kb_rooms',
        { room_id: key.roomId, bot_name: key.botName, device_id: key.deviceId },
        holder,
        ROOM_KEY_HINT,
      );
    }
  }

  async listRooms(filter: { botName?: string; status?: string } = {}): Promise<RoomRow[]> {
    const { sql, params } = roomListSql(filter);
    // Admin path, not hot: prepared per call (the filter shape varies).
    return this.db
      .prepare(sql)
      .all(...params)
      .map(toRoomRow);
  }

  async roomStatuses(botName: string): Promise<RoomStatusRow[]> {
    return toRoomStatusRows(this.s.roomStatuses.all(botName));
  }

  async setRoomStatus(botName: string, roomId: string, status: KnownStatus, deviceId?: string): Promise<number> {
    const s = this.s;
    const now = this.now();
    const p = { bot: botName, room: roomId, dev: deviceId ?? null, status, now };
    if (deviceId === undefined) return s.setRoomStatusAll.run(p).changes;
    return this.db
      .transaction(() => {
        const changed = s.setRoomStatusOne.run(p).changes;
        if (changed > 0 || s.getRoom.get(roomId, botName, deviceId) !== undefined) return changed;
        // Set before the phone ever relayed the room: the title is not known yet.
        this.insertRoomOrConflict({ roomId, botName, deviceId }, { name: '', status, description: null, now });
        return 1;
      })
      .immediate();
  }
}
