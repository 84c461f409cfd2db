import { crc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ConnectionInfo } from '../../src/handlers/api.js';
import { CLIENT_INFO_USAGE } from '../../src/handlers/builtin.js';
import { chat, fakeServices, run, texts } from './harness.js';

describe('# echo (PROTOCOL §7.10)', () => {
  it('answers 에코: <content> to the triggering room, channel and packet bot name', async () => {
    const { sent } = await run('# echo hello');
    expect(sent).toEqual([
      { room: 'Demo Room', channelId: '18234567890123456', botName: 'demo-bot-packet', text: '에코: hello', at: 0 },
    ]);
  });

  it('keeps inner spacing and leaves `# echoes` alone (word boundary)', async () => {
    expect(await texts('# echo  a   b  ')).toEqual(['에코: a   b']);
    expect(await texts('# echoes')).toEqual([]);
  });

  it('repeats with [i/N] back-to-back, without the reply gap', async () => {
    const { sent } = await run('# echo hi --repeat=2');
    expect(sent.map((s) => s.text)).toEqual(['[1/2] 에코: hi', '[2/2] 에코: hi']);
    expect(sent.map((s) => s.at)).toEqual([0, 0]);
  });

  it('warns and caps at 5 when repeat > 5', async () => {
    expect(await texts('# echo x --repeat=9')).toEqual([
      '⚠️ 반복 횟수는 최대 5회로 제한됩니다.',
      '[1/5] 에코: x',
      '[2/5] 에코: x',
      '[3/5] 에코: x',
      '[4/5] 에코: x',
      '[5/5] 에코: x',
    ]);
  });

  it('sends nothing for repeat ≤ 0 and exactly once for repeat=1', async () => {
    expect(await texts('# echo x --repeat=0')).toEqual([]);
    expect(await texts('# echo x --repeat=-3')).toEqual([]);
    expect(await texts('# echo x --repeat=1')).toEqual(['에코: x']);
    expect(await texts('# echo x --repeat=5')).toHaveLength(5);
  });

  it('answers the usage reply when the content is empty (parameters do not count)', async () => {
    expect(await texts('# echo')).toEqual(['사용법: # echo {내용}']);
    expect(await texts('# echo    --repeat=3')).toEqual(['사용법: # echo {내용}']);
  });

  it('answers the int error reply for a bad repeat', async () => {
    expect(await texts('# echo hi --repeat=two')).toEqual([
      "❌ 파라미터 오류: 파라미터 'repeat'의 값이 올바른 int 형식이 아닙니다: two",
    ]);
  });

  it('ignores the command silently when --channel-id names another channel', async () => {
    expect(await texts('# echo hi --channel-id=999')).toEqual([]);
    expect(await texts('# echo hi --channel-id=18234567890123456')).toEqual(['에코: hi']);
    // a null channelId is "None" in the reference
    expect(await texts(chat('# echo hi --channel-id=None', { channelId: null }))).toEqual(['에코: hi']);
  });

  it('removes unknown parameters from the content', async () => {
    expect(await texts('# echo a --color=red b')).toEqual(['에코: a  b']);
  });
});

describe('# client_info (PROTOCOL §7.10, [REC] implemented)', () => {
  const now = 10_000_000;
  const conns: ConnectionInfo[] = [
    {
      botName: 'demo-bot',
      deviceId: 'a1b2c3',
      version: '3.2.1',
      state: 'active',
      standing: 'full',
      connectedAt: now - 3_723_000,
      monitoring: { memoryUsage: 87.3, totalMemory: 512 },
    },
    {
      botName: 'other-bot',
      deviceId: 'ffee00',
      version: '3.3.2',
      state: 'approved',
      standing: 'limited',
      connectedAt: now - 5_000,
    },
  ];

  async function summary(text: string): Promise<string[]> {
    const { SimulatedClock } = await import('xstate');
    const clock = new SimulatedClock();
    clock.set(now);
    return (await run(text, { clock, services: fakeServices({}, conns) })).sent.map((s) => s.text);
  }

  it('answers a multi-line summary with counts and each client', async () => {
    const [text, ...rest] = await summary('# client_info summary');
    expect(rest).toEqual([]);
    expect(text).toContain('• 전체 연결: 2개');
    expect(text).toContain('• 활성 연결: 1개');
    expect(text).toContain('[demo-bot] v3.2.1');
    expect(text).toContain('기기 ID: a1b2c3');
    expect(text).toContain('RAM: 87.3MB / 512.0MB (17.1%)');
    expect(text).toContain('가동 시간: 1시간 2분 3초');
    expect(text).toContain('[other-bot] v3.3.2');
    expect(text).toContain('RAM: 알 수 없음');
    expect(text).toContain('가동 시간: 5초');
    expect(text?.split('\n').length).toBeGreaterThan(5);
  });

  it('filters by --bot-name', async () => {
    const [text] = await summary('# client_info summary --bot-name=other-bot');
    expect(text).toContain('• 전체 연결: 1개');
    expect(text).toContain('• 활성 연결: 0개');
    expect(text).toContain('[other-bot]');
    expect(text).not.toContain('[demo-bot]');
  });

  it('answers the usage text for any other prompt, including none', async () => {
    expect(await summary('# client_info')).toEqual([CLIENT_INFO_USAGE]);
    expect(await summary('# client_info all')).toEqual([CLIENT_INFO_USAGE]);
    expect(CLIENT_INFO_USAGE).toContain('# client_info summary');
  });
});

/** Reads a PNG back: checks signature and CRCs, returns size and the RGB of pixel (x, y). */
function readPng(b64: string): { width: number; height: number; pixel(x: number, y: number): number[] } {
  const buf = Buffer.from(b64, 'base64');
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    types.push(type);
    // checked against node's own CRC, independent of the encoder's table
    expect(buf.readUInt32BE(off + 8 + len)).toBe(crc32(buf.subarray(off + 4, off + 8 + len)));
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[9], data[10], data[11], data[12]]).toEqual([8, 2, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
  const raw = inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe((width * 3 + 1) * height);
  return {
    width,
    height,
    pixel: (x, y) => {
      const p = y * (width * 3 + 1) + 1 + x * 3;
      return [raw[p]!, raw[p + 1]!, raw[p + 2]!];
    },
  };
}

describe('# IMGEXT (PROTOCOL §7.10)', () => {
  it('answers one IMAGE_BASE64 packet with a 100×100 PNG per value, colours cycling', async () => {
    const values = Array.from({ length: 11 }, (_, i) => `v${i}`);
    const { sent } = await run(`# IMGEXT ${values.join('  ')}`);
    expect(sent).toHaveLength(1);
    const text = sent[0]!.text;
    expect(text.startsWith('IMAGE_BASE64:')).toBe(true);
    expect(sent[0]!.mediaWaitTime).toBeUndefined();
    const items = text.slice('IMAGE_BASE64:'.length).split('|||');
    expect(items).toHaveLength(11);
    const corners = items.map((b64) => {
      expect(b64).toMatch(/^[A-Za-z0-9+/=]+$/);
      const png = readPng(b64);
      expect([png.width, png.height]).toEqual([100, 100]);
      return png.pixel(0, 0);
    });
    expect(corners).toEqual([
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 255, 0],
      [255, 0, 255],
      [0, 255, 255],
      [255, 165, 0],
      [128, 0, 128],
      [135, 206, 235],
      [255, 192, 203],
      [255, 0, 0],
    ]);
  });

  it('draws the value in the centre, white on dark and black on light', async () => {
    const { sent } = await run('# IMGEXT 8 8');
    const [red, green] = sent[0]!.text.slice(13).split('|||').map(readPng);
    const centreColours = (png: ReturnType<typeof readPng>) => {
      const seen = new Set<string>();
      for (let y = 30; y < 70; y++) for (let x = 30; x < 70; x++) seen.add(png.pixel(x, y).join(','));
      return seen;
    };
    expect(centreColours(red!)).toEqual(new Set(['255,0,0', '255,255,255']));
    expect(centreColours(green!)).toEqual(new Set(['0,255,0', '0,0,0']));
  });

  it('sets media_wait_time only when > 0', async () => {
    expect((await run('# IMGEXT a --media-wait-time=8000')).sent[0]?.mediaWaitTime).toBe(8000);
    expect((await run('# IMGEXT a --media-wait-time=0')).sent[0]?.mediaWaitTime).toBeUndefined();
    expect((await run('# IMGEXT a --media-wait-time=-5')).sent[0]?.mediaWaitTime).toBeUndefined();
  });

  it('answers usage without values and the int error for a bad wait time', async () => {
    expect(await texts('# IMGEXT')).toEqual(['사용법: # IMGEXT {내용}']);
    expect(await texts('# IMGEXT a --media-wait-time=soon')).toEqual([
      "❌ 파라미터 오류: 파라미터 'media-wait-time'의 값이 올바른 int 형식이 아닙니다: soon",
    ]);
  });

  it('is case-sensitive', async () => {
    expect(await texts('# imgext a')).toEqual([]);
  });
});

describe('# reload bots-config (PROTOCOL §7.10)', () => {
  it('answers the counts of reloadStanding', async () => {
    const services = fakeServices({ reloadStanding: async () => ({ checked: 3, changed: 1 }) });
    expect(await texts('# reload bots-config', { services })).toEqual([
      '✅ 봇 설정 갱신 완료!\n• 총 3개 봇 확인\n• 1개 봇 상태 변경됨',
    ]);
  });

  it('answers the failure reply with the error text', async () => {
    const services = fakeServices({
      reloadStanding: async () => {
        throw new Error('database unreachable');
      },
    });
    expect(await texts('# reload bots-config', { services })).toEqual(['❌ 봇 설정 갱신 실패: database unreachable']);
  });
});

describe('ordinary chat', () => {
  it('gets no answer from the built-ins', async () => {
    for (const t of ['hello', 'echo hi', '#echo hi', ' # echo hi', '# reload', '# client']) {
      expect(await texts(t)).toEqual([]);
    }
  });
});
