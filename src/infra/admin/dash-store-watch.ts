import type { ChatLogRow, Store } from '../store/types.js';

/**
 * A Store that tells the dashboard what changed, so its pages update live without reading the
 * database on a timer: device and room lists are re-read only after a write that changes them,
 * and chat rows are passed on as they are written.
 */

export type StoreChange = { kind: 'devices' } | { kind: 'rooms' } | { kind: 'chat'; rows: readonly ChatLogRow[] };

export function watchStore<S extends Store>(store: S, onChange: (change: StoreChange) => void): S {
  const tell = (change: StoreChange): void => {
    try {
      onChange(change);
    } catch {
      // a dashboard listener never breaks a store call
    }
  };
  const wrapped: Partial<Store> = {
    async registerDevice(identity) {
      const result = await store.registerDevice(identity);
      tell({ kind: 'devices' });
      return result;
    },
    async setDeviceStatus(key, status, reason) {
      const row = await store.setDeviceStatus(key, status, reason);
      tell({ kind: 'devices' });
      return row;
    },
    async registerRoom(key, roomName, status) {
      const result = await store.registerRoom(key, roomName, status);
      if (result.created) tell({ kind: 'rooms' });
      return result;
    },
    async setRoomStatus(botName, roomId, status, deviceId) {
      const n = await store.setRoomStatus(botName, roomId, status, deviceId);
      tell({ kind: 'rooms' });
      return n;
    },
    async insertChatLogs(rows) {
      await store.insertChatLogs(rows);
      tell({ kind: 'chat', rows });
    },
  };
  return new Proxy(store, {
    get(target, prop) {
      if (typeof prop === 'string' && Object.hasOwn(wrapped, prop)) return wrapped[prop as keyof Store];
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
