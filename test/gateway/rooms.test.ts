import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { ChatMessage } from '../../src/actors/job.js';
import { BOT_WIDE_DEVICE } from '../../src/gateway/room-rule.js';
import { RoomDirectory } from '../../src/gateway/rooms.js';
import type { Clock } from '../../src/infra/clock.js';
import { silentLoggers } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';
import type { RoomKey, RoomRow, RoomStatusRow, Store } from '../../src/infra/store/types.js';

const message = (channelId: string | null): ChatMessage => ({
  traceId: 't',
  receivedAt: 0,
  botName: 'bot',
  deviceId: 'dev',
  packetBotName: 'bot',
  room: 'Room',
  channelId,
  logId: null,
  text: 'x',
  sender: 's',
  isGroupChat: true,
  isMention: false,
  userHash: null,
  timestamp: '',
  protocol: 'v3.2',
  legacyCallback: false,
});

/** A store whose room reads answer, fail, or hang, as the test says. */
function roomStore() {
  const state = {
    status: 'approved',
    mode: 'ok' as 'ok' | 'fail' | 'hang',
    reads: 0,
    registered: 0,
    /** status of the bot-wide rule row (device `*`), if any */
    rule: undefined as string | undefined,
    firstStatus: undefined as string | undefined,
  };
  const row = (): RoomRow => ({
    roomId: '1',
    botName: 'bot',
    deviceId: 'dev',
    roomName: 'Room',
    status: state.status,
    createdAt: null,
    updatedAt: null,
  });
  const store = {
    async getRoom(key: RoomKey) {
      if (key.deviceId === BOT_WIDE_DEVICE)
        return state.rule === undefined ? undefined : { ...row(), ...key, status: state.rule };
      state.reads++;
      if (state.mode === 'fail') throw new Error('database down');
      if (state.mode === 'hang') return new Promise<never>(() => {});
      return state.registered > 0 ? row() : undefined;
    },
    async registerRoom(_key: RoomKey, _name: string, status: string) {
      state.registered++;
      state.firstStatus = status;
      return { room: { ...row(), status }, created: true };
    },
  } as unknown as Store;
  return { store, state };
}

function directory(store: Store, clock: SimulatedClock) {
  return new RoomDirectory(store, clock as unknown as Clock, silentLoggers().cat.database, createMetrics(), {
    autoApprove: false,
    ttlMs: 5_000,
  });
}

describe('RoomDirectory (PROTOCOL §7.8)', () => {
  it('registers an unknown room as pending and re-reads after the ttl', async () => {
    const clock = new SimulatedClock();
    const { store, state } = roomStore();
    const rooms = directory(store, clock);
    expect(await rooms.status(message('1'))).toBe('pending');
    expect(state.registered).toBe(1);
    expect(await rooms.status(message('1'))).toBe('pending');
    expect(state.reads).toBe(1);
    clock.increment(5_000);
    expect(await rooms.status(message('1'))).toBe('approved');
  });

  it('picks up a status changed in the table at the next bulk refresh', async () => {
    const clock = new SimulatedClock();
    const { store, state } = roomStore();
    (store as unknown as { roomStatuses: () => Promise<RoomStatusRow[]> }).roomStatuses = async () => [
      { roomId: '1', deviceId: 'dev', status: state.status },
    ];
    const rooms = directory(store, clock);
    expect(await rooms.status(message('1'))).toBe('pending');
    state.status = 'blocked';
    await rooms.refresh(['bot']);
    expect(await rooms.status(message('1'))).toBe('blocked');
    expect(state.reads).toBe(1);
  });

  it('warm: a phone handshake reads the rooms of its bot in one query, so first messages need no lookup', async () => {
    const clock = new SimulatedClock();
    const { store, state } = roomStore();
    let bulk = 0;
    (store as unknown as { roomStatuses: () => Promise<RoomStatusRow[]> }).roomStatuses = async () => {
      bulk++;
      return [
        { roomId: '1', deviceId: 'dev', status: 'approved' },
        { roomId: '2', deviceId: 'dev', status: 'blocked' },
      ];
    };
    const rooms = directory(store, clock);
    rooms.warm('bot');
    rooms.warm('bot'); // a second phone of the same bot within half the ttl: no second read
    expect(rooms.statusNow(message('1'))).toBeUndefined(); // read after the caller's step
    await new Promise((resolve) => setImmediate(resolve));
    expect(bulk).toBe(1);
    expect(rooms.statusNow(message('1'))).toBe('approved');
    expect(await rooms.status(message('2'))).toBe('blocked');
    expect(state.reads).toBe(0);
    clock.increment(2_500);
    rooms.warm('bot');
    await new Promise((resolve) => setImmediate(resolve));
    expect(bulk).toBe(2);
    // the standing refresh reads the bot's rooms too: a handshake right after it asks nothing more
    clock.increment(2_500);
    await rooms.refresh(['bot']);
    expect(bulk).toBe(3);
    rooms.warm('bot');
    await new Promise((resolve) => setImmediate(resolve));
    expect(bulk).toBe(3);
  });

  it('a bot-wide rule (device *) set before the first message gives the new row its status', async () => {
    const { store, state } = roomStore();
    state.rule = 'approved';
    expect(await directory(store, new SimulatedClock()).status(message('1'))).toBe('approved');
    expect(state.firstStatus).toBe('approved');
    expect(state.registered).toBe(1);
  });

  it('never makes a room of a null channel id (PROTOCOL §9 item 21)', async () => {
    const { store, state } = roomStore();
    expect(await directory(store, new SimulatedClock()).status(message(null))).toBe('unknown');
    expect(state.reads).toBe(0);
  });

  it('fails closed for a room never seen, and answers known rooms at once while the database fails', async () => {
    const clock = new SimulatedClock();
    const { store, state } = roomStore();
    state.registered = 1;
    const rooms = directory(store, clock);
    expect(await rooms.status(message('1'))).toBe('approved');
    state.mode = 'fail';
    clock.increment(5_000);
    expect(await rooms.status(message('1'))).toBe('approved'); // last known
    expect(await rooms.status(message('2'))).toBe('unknown'); // never seen: not approved
    state.mode = 'hang';
    clock.increment(5_000);
    // the database now hangs: a known room is still answered without waiting for it
    let answered: string | undefined;
    void rooms.status(message('1')).then((s) => {
      answered = s;
    });
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe('approved');
  });
});
