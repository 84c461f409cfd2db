import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { defineBot } from '../../src/handlers/api.js';
import { createRouter } from '../../src/handlers/router.js';
import { handleMessage, type OutgoingReply } from '../../src/handlers/runner.js';
import { silentLoggers } from '../../src/infra/logger.js';
import { pathSender } from '../support/outbound-harness.js';
import { chat, fakeServices, run } from './harness.js';

const flush = () => new Promise((r) => setImmediate(r));

describe('reply pacing (PROTOCOL §4.4 [REF])', () => {
  it('spaces the elements of one reply([...]) by the gap', async () => {
    const bot = defineBot({ onMessage: (ctx) => ctx.reply(['a', 'b', 'c']) });
    const { sent, result } = await run('hi', { modules: [bot], replyGapMs: 1000 });
    expect(sent.map((s) => [s.text, s.at])).toEqual([
      ['a', 0],
      ['b', 1000],
      ['c', 2000],
    ]);
    expect(result).toEqual({ replies: 3, aborted: false });
  });

  it('spaces separate reply calls too, and uses the configured gap', async () => {
    const bot = defineBot({
      onMessage: async (ctx) => {
        await ctx.reply('a');
        await ctx.reply('b');
      },
    });
    const { sent } = await run('hi', { modules: [bot], replyGapMs: 2500 });
    expect(sent.map((s) => s.at)).toEqual([0, 2500]);
  });

  it('sends a back-to-back batch without gaps, but after the gap that follows an earlier reply', async () => {
    const bot = defineBot({
      onMessage: async (ctx) => {
        await ctx.reply('first');
        await ctx.reply(['x', 'y', 'z'], { backToBack: true });
        await ctx.reply('last');
      },
    });
    const { sent } = await run('hi', { modules: [bot] });
    expect(sent.map((s) => [s.text, s.at])).toEqual([
      ['first', 0],
      ['x', 1000],
      ['y', 1000],
      ['z', 1000],
      ['last', 2000],
    ]);
  });

  it('keeps call order for replies the handler does not await, and waits for them', async () => {
    const bot = defineBot({
      onMessage: (ctx) => {
        void ctx.reply('one');
        void ctx.reply('two');
      },
    });
    const { sent, result } = await run('hi', { modules: [bot] });
    expect(sent.map((s) => [s.text, s.at])).toEqual([
      ['one', 0],
      ['two', 1000],
    ]);
    expect(result.replies).toBe(2);
  });

  it('skips @no-reply elements without spending a gap on them', async () => {
    const bot = defineBot({ onMessage: (ctx) => ctx.reply(['@no-reply', 'a', '@no-reply', 'b']) });
    const { sent } = await run('hi', { modules: [bot] });
    expect(sent.map((s) => [s.text, s.at])).toEqual([
      ['a', 0],
      ['b', 1000],
    ]);
    expect((await run('hi', { modules: [defineBot({ onMessage: (c) => c.reply('@no-reply') })] })).sent).toEqual([]);
  });

  it('with a gap of 0 sends everything at once', async () => {
    const bot = defineBot({ onMessage: (ctx) => ctx.reply(['a', 'b']) });
    const { sent } = await run('hi', { modules: [bot], replyGapMs: 0 });
    expect(sent.map((s) => s.at)).toEqual([0, 0]);
  });
});

describe('addressing and media (PROTOCOL §7.7 step 7, §4.5)', () => {
  it('addresses replies to the message room, channel and packet bot name, media wait included', async () => {
    const bot = defineBot({
      onMessage: (ctx) =>
        ctx.reply([{ mediaUrls: ['https://cdn.example.com/a.jpg', 'https://cdn.example.com/b.jpg'], waitMs: 8000 }]),
    });
    const { sent } = await run(chat('hi', { channelId: null, room: 'R2', packetBotName: 'pb' }), { modules: [bot] });
    expect(sent).toEqual([
      {
        room: 'R2',
        channelId: null,
        botName: 'pb',
        text: 'MEDIA_URL:https://cdn.example.com/a.jpg|||https://cdn.example.com/b.jpg',
        mediaWaitTime: 8000,
        at: 0,
      },
    ]);
  });
});

describe('truncation', () => {
  it('cuts text to maxTextChars code points without splitting a surrogate pair, and reports it', async () => {
    let truncated = 0;
    const long = `${'a'.repeat(9)}😀😀`;
    const bot = defineBot({ onMessage: (ctx) => ctx.reply([long, 'short', `${'b'.repeat(10)}😀`]) });
    const { sent } = await run('hi', {
      modules: [bot],
      maxTextChars: 10,
      onTruncated: () => truncated++,
    });
    expect(sent.map((s) => s.text)).toEqual([`${'a'.repeat(9)}😀`, 'short', 'b'.repeat(10)]);
    expect(truncated).toBe(2);
  });

  it('leaves text at exactly the limit alone and never cuts media directives', async () => {
    let truncated = 0;
    const img = Buffer.alloc(300, 7).toString('base64');
    const bot = defineBot({ onMessage: (ctx) => ctx.reply(['😀'.repeat(10), { imagesBase64: [img] }]) });
    const { sent } = await run('hi', { modules: [bot], maxTextChars: 10, onTruncated: () => truncated++ });
    expect(sent.map((s) => s.text)).toEqual(['😀'.repeat(10), `IMAGE_BASE64:${img}`]);
    expect(truncated).toBe(0);
  });
});

describe('abort', () => {
  function start(bot: ReturnType<typeof defineBot>) {
    const clock = new SimulatedClock();
    const ac = new AbortController();
    const sent: OutgoingReply[] = [];
    const p = handleMessage(chat('hi'), {
      router: createRouter([bot]),
      send: pathSender(clock, (r) => sent.push(r)),
      services: fakeServices(),
      clock,
      replyGapMs: 1000,
      maxTextChars: 65_000,
      signal: ac.signal,
      log: silentLoggers().root,
    });
    return { clock, ac, sent, p };
  }

  it('stops sending further replies once aborted during the gap', async () => {
    let afterReply = 'not reached';
    const { clock, ac, sent, p } = start(
      defineBot({
        onMessage: async (ctx) => {
          try {
            await ctx.reply(['a', 'b', 'c']);
            afterReply = 'resolved';
          } catch {
            afterReply = 'rejected';
          }
        },
      }),
    );
    await flush();
    expect(sent.map((s) => s.text)).toEqual(['a']);
    clock.increment(500);
    ac.abort(new Error('deadline'));
    clock.increment(5000);
    expect(await p).toEqual({ replies: 1, aborted: true });
    await flush();
    expect(sent.map((s) => s.text)).toEqual(['a']);
    // the handler learns it through reply(), so a loop of replies cannot spin on
    expect(afterReply).toBe('rejected');
  });

  it('returns at once when aborted even if the handler never finishes', async () => {
    const { ac, p } = start(defineBot({ onMessage: () => new Promise<void>(() => {}) }));
    await flush();
    ac.abort();
    expect(await p).toEqual({ replies: 0, aborted: true });
  });

  it('sends no command error reply for a command that fails because it was aborted', async () => {
    const bot = defineBot({
      commands: [
        {
          prefix: '!slow',
          run: async (ctx) => {
            await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('gone'))));
          },
        },
      ],
    });
    const clock = new SimulatedClock();
    const ac = new AbortController();
    const sent: OutgoingReply[] = [];
    const p = handleMessage(chat('!slow'), {
      router: createRouter([bot]),
      send: pathSender(clock, (r) => sent.push(r)),
      services: fakeServices(),
      clock,
      replyGapMs: 1000,
      maxTextChars: 65_000,
      signal: ac.signal,
      log: silentLoggers().root,
    });
    await flush();
    ac.abort();
    expect(await p).toEqual({ replies: 0, aborted: true });
    await flush();
    expect(sent).toEqual([]);
  });

  it('does nothing for a message whose signal is already aborted', async () => {
    const { sent, result } = await run('# echo hi', { signal: AbortSignal.abort() });
    expect(sent).toEqual([]);
    expect(result).toEqual({ replies: 0, aborted: true });
  });
});

describe('failures of catch-all handlers', () => {
  it('reject handleMessage (the worker logs the message as failed) and answer nothing', async () => {
    const bot = defineBot({
      onMessage: () => {
        throw new Error('handler bug');
      },
    });
    await expect(run('hi', { modules: [bot] })).rejects.toThrow('handler bug');
  });

  it('give the handler a child logger and the clock', async () => {
    const bot = defineBot({
      onMessage: (ctx) => ctx.reply(`${typeof ctx.log.info} ${ctx.now()} ${ctx.gateway.connections().length}`),
    });
    const clock = new SimulatedClock();
    clock.set(42);
    expect((await run('hi', { modules: [bot], clock })).sent.map((s) => s.text)).toEqual(['function 42 0']);
  });
});
