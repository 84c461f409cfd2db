import type { Clock } from '../actors/clock.js';
import type { Inbox } from '../actors/inbox.js';
import type { Inspection } from '../actors/inspection.js';
import type { Outbox } from '../actors/outbox.js';
import type { BotModule } from '../handlers/api.js';
import type { Config } from '../infra/config/schema.js';
import type { Loggers } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { Store } from '../infra/store/types.js';
import type { HmacKeys, OutgoingReply } from '../protocol/index.js';

/** What the daemon (or a test) builds a gateway from. */
export interface GatewayOptions {
  config: Config;
  store: Store;
  loggers: Loggers;
  keys: HmacKeys;
  metrics?: Metrics;
  clock?: Clock;
  random?: () => number;
  /** operator bot modules, after the built-ins */
  bots?: BotModule[];
  /** where every root actor the gateway creates reports for inspection (observed only while on) */
  inspection?: Inspection;
  /** process name written into telemetry rows */
  processName?: string;
  /** PEM key and certificate: the listener speaks TLS (clients that can; v3.2.2 phones cannot) */
  tls?: { key: Buffer; cert: Buffer };
  /** `msgbot-gateway` with the store options the daemon runs with, for the commands it logs */
  cliPrefix?: string;
  /** told of every reply written to a phone (the dashboard's room page shows the bot's replies) */
  onDelivered?: (reply: OutgoingReply, key: string) => void;
  /** the durable mailbox (DESIGN.md §2); without it accepted messages live in memory only */
  inbox?: Inbox;
  /** the send record (DESIGN.md §2 outbound path); without it API and scheduled sends live in memory only */
  outbox?: Outbox;
  /** whose queued sends and schedule runs are this gateway's (docs/decisions.md "Durable sends"); default host and data folder */
  instanceId?: string;
}
