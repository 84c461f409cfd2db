/**
 * The JSON of `GET /actors` for connections and gates: what an operator reads, so times are ISO
 * strings, keys are split into their parts, and each live connection carries its counters.
 */
import type { AnyActorRef } from 'xstate';

/** What the gateway keeps per registered connection that /actors shows. */
export interface ConnectionStats {
  /** epoch ms of the handshake */
  connectedAt: number;
  pingsAnswered: number;
  /** round trip of the last answered server ping (PROTOCOL §7.11) */
  lastRttMs?: number | null;
  /** analyze packets accepted from the phone (duplicates left out) */
  messagesIn: number;
  /** reply packets handed to the connection */
  repliesOut: number;
}

export interface ConnectionSnapshotView {
  id: string;
  peer: string;
  botName: string | null;
  deviceId: string | null;
  state: unknown;
  /** epoch ms the socket was accepted */
  openedAt: number;
}

export function connectionView(c: ConnectionSnapshotView, stats: ConnectionStats | undefined) {
  return {
    id: c.id,
    peer: c.peer,
    botName: c.botName,
    deviceId: c.deviceId,
    state: c.state,
    openedAt: new Date(c.openedAt).toISOString(),
    connectedSince: stats === undefined ? null : new Date(stats.connectedAt).toISOString(),
    lastRttMs: stats?.lastRttMs ?? null,
    pingsAnswered: stats?.pingsAnswered ?? 0,
    messagesIn: stats?.messagesIn ?? 0,
    repliesOut: stats?.repliesOut ?? 0,
  };
}

/** A gate key (`bot`, `bot\0channelId` or `bot\0title:<room>`) as readable parts. */
export function gateKeyView(key: string): { key: string; botName: string; channelId?: string; room?: string } {
  const [botName = '', rest] = key.split('\u0000');
  if (rest === undefined) return { key: botName, botName };
  if (rest.startsWith('title:')) {
    const room = rest.slice('title:'.length);
    return { key: `${botName}/${room}`, botName, room };
  }
  return { key: `${botName}/${rest}`, botName, channelId: rest };
}

export function gateView(key: string, gate: AnyActorRef) {
  const snap = gate.getSnapshot() as { value?: unknown; context?: { inFlight?: unknown } };
  return { ...gateKeyView(key), state: snap.value, inFlight: snap.context?.inFlight };
}
