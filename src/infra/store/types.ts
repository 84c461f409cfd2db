import type { ChatHistoryEntry, ChatHistoryQuery } from './chat-history.js';

export type { ChatHistoryEntry, ChatHistoryQuery };

/**
 * The storage contract (PROTOCOL §8). Two implementations pass one shared suite:
 * SQLite (embedded default) and MySQL/MariaDB (the operators' existing kb_* tables).
 * Every method is async so both dialects fit; none of them is on the chat hot path
 * except through caches (standing) or the batched telemetry writer.
 */

/** PROTOCOL §8.1 status values; anything else read from an operator's table is kept as-is. */
export const DEVICE_STATUSES = ['pending', 'approved', 'denied', 'revoked', 'blocked'] as const;
export type KnownStatus = (typeof DEVICE_STATUSES)[number];

export interface DeviceKey {
  botName: string;
  deviceId: string;
}

export interface DeviceRow extends DeviceKey {
  status: string;
  ipAddress: string | null;
  clientType: string | null;
  clientVersion: string | null;
  /** per-device line limit in bytes; null = the configured default (PROTOCOL §1.5) */
  maxMessageSize: number | null;
  createdAt: string | null;
  updatedAt: string | null;
}

export interface HandshakeIdentity extends DeviceKey {
  ipAddress: string;
  clientType: string;
  clientVersion: string;
}

export interface RoomKey {
  /** kb_rooms.room_id = the channel id string */
  roomId: string;
  botName: string;
  deviceId: string;
}

export interface RoomRow extends RoomKey {
  roomName: string;
  status: string;
  createdAt: string | null;
  updatedAt: string | null;
}

/** One room row's status (PROTOCOL §8.2), as the standing refresh needs it. */
export interface RoomStatusRow {
  roomId: string;
  deviceId: string;
  status: string;
}

/** PROTOCOL §8.3, one per received analyze, and one per message the gateway sent (§8.3 [REC]). */
export interface ChatLogRow {
  channelId: string;
  userHash: string | null;
  roomName: string;
  sender: string;
  message: string;
  directive: string | null;
  /** 'media' only for a media directive the gateway sent */
  messageType: 'text' | 'command' | 'media';
  isMeaningful: boolean;
  botName: string;
  isMention: boolean;
  isGroupChat: boolean;
  logId: string | null;
  /** epoch ms, server time of processing (PROTOCOL §8.3) */
  clientTimestamp: number;
  /** is_our_bot_response: a message this gateway sent (absent = 0) */
  isOurBotResponse?: boolean;
  /** is_scheduled: sent by the scheduler (absent = 0) */
  isScheduled?: boolean;
}

/** PROTOCOL §8.4, one per ping reply. */
export interface PingRow {
  botName: string;
  deviceId: string;
  clientIp: string;
  pingTimeMs: number;
  /** epoch ms from auth.timestamp, or null */
  clientTimestamp: number | null;
  /** epoch ms of the echoed ping, or null */
  serverTimestamp: number | null;
  totalMemory: number;
  memoryUsage: number;
  memoryPercent: number;
  messageQueueSize: number;
  activeRooms: number;
  processName: string;
  serverCpuUsage: number;
  serverCpuMax: number;
  serverMemoryUsage: number;
  serverMemoryMax: number;
}

/** PROTOCOL §8.5, one per host sample. */
export interface SystemSampleRow {
  serverName: string;
  cpuPercent: number;
  memoryTotal: number;
  memoryUsed: number;
  memoryPercent: number;
  diskUsagePercent: number;
  activeConnections: number;
  messageQueueSize: number;
}

export interface Store {
  readonly dialect: 'sqlite' | 'mysql';
  /** Creates missing tables/columns; never drops or retypes anything. Idempotent. */
  migrate(): Promise<void>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /**
   * PROTOCOL §7.3: the row for the handshake identity; an existing row gets ip_address,
   * client_version and updated_at refreshed, a missing one is inserted as `pending`.
   */
  registerDevice(identity: HandshakeIdentity): Promise<{ device: DeviceRow; created: boolean }>;
  getDevice(key: DeviceKey): Promise<DeviceRow | undefined>;
  /** Rows for many keys at once (standing refresh of live connections). Missing keys are absent. */
  getDevices(keys: readonly DeviceKey[]): Promise<DeviceRow[]>;
  listDevices(): Promise<DeviceRow[]>;
  /** Sets the status, creating a row (client fields null) if the device never connected. */
  setDeviceStatus(key: DeviceKey, status: KnownStatus, reason?: string): Promise<DeviceRow>;

  getRoom(key: RoomKey): Promise<RoomRow | undefined>;
  /** PROTOCOL §7.8: insert a missing room with `status` (pending unless auto-approved); returns the row. */
  registerRoom(key: RoomKey, roomName: string, status: KnownStatus): Promise<{ room: RoomRow; created: boolean }>;
  listRooms(filter?: { botName?: string; status?: string }): Promise<RoomRow[]>;
  /**
   * The status of every room row of one bot, lean and unordered: the gateway re-reads its cached
   * rooms with it every standing refresh (5 s), so it must cost little even for 10,000s of rows.
   */
  roomStatuses(botName: string): Promise<RoomStatusRow[]>;
  /**
   * Sets the status of every device's row of (botName, roomId); with `deviceId`, only that row,
   * created if missing. Returns the number of rows changed or created.
   */
  setRoomStatus(botName: string, roomId: string, status: KnownStatus, deviceId?: string): Promise<number>;

  insertChatLogs(rows: readonly ChatLogRow[]): Promise<void>;
  /** The newest `limit` chat log rows of one room, oldest first (the dashboard's room page). */
  chatHistory(q: ChatHistoryQuery): Promise<ChatHistoryEntry[]>;
  insertPings(rows: readonly PingRow[]): Promise<void>;
  insertSystemSamples(rows: readonly SystemSampleRow[]): Promise<void>;
  /** Retention: deletes kb_ping_monitor and kb_system_monitor rows older than `before` (epoch ms). */
  pruneTelemetry(before: number): Promise<{ pings: number; samples: number }>;
}
