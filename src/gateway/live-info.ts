import type { Standing } from '../actors/connection-ports.js';
import { ConnectionRegistry } from '../actors/registry.js';
import type { Handshake } from '../protocol/index.js';
import type { ConnectionStats } from './actors-view.js';

/** What the gateway keeps per registered (handshaken) connection (PROTOCOL §2.7, §7.4). */
export interface LiveInfo extends ConnectionStats {
  handshake: Handshake;
  standing: Standing;
  status: string;
  maxMessageSize: number | null;
  monitoring?: { memoryUsage?: number; totalMemory?: number };
}

/** The live connections by connection key, with what the gateway keeps for each. */
export class LiveRegistry extends ConnectionRegistry<LiveInfo> {}
