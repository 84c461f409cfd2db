import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scheduleMediaLoader } from '../../src/infra/schedule-media.js';

describe('schedule image sources (PROTOCOL §7.12)', () => {
  const root = mkdtempSync(join(tmpdir(), 'msgbot-media-'));
  const media = join(root, 'data');
  mkdirSync(join(media, 'schedule'), { recursive: true });
  writeFileSync(join(media, 'schedule', 'a.png'), 'PNGDATA');
  writeFileSync(join(root, 'secret.txt'), 'SECRET');
  symlinkSync(join(root, 'secret.txt'), join(media, 'schedule', 'link.png'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const load = scheduleMediaLoader(media);

  it('file mode reads paths under mediaDir as base64 and accepts inline base64 elements', async () => {
    expect(await load([{ path: 'schedule/a.png', name: 'a' }, { base64: 'QUJD' }], 'file')).toEqual([
      Buffer.from('PNGDATA').toString('base64'),
      'QUJD',
    ]);
  });

  it('rejects paths leaving mediaDir, by .., absolute path or symlink, and missing files', async () => {
    await expect(load([{ path: '../secret.txt' }], 'file')).rejects.toThrow(/leaves scheduler.mediaDir/);
    await expect(load([{ path: join(root, 'secret.txt') }], 'file')).rejects.toThrow(/leaves scheduler.mediaDir/);
    await expect(load([{ path: 'schedule/link.png' }], 'file')).rejects.toThrow(/leaves scheduler.mediaDir/);
    await expect(load([{ path: 'schedule/none.png' }], 'file')).rejects.toThrow(/no such image file/);
  });

  it('base64 mode uses only base64 values; malformed lists are bad media', async () => {
    expect(await load([{ base64: 'data:image/png;base64,QUJD', name: 'x' }], 'base64')).toEqual(['QUJD']);
    await expect(load([{ path: 'schedule/a.png' }], 'base64')).rejects.toThrow(/has no base64/);
    await expect(load([{ base64: 'not base64!' }], 'base64')).rejects.toThrow(/is not base64/);
    await expect(load('3 images', 'base64')).rejects.toThrow(/not a JSON array/);
    await expect(scheduleMediaLoader(undefined)([{ path: 'a.png' }], 'file')).rejects.toThrow(/mediaDir is not set/);
  });
});
