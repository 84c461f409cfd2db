import { SimulatedClock } from 'xstate';
import { createLoggers } from '../../src/infra/logger.js';
import type {
  ChatLogRow,
  DeviceRow,
  PingRow,
  RoomRow,
  RoomStatusRow,
  Store,
  SystemSampleRow,
} from '../../src/infra/store/types.js';

/**
 * A Store whose telemetry calls can be made to succeed, fail (database away), hang (slow
 * database) or refuse chosen rows while `ping()` still answers (database up, row bad).
 * Only the telemetry half is implemented; the rest is not used by these tests.
 */
export type FakeMode = 'ok' | 'fail' | 'hang';
export type InsertOp = 'insertChatLogs' | 'insertPings' | 'insertSystemSamples';

export interface Attempt {
  op: InsertOp;
  size: number;
  at: number;
  ok: boolean;
}

export class FakeStore implements Store {
  /** 'mysql' makes the writer treat it as a store whose writes run off the event loop */
  dialect: 'sqlite' | 'mysql' = 'sqlite';
  mode: FakeMode = 'ok';
  /** when set, a batch containing a row it matches fails although ping() answers */
  refuse: ((row: unknown) => boolean) | null = null;
  readonly chatLogs: ChatLogRow[] = [];
  readonly pings: PingRow[] = [];
  readonly samples: SystemSampleRow[] = [];
  readonly attempts: Attempt[] = [];
  pingCalls = 0;
  inFlight = 0;
  maxInFlight = 0;
  private readonly hung: Array<() => void> = [];
  pruned: number[] = [];
  pruneMode: 'ok' | 'fail' = 'ok';

  constructor(private readonly clock: { now(): number }) {}

  /** Lets every hung write finish successfully. */
  release(): void {
    for (const done of this.hung.splice(0)) done();
  }

  get hungWrites(): number {
    return this.hung.length;
  }

  insertChatLogs(rows: readonly ChatLogRow[]): Promise<void> {
    return this.insert('insertChatLogs', rows, this.chatLogs);
  }
  async chatHistory(): Promise<never[]> {
    throw new Error('FakeStore: chatHistory is not used by the telemetry tests');
  }
  insertPings(rows: readonly PingRow[]): Promise<void> {
    return this.insert('insertPings', rows, this.pings);
  }
  insertSystemSamples(rows: readonly SystemSampleRow[]): Promise<void> {
    return this.insert('insertSystemSamples', rows, this.samples);
  }

  async ping(): Promise<void> {
    this.pingCalls++;
    if (this.mode === 'fail') throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
  }

  async pruneTelemetry(before: number): Promise<{ pings: number; samples: number }> {
    this.pruned.push(before);
    if (this.pruneMode === 'fail') throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
    return { pings: 3, samples: 1 };
  }

  private insert<Row>(op: InsertOp, rows: readonly Row[], into: Row[]): Promise<void> {
    const copy = [...rows];
    const attempt: Attempt = { op, size: copy.length, at: this.clock.now(), ok: false };
    this.attempts.push(attempt);
    if (this.mode === 'fail') return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:3306'));
    const refuse = this.refuse;
    if (refuse !== null && copy.some((row) => refuse(row))) {
      return Promise.reject(new Error("Data too long for column 'message' at row 1"));
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const finish = () => {
      this.inFlight--;
      attempt.ok = true;
      into.push(...copy);
    };
    if (this.mode === 'hang') {
      return new Promise((resolve) => {
        this.hung.push(() => {
          finish();
          resolve();
        });
      });
    }
    finish();
    return Promise.resolve();
  }

  // ---- not used by telemetry ----
  async migrate(): Promise<void> {}
  async close(): Promise<void> {}
  registerDevice(): Promise<{ device: DeviceRow; created: boolean }> {
    throw new Error('not used');
  }
  getDevice(): Promise<DeviceRow | undefined> {
    throw new Error('not used');
  }
  getDevices(): Promise<DeviceRow[]> {
    throw new Error('not used');
  }
  listDevices(): Promise<DeviceRow[]> {
    throw new Error('not used');
  }
  setDeviceStatus(): Promise<DeviceRow> {
    throw new Error('not used');
  }
  getRoom(): Promise<RoomRow | undefined> {
    throw new Error('not used');
  }
  registerRoom(): Promise<{ room: RoomRow; created: boolean }> {
    throw new Error('not used');
  }
  listRooms(): Promise<RoomRow[]> {
    throw new Error('not used');
  }
  roomStatuses(): Promise<RoomStatusRow[]> {
    throw new Error('not used');
  }
  setRoomStatus(): Promise<number> {
    throw new Error('not used');
  }
}

/** 2025-07-24T05:00:00Z, so ISO times in messages are readable. */
export const T0 = Date.parse('2025-07-24T05:00:00.000Z');

export function simulatedClock(): SimulatedClock {
  const clock = new SimulatedClock();
  clock.set(T0);
  return clock;
}

/** Lets pending promise chains and setImmediate yields run. */
export async function settle(rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Advances the simulated clock in `step` ms steps, letting async work run after each. */
export async function advance(clock: SimulatedClock, ms: number, step = 100): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.increment(Math.min(step, ms - done));
    await settle();
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** The `database` logger at debug, writing JSON lines into `lines`. */
export function capturedLog() {
  const lines: LogLine[] = [];
  const loggers = createLoggers({
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  return {
    log: loggers.cat.database,
    lines,
    at: (level: 'info' | 'warn' | 'error') =>
      lines.filter((l) => l.level === { info: 30, warn: 40, error: 50 }[level]).map((l) => l.msg),
  };
}

let seq = 0;
export function chatRow(message: string): ChatLogRow {
  seq++;
  return {
    channelId: '18234567890123456',
    userHash: null,
    roomName: 'Demo Room',
    sender: 'Alice',
    message,
    directive: null,
    messageType: 'text',
    isMeaningful: false,
    botName: 'demo-bot',
    isMention: false,
    isGroupChat: true,
    logId: String(3301234567890123456n + BigInt(seq)),
    clientTimestamp: T0,
  };
}

export function pingRowOf(deviceId: string): PingRow {
  return {
    botName: 'demo-bot',
    deviceId,
    clientIp: '192.168.0.23',
    pingTimeMs: 12,
    clientTimestamp: T0,
    serverTimestamp: T0,
    totalMemory: 512,
    memoryUsage: 87,
    memoryPercent: 17.1,
    messageQueueSize: 0,
    activeRooms: 4,
    processName: 'msgbot-gateway',
    serverCpuUsage: 1.5,
    serverCpuMax: 3,
    serverMemoryUsage: 80,
    serverMemoryMax: 82,
  };
}

export function sampleRow(serverName: string): SystemSampleRow {
  return {
    serverName,
    cpuPercent: 12.5,
    memoryTotal: 8_000_000_000,
    memoryUsed: 2_000_000_000,
    memoryPercent: 25,
    diskUsagePercent: 40,
    activeConnections: 3,
    messageQueueSize: 0,
  };
}
