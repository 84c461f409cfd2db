import type { AnyActorRef } from 'xstate';
import type { Standing } from './connection-ports.js';

/**
 * Live connections by connection key (botName, deviceID) — PROTOCOL §2.7, §7.4.
 * Clean-up is keyed by the actor itself, so the teardown of a replaced connection can never
 * remove the entry of the connection that replaced it (PROTOCOL §9 item 30).
 */
export interface RegistryEntry<Info> {
  ref: AnyActorRef;
  info: Info;
}

export class ConnectionRegistry<Info extends { standing: Standing }> {
  private readonly byKey = new Map<string, RegistryEntry<Info>>();

  get size(): number {
    return this.byKey.size;
  }

  /** A takeover of a held key is always admitted; a new key only below `max`. */
  canAdmit(key: string, max: number): boolean {
    return this.byKey.has(key) || this.byKey.size < max;
  }

  /** Registers `ref` under `key` and returns the entry it replaced, if any. */
  claim(key: string, ref: AnyActorRef, info: Info): RegistryEntry<Info> | undefined {
    const previous = this.byKey.get(key);
    this.byKey.set(key, { ref, info });
    return previous !== undefined && previous.ref !== ref ? previous : undefined;
  }

  /** Removes the entry only when `ref` still holds the key. */
  release(key: string, ref: AnyActorRef): boolean {
    const entry = this.byKey.get(key);
    if (entry === undefined || entry.ref !== ref) return false;
    this.byKey.delete(key);
    return true;
  }

  get(key: string): RegistryEntry<Info> | undefined {
    return this.byKey.get(key);
  }

  entries(): IterableIterator<[string, RegistryEntry<Info>]> {
    return this.byKey.entries();
  }
}
