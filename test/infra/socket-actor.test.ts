import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { createActor, createMachine } from 'xstate';
import type { SocketOut } from '../../src/actors/connection.js';
import { socketActor } from '../../src/infra/tcp/socket-actor.js';

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

  test('with releaseWrites, the corked writes leave only when released (after the durable commit), not at the end of the tick', async () => {
    const { server, client } = await pair();
    const out: SocketOut = { write: null };
    const releases: (() => void)[] = [];
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
              releaseWrites: (release: () => void) => releases.push(release),
            },
            limit: 1024,
            out,
          },
        },
      }),
    ).start();
    cleanup.push(() => parent.stop());
    out.write!('a\n');
    out.write!('b\n');
    expect(releases).toHaveLength(1); // one per cork, not per write
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(server.writableCorked).toBe(1); // still held after the tick
    let received = '';
    client.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    releases.shift()!();
    expect(server.writableCorked).toBe(0);
    while (received.length < 4) await once(client, 'data');
    expect(received).toBe('a\nb\n');
    out.write!('c\n'); // the next write corks again and asks for its own release
    expect(releases).toHaveLength(1);
  });
});
