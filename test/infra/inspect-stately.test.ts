import { afterEach, describe, expect, it } from 'vitest';
import { createActor, fromCallback, setup } from 'xstate';
import {
  loadWs,
  type StatelyInspector,
  startStatelyInspector,
  type WsSocket,
} from '../../src/infra/inspect/stately.js';

const machine = setup({
  types: {
    context: {} as { socket: { secret: string }; botName: string },
    events: {} as { type: 'HELLO'; text: string },
  },
  actors: { reader: fromCallback(() => () => {}) },
}).createMachine({
  id: 'conn',
  context: { socket: { secret: 'socket-internals' }, botName: 'kbot' },
  initial: 'handshaking',
  states: {
    handshaking: { on: { HELLO: 'active' } },
    active: { invoke: { id: 'reader', src: 'reader' } },
  },
});

interface Received {
  type: string;
  name?: string;
  sessionId?: string;
  snapshot?: { value?: unknown; context?: Record<string, unknown> };
  event?: { type: string };
}

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A stand-in for the browser page: a WebSocket client of the relay. */
async function browser(inspector: StatelyInspector): Promise<{ messages: Received[]; raw: string[] }> {
  const { WebSocket } = loadWs();
  const socket: WsSocket = new WebSocket(`ws://127.0.0.1:${inspector.port}`);
  const raw: string[] = [];
  const messages: Received[] = [];
  socket.on('message', (data) => {
    raw.push(data.toString());
    messages.push(JSON.parse(data.toString()) as Received);
  });
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => resolve());
    socket.on('error', reject);
  });
  cleanups.push(() => socket.close());
  return { messages, raw };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Stately inspector relay', () => {
  it('listens on 127.0.0.1, serves the bridge page and relays live actors to the browser', async () => {
    const inspector = await startStatelyInspector(0);
    cleanups.push(() => inspector.stop());
    expect(inspector.url).toBe(`http://127.0.0.1:${inspector.port}`);

    const page = await (await fetch(inspector.url)).text();
    expect(page).toContain('https://stately.ai/inspect');
    expect(page).toContain("new WebSocket('ws://' + location.host)");

    const seen = await browser(inspector);
    const actor = createActor(machine, { inspect: inspector.inspect });
    cleanups.push(() => {
      actor.stop();
    });
    actor.start();
    actor.send({ type: 'HELLO', text: 'private chat text' });

    await until(
      () => seen.messages.some((m) => m.type === '@xstate.snapshot' && m.event?.type === 'HELLO'),
      'the HELLO snapshot',
    );
    const registration = seen.messages.find((m) => m.type === '@xstate.actor' && m.name === 'conn');
    expect(registration?.sessionId).toBe(actor.sessionId);
    const afterHello = seen.messages.find((m) => m.type === '@xstate.snapshot' && m.event?.type === 'HELLO');
    expect(afterHello?.snapshot?.value).toBe('active');
    // short primitives of the context cross over, sockets and chat text do not
    expect(afterHello?.snapshot?.context).toEqual({ botName: 'kbot' });
    const all = seen.raw.join('\n');
    expect(all).not.toContain('socket-internals');
    expect(all).not.toContain('private chat text');
  });

  it('replays actor registrations to a browser that opens the page later', async () => {
    const inspector = await startStatelyInspector(0);
    cleanups.push(() => inspector.stop());
    const early = await browser(inspector);
    const actor = createActor(machine, { inspect: inspector.inspect });
    cleanups.push(() => {
      actor.stop();
    });
    actor.start();
    await until(() => early.messages.some((m) => m.type === '@xstate.actor' && m.name === 'conn'), 'registration');

    const late = await browser(inspector);
    await until(
      () => late.messages.some((m) => m.type === '@xstate.actor' && m.sessionId === actor.sessionId),
      'the replayed registration',
    );
  });

  it('stops listening on stop()', async () => {
    const inspector = await startStatelyInspector(0);
    await inspector.stop();
    await expect(fetch(inspector.url)).rejects.toThrow();
  });
});
