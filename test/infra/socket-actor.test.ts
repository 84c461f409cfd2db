import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { createActor, createMachine } from 'xstate';
import type { SocketOut } from '../../src/actors/connection.js';
import { type HeldWrites, socketActor } from '../../src/infra/tcp/socket-actor.js';

/** The real socket actor's direct write path (DESIGN.md §2): `out.write`, corked per tick. */
describe('socket actor: direct writes, corked per tick', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const fn of cleanup.splice(0)) fn();
  });

  async function pair(): Promise<{ server: Socket; client: Socket }> {
    const listener = createServer();
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const { port } = listener.address() as { port: number };
    const client = connect(port, '127.0.0.1');
    const [server] = (await once(listener, 'connection')) as [Socket];
    cleanup.push(() => {
      client.destroy();
      server.destroy();
      listener.close();
    });
    return { server, client };
  }

  test('out.write is set while the actor runs; writes of one tick go out under one cork; cleared on stop', async () => {
    const { server, client } = await pair();
    const out: SocketOut = { write: null };
    let corks = 0;
    const cork = server.cork.bind(server);
    server.cork = () => {
      corks++;
      cork();
    };
    const parent = createActor(
      createMachine({
        invoke: {
          id: 'socket',
          src: socketActor,
          input: { socket: { socket: server, maxOutboundBytes: 1 << 20, destroyDelayMs: 10 }, limit: 1024, out },
        },
      }),
    ).start();
    expect(out.write).not.toBeNull();
    out.write!('a\n');
    out.write!('b\n');
    (parent.getSnapshot().children.socket as { send: (e: unknown) => void }).send({ type: 'WRITE', data: 'c\n' });
    expect(corks).toBe(1);
    expect(server.writableCorked).toBe(1);
    let received = '';
    client.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    while (received.length < 6) await once(client, 'data');
    expect(received).toBe('a\nb\nc\n');
    expect(server.writableCorked).toBe(0);
    out.write!('d\n'); // a later tick corks again
    expect(corks).toBe(2);
    parent.stop();
    expect(out.write).toBeNull();
  });

  // DESIGN.md §6: with thousands of idle phones, closures per socket are a measurable share of
  // the heap (`npm run bench -- --idle N`), so the listeners are module functions shared by all.
  test('every socket gets the same listener functions, not closures of its own; cleanup removes them', async () => {
    const events = ['data', 'end', 'close', 'error'] as const;
    const sockets = [(await pair()).server, (await pair()).server];
    const before = sockets.map((socket) => new Map(events.map((e) => [e, socket.listeners(e)])));
    const added = (i: number, e: (typeof events)[number]) =>
      sockets[i]!.listeners(e).filter((listener) => !before[i]!.get(e)!.includes(listener));
    const parents = sockets.map((socket) =>
      createActor(
        createMachine({
          invoke: {
            id: 'socket',
            src: socketActor,
            input: {
              socket: { socket, maxOutboundBytes: 1 << 20, destroyDelayMs: 10 },
              limit: 1024,
              out: { write: null },
            },
          },
        }),
      ).start(),
    );
    for (const e of events) {
      expect(added(0, e)).toHaveLength(1);
      expect(added(1, e)).toEqual(added(0, e));
    }
    for (const parent of parents) parent.stop();
    for (const e of ['data', 'end', 'close'] as const) {
      expect(added(0, e)).toEqual([]);
      expect(added(1, e)).toEqual([]);
    }
    // an error listener stays (a late ECONNRESET must not become an uncaught exception), shared too
    expect(added(0, 'error')).toHaveLength(1);
    expect(added(1, 'error')).toEqual(added(0, 'error'));
  });

  function heldSocket(server: Socket) {
    const out: SocketOut = { write: null };
    const handed: HeldWrites[] = [];
    const parent = createActor(
      createMachine({
        invoke: {
          id: 'socket',
          src: socketActor,
          input: {
            socket: {
              socket: server,
              maxOutboundBytes: 1 << 20,
              destroyDelayMs: 10,
              releaseWrites: (writes: HeldWrites) => handed.push(writes),
            },
            limit: 1024,
            out,
          },
        },
      }),
    ).start();
    return { out, handed, parent };
  }

  function receiver(client: Socket) {
    let received = '';
    client.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    return {
      get text() {
        return received;
      },
      async until(length: number) {
        while (received.length < length) await once(client, 'data');
      },
    };
  }

  test('with releaseWrites, writes leave only when released (after the durable commit), not at the end of the tick', async () => {
    const { server, client } = await pair();
    const { out, handed, parent } = heldSocket(server);
    cleanup.push(() => parent.stop());
    out.write!('a\n');
    out.write!('b\n');
    expect(handed).toHaveLength(1); // handed over once per group, not per write
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(server.bytesWritten).toBe(0); // still held after the tick
    const r = receiver(client);
    handed[0]!.seal();
    handed.shift()!.release();
    await r.until(4);
    expect(r.text).toBe('a\nb\n');
    out.write!('c\n'); // the next write asks for its own release
    expect(handed).toHaveLength(1);
  });

  test('a write made after the seal (an asynchronous commit in flight) waits for the next release', async () => {
    const { server, client } = await pair();
    const { out, handed, parent } = heldSocket(server);
    cleanup.push(() => parent.stop());
    const r = receiver(client);
    out.write!('first\n');
    const group = handed.shift()!;
    group.seal(); // the grouped write holding the first reply's finish starts
    out.write!('second\n'); // its finish is in the next grouped write
    expect(handed).toHaveLength(1);
    group.release(); // the first grouped write committed
    await r.until(6);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(r.text).toBe('first\n');
    handed[0]!.seal();
    handed.shift()!.release();
    await r.until(13);
    expect(r.text).toBe('first\nsecond\n');
  });

  test('a socket closed with writes still held sends them before its end (a graceful stop)', async () => {
    const { server, client } = await pair();
    const { out, handed, parent } = heldSocket(server);
    const r = receiver(client);
    out.write!('sealed\n');
    handed[0]!.seal();
    out.write!('unsealed\n');
    parent.stop();
    await once(client, 'end');
    expect(r.text).toBe('sealed\nunsealed\n');
    handed[0]!.release(); // a late release after the close writes nothing
  });
});
