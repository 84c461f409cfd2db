import { describe, expect, it } from 'vitest';
import { kstDateTime, parseKstDateTime } from '../../src/infra/store/kst.js';
import { openStore } from '../../src/infra/store/open.js';

describe('kstDateTime (PROTOCOL §8.0)', () => {
  it('formats epoch ms as naive KST, whatever the host time zone', () => {
    expect(kstDateTime(0)).toBe('1970-01-01 09:00:00');
    expect(kstDateTime(Date.UTC(2025, 11, 31, 15, 0, 0, 999))).toBe('2026-01-01 00:00:00');
    expect(kstDateTime(Date.UTC(2024, 1, 28, 23, 30, 0))).toBe('2024-02-29 08:30:00');
  });

  it('the reused text of the last second never leaks into another second', () => {
    const t = Date.UTC(2026, 6, 1, 12, 34, 56);
    expect(kstDateTime(t)).toBe('2026-07-01 21:34:56');
    expect(kstDateTime(t + 999)).toBe('2026-07-01 21:34:56');
    expect(kstDateTime(t + 1_000)).toBe('2026-07-01 21:34:57');
    expect(kstDateTime(t - 1)).toBe('2026-07-01 21:34:55');
    expect(kstDateTime(t - 1_001)).toBe('2026-07-01 21:34:54');
  });

  it('parses KST text back to epoch ms, with or without milliseconds', () => {
    expect(parseKstDateTime('2026-01-01 00:00:00')).toBe(Date.UTC(2025, 11, 31, 15));
    expect(parseKstDateTime('2026-01-01 00:00:00.250')).toBe(Date.UTC(2025, 11, 31, 15, 0, 0, 250));
    expect(parseKstDateTime('yesterday')).toBeUndefined();
    const t = Date.UTC(2026, 6, 1, 12, 34, 56);
    expect(parseKstDateTime(kstDateTime(t))).toBe(t);
  });
});

describe('openStore', () => {
  it('opens SQLite from sqlite:<path> (also :memory:) and does not migrate by itself', async () => {
    const store = await openStore('sqlite::memory:');
    expect(store.dialect).toBe('sqlite');
    await expect(store.listDevices()).rejects.toThrow(/no such table/);
    await store.migrate();
    expect(await store.listDevices()).toEqual([]);
    await store.close();
  });

  it('opens MySQL from mysql://… without connecting yet', async () => {
    const store = await openStore('mysql://user:secret@127.0.0.1:1/kb');
    expect(store.dialect).toBe('mysql');
    await store.close();
  });

  it('refuses other URLs without echoing a password', async () => {
    await expect(openStore('postgres://u:hunter2@h/db')).rejects.toThrow(/unsupported database URL/);
    await expect(openStore('postgres://u:hunter2@h/db')).rejects.not.toThrow(/hunter2/);
    await expect(openStore('sqlite:')).rejects.toThrow(/without a file/);
    await expect(openStore('mysql://u:hunter2@127.0.0.1:3306/')).rejects.toThrow(/names no database/);
    await expect(openStore('mysql://u:hunter2@127.0.0.1:3306/')).rejects.not.toThrow(/hunter2/);
  });
});
