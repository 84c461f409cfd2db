/**
 * Raised when an operator's table has a unique key narrower than the row identity we write, so
 * the row we need cannot exist beside one that is already there. The classic case is the old
 * UNIQUE `uk_device_id`(device_id) on kb_bot_devices (PROTOCOL §8.1, §9 item 45): a second bot
 * on the same phone cannot be registered. The reference server then approved it by default
 * (fail-open, §7.3); callers must treat this error as "not approved" and report it.
 */
export class KeyConflictError extends Error {
  override readonly name = 'KeyConflictError';
  readonly code = 'STORE_KEY_CONFLICT';

  constructor(
    readonly table: string,
    /** the identity we tried to write */
    readonly key: Readonly<Record<string, string>>,
    /** the identity of the row that holds the unique key, when we could find it */
    readonly holder: Readonly<Record<string, string>> | undefined,
    hint: string,
  ) {
    super(
      `${table}: cannot store ${describe(key)}` +
        (holder ? ` because ${describe(holder)} holds the same unique key` : ' because of a unique key conflict') +
        `. ${hint}`,
    );
  }
}

/** The database has a table we cannot work with (a column we must key on is missing). */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

function describe(key: Readonly<Record<string, string>>): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
}

export const DEVICE_KEY_HINT =
  'kb_bot_devices has a UNIQUE key on device_id alone (uk_device_id), so one phone cannot serve two bots ' +
  '(PROTOCOL §8.1, §9 item 45). To allow it: ALTER TABLE kb_bot_devices DROP INDEX uk_device_id, ' +
  'ADD UNIQUE KEY uk_bot_device (bot_name, device_id)';

export const ROOM_KEY_HINT =
  'kb_rooms has a primary key narrower than (room_id, bot_name, device_id) (PROTOCOL §8.2, §9 item 44); ' +
  'the same room relayed by another bot or phone cannot be registered until the key is widened';
