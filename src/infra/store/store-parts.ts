/** How sqlite.ts and mysql.ts hand Store calls to their parts: device and room standing, log and telemetry writes. */
import type {
  ChatLogRow,
  DeviceKey,
  DeviceRow,
  HandshakeIdentity,
  KnownStatus,
  PingRow,
  RoomKey,
  RoomRow,
  RoomStatusRow,
  Store,
  SystemSampleRow,
} from './types.js';

/** kb_bot_devices: devices-sqlite.ts, devices-mysql.ts */
export type DeviceStanding = Pick<
  Store,
  'registerDevice' | 'getDevice' | 'getDevices' | 'listDevices' | 'setDeviceStatus'
>;
/** kb_rooms: rooms-sqlite.ts, rooms-mysql.ts */
export type RoomStanding = Pick<Store, 'getRoom' | 'registerRoom' | 'listRooms' | 'roomStatuses' | 'setRoomStatus'>;
/** kb_chat_logs, kb_ping_monitor, kb_system_monitor: telemetry-sqlite.ts, telemetry-mysql.ts */
export type TelemetryWrites = Pick<Store, 'insertChatLogs' | 'insertPings' | 'insertSystemSamples' | 'pruneTelemetry'>;

export interface StoreParts {
  readonly devices: DeviceStanding;
  readonly rooms: RoomStanding;
  readonly telemetry: TelemetryWrites;
}

/** Base of both store classes: every Store call that one part answers is passed to it as it is. */
export abstract class PartsStore implements DeviceStanding, RoomStanding, TelemetryWrites {
  protected abstract get parts(): StoreParts;

  registerDevice(identity: HandshakeIdentity): Promise<{ device: DeviceRow; created: boolean }> {
    return this.parts.devices.registerDevice(identity);
  }

  getDevice(key: DeviceKey): Promise<DeviceRow | undefined> {
    return this.parts.devices.getDevice(key);
  }

  getDevices(keys: readonly DeviceKey[]): Promise<DeviceRow[]> {
    return this.parts.devices.getDevices(keys);
  }

  listDevices(): Promise<DeviceRow[]> {
    return this.parts.devices.listDevices();
  }

  setDeviceStatus(key: DeviceKey, status: KnownStatus, reason?: string): Promise<DeviceRow> {
    return this.parts.devices.setDeviceStatus(key, status, reason);
  }

  getRoom(key: RoomKey): Promise<RoomRow | undefined> {
    return this.parts.rooms.getRoom(key);
  }

  registerRoom(key: RoomKey, roomName: string, status: KnownStatus): Promise<{ room: RoomRow; created: boolean }> {
    return this.parts.rooms.registerRoom(key, roomName, status);
  }

  listRooms(filter?: { botName?: string; status?: string }): Promise<RoomRow[]> {
    return this.parts.rooms.listRooms(filter);
  }

  roomStatuses(botName: string): Promise<RoomStatusRow[]> {
    return this.parts.rooms.roomStatuses(botName);
  }

  setRoomStatus(botName: string, roomId: string, status: KnownStatus, deviceId?: string): Promise<number> {
    return this.parts.rooms.setRoomStatus(botName, roomId, status, deviceId);
  }

  insertChatLogs(rows: readonly ChatLogRow[]): Promise<void> {
    return this.parts.telemetry.insertChatLogs(rows);
  }

  insertPings(rows: readonly PingRow[]): Promise<void> {
    return this.parts.telemetry.insertPings(rows);
  }

  insertSystemSamples(rows: readonly SystemSampleRow[]): Promise<void> {
    return this.parts.telemetry.insertSystemSamples(rows);
  }

  pruneTelemetry(before: number): Promise<{ pings: number; samples: number }> {
    return this.parts.telemetry.pruneTelemetry(before);
  }
}
