import type { AnyActorRef } from 'xstate';
import type { Clock } from '../actors/clock.js';
import { type ConnectionActor, connectionKey } from '../actors/connection.js';
import {
  type ChatVerdict,
  type CloseReason,
  type ConnectionPorts,
  type Standing,
  standingOf,
} from '../actors/connection-ports.js';
import type { ChatMessage } from '../actors/job.js';
import type { Loggers } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { PingRow } from '../infra/store/types.js';
import type { ProcessStats } from '../infra/telemetry/process-stats.js';
import { pingRow } from '../infra/telemetry/rows.js';
import type { HmacKeys } from '../protocol/index.js';
import type { DeviceDirectory } from './devices.js';
import type { LiveRegistry } from './live-info.js';

export interface PortsDeps {
  clock: Clock;
  keys: HmacKeys;
  random(): number;
  newTraceId(now: number): string;
  metrics: Metrics;
  loggers: Loggers;
  registry: LiveRegistry;
  devices: Pick<DeviceDirectory, 'register'>;
  /** limits.maxConnections */
  maxConnections: number;
  /** the connection holds no handshake slot any more (admission.ts) */
  handshakeOver(actor: ConnectionActor): void;
  /** sends held for this phone may go out (outbound-paths.ts) */
  poke(key: string): void;
  /** an authenticated analyze (intake.ts) */
  chat(message: ChatMessage, standing: Standing, self: AnyActorRef): ChatVerdict;
  /** a device completed its handshake: its replayed messages go first (replay.ts); its bot's rooms are read in bulk (rooms.ts `warm`) */
  handshaken(key: string, standing: Standing, botName: string): void;
  pingRow(row: PingRow): void;
  serverStats(): ProcessStats;
  /** process name written into telemetry rows */
  processName: string;
  /** `msgbot-gateway` with the store options the daemon runs with, for the commands it logs */
  cliPrefix: string;
}

/**
 * What every connection actor is given (DESIGN.md §2: actors never import infra): the registry,
 * the device directory and the intake behind it, and the metrics and log lines of what it does.
 */
export function connectionPorts(d: PortsDeps): ConnectionPorts {
  const { loggers, metrics: m, registry, clock } = d;
  return {
    clock,
    keys: d.keys,
    random: d.random,
    newTraceId: () => d.newTraceId(clock.now()),
    registerDevice: (h) => d.devices.register(h),
    canAdmit: (key) => registry.canAdmit(key, d.maxConnections),
    claim: (key, self, handshake, standing) => {
      const entry = registry.get(key);
      const verdictStatus = standing === 'full' ? 'approved' : 'pending';
      const previous = registry.claim(key, self, {
        handshake,
        standing,
        status: entry?.info.status ?? verdictStatus,
        maxMessageSize: null,
        connectedAt: clock.now(),
        pingsAnswered: 0,
        messagesIn: 0,
        repliesOut: 0,
      });
      d.handshakeOver(self as ConnectionActor);
      if (previous !== undefined) {
        // PROTOCOL §2.7: the older socket is closed without a packet.
        loggers.cat.client.info({ botName: handshake.botName, deviceId: handshake.deviceId }, 'connection replaced');
        previous.ref.send({ type: 'KICK', reason: 'replaced' });
      }
      // sends held for this phone go out now (after handshakeComplete: the connection is mid-step)
      d.poke(key);
    },
    release: (key, self) => {
      registry.release(key, self);
      d.handshakeOver(self as ConnectionActor);
    },
    chat: d.chat,
    pingReply: (reply) => {
      m.pingsAnswered.inc();
      if (reply.rttMs !== null) m.pingRttSeconds.observe(reply.rttMs / 1000);
      const entry = registry.get(connectionKey(reply.botName, reply.deviceId));
      const monitoring = reply.reply.monitoring;
      if (entry !== undefined) entry.info.lastRttMs = reply.rttMs;
      if (entry !== undefined && monitoring !== undefined) {
        entry.info.monitoring = { memoryUsage: monitoring.memory_usage, totalMemory: monitoring.total_memory };
      }
      d.pingRow(
        pingRow({
          botName: reply.botName,
          deviceId: reply.deviceId,
          reply: reply.reply,
          rttMs: reply.rttMs,
          now: reply.receivedAt,
          processName: d.processName,
          server: d.serverStats(),
        }),
      );
      const fields = { botName: reply.botName, deviceId: reply.deviceId, rttMs: reply.rttMs };
      // the first answered ping of a connection tells the operator the phone is healthy
      if (entry !== undefined && entry.info.pingsAnswered++ === 0) loggers.cat.ping.info(fields, 'first ping answered');
      else loggers.cat.ping.debug(fields, 'ping reply');
    },
    ignored: (reason, detail) => {
      m.badLines.inc({ reason });
      loggers.cat.client.debug({ reason, ...identity(detail) }, 'line ignored');
    },
    authFailed: (reason, detail) => {
      m.authFailures.inc({ reason });
      loggers.cat.client.warn({ reason, ...identity(detail) }, 'packet dropped: auth failed');
    },
    sent: (event) => m.packetsOut.inc({ event }),
    received: (event) => m.packetsIn.inc({ event }),
    pingSent: () => m.pingsSent.inc(),
    closed: (reason: CloseReason, detail) => {
      m.closes.inc({ reason });
      if (reason === 'zombie') m.zombieCloses.inc();
      if (reason === 'handshake-timeout' || reason === 'handshake-invalid' || reason === 'cap-reached') {
        m.handshakes.inc({ outcome: reason });
      }
      const level = reason === 'eof' || reason === 'replaced' || reason === 'shutdown' ? 'info' : 'warn';
      loggers.cat.client[level]({ reason, ...identity(detail) }, 'connection closed');
    },
    heldBeforeHandshake: ({ peer }) => {
      m.durability.inc({ event: 'held-before-handshake' });
      loggers.cat.client.debug({ peer }, 'packet before the handshake held');
    },
    handshakeDone: ({ peer, key, handshake, verdict }) => {
      m.handshakes.inc({ outcome: 'ok' });
      d.handshaken(key, standingOf(verdict.status), handshake.botName);
      const entry = registry.get(key);
      if (entry !== undefined) {
        entry.info.status = verdict.status;
        entry.info.standing = standingOf(verdict.status);
        entry.info.maxMessageSize = verdict.maxMessageSize;
      }
      const fields = {
        peer,
        botName: handshake.botName,
        deviceId: handshake.deviceId,
        version: handshake.version,
        form: handshake.form,
        status: verdict.status,
      };
      if (verdict.status === 'approved') {
        loggers.cat.client.info(fields, 'device connected');
      } else {
        loggers.cat.client.warn(
          {
            ...fields,
            approve: `${d.cliPrefix} devices approve ${shellQuote(handshake.botName)} ${shellQuote(handshake.deviceId)}`,
          },
          'device connected in limited mode; to approve it run the command in "approve"',
        );
      }
    },
  };
}

/** Log fields of a connection: its bot and device instead of the internal registry key. */
function identity<T extends { key?: string }>(detail: T): Omit<T, 'key'> & { botName?: string; deviceId?: string } {
  const { key, ...rest } = detail;
  if (key === undefined) return rest;
  const [botName, deviceId] = key.split('\u0000');
  return { ...rest, botName, deviceId };
}

function shellQuote(s: string): string {
  return /^[\w.:@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
