import type { Socket } from 'node:net';
import { fromCallback } from 'xstate';
import type { SocketCommand, SocketEvent, SocketInput, SocketOut } from '../../actors/connection.js';
import { LineFramer, type PushResult } from '../../protocol/index.js';

/** What the listener hands a connection actor: the socket and its output bound. */
export interface SocketHandle {
  socket: Socket;
  /** unsent reply bytes tolerated before the peer is closed as a slow consumer */
  maxOutboundBytes: number;
  /** grace between end() and destroy() so the last frame leaves (DESIGN.md §2) */
  destroyDelayMs: number;
  /**
   * When the writes may leave: the socket hands itself to the durable mailbox on its first write
   * since the last seal; the mailbox seals it when it starts its next grouped write and releases
   * it right after that write has committed, so a reply never leaves before its message's finish
   * (DESIGN.md §2 durable mailbox). Absent: corked to the end of the tick.
   */
  releaseWrites?: (writes: HeldWrites) => void;
}

/** A socket's writes held back until a grouped write of the durable mailbox commits (DESIGN.md §2). */
export interface HeldWrites {
  /** the writes so far belong to the grouped write now starting; later ones wait for the next */
  seal(): void;
  /** the writes sealed first (and not released yet) leave */
  release(): void;
}

function isHandle(value: unknown): value is SocketHandle {
  return typeof value === 'object' && value !== null && 'socket' in value && 'maxOutboundBytes' in value;
}

/** Bytes framed per event-loop turn from one chunk (see SocketPump.data). */
const SLICE_BYTES = 4 * 1024;

/**
 * The running pump of a socket, where the shared listeners below find it. The listeners, the
 * line sink and the timer callbacks are module functions, not closures per socket: with
 * thousands of idle phones, a dozen closures per connection is a measurable share of the heap
 * (DESIGN.md §6; `npm run bench -- --idle N`).
 */
const PUMP = Symbol('socket pump');
type PumpedSocket = Socket & { [PUMP]?: SocketPump | undefined };

/** Lines framed by the push in progress. Framing is synchronous: one push at a time. */
let framed: Buffer[] = [];
function collect(line: Buffer): void {
  framed.push(line);
}

function onData(this: PumpedSocket, chunk: Buffer): void {
  this[PUMP]?.data(chunk);
}
function onEnd(this: PumpedSocket): void {
  this[PUMP]?.end();
}
function onClose(this: PumpedSocket): void {
  this[PUMP]?.finish({ type: 'EOF' });
}
function onError(this: PumpedSocket, err: Error): void {
  this[PUMP]?.finish({ type: 'SOCKET_ERROR', message: err.message });
}
/** a late ECONNRESET after cleanup must not become an uncaught exception */
function ignoreError(): void {}
function uncork(pump: SocketPump): void {
  pump.uncork();
}
function step(pump: SocketPump, chunk: Buffer, offset: number): void {
  pump.step(chunk, offset);
}
function destroy(socket: Socket): void {
  socket.destroy();
}

/** One socket's reading, framing and writing, driven by the socket actor below. */
class SocketPump implements HeldWrites {
  private readonly framer: LineFramer;
  private framerLimit: number;
  private finished = false;
  /** the connection asked to stop reading (mailbox backpressure) */
  private held = false;
  /** a big chunk is being framed slice by slice; no further reads until it is done */
  private slicing = false;
  private corked = false;
  /** with releaseWrites: written since the last seal (and handed to the mailbox) */
  private unsealed = '';
  /** with releaseWrites: sealed groups of writes, oldest first, waiting for their release */
  private readonly sealed: string[] = [];
  /** the direct write path, handed to the connection as `out.write` */
  readonly write: (data: string) => void;

  constructor(
    private readonly socket: PumpedSocket,
    private readonly maxOutboundBytes: number,
    private readonly destroyDelayMs: number,
    private readonly releaseWrites: SocketHandle['releaseWrites'],
    limit: number,
    private readonly sendBack: (event: SocketEvent) => void,
    private readonly out: SocketOut | undefined,
  ) {
    this.framer = new LineFramer(limit);
    this.framerLimit = limit;
    this.write = this.writeData.bind(this);
  }

  finish(event: SocketEvent): void {
    if (this.finished) return;
    this.finished = true;
    this.sendBack(event);
  }

  /** The lines of one push go to the connection as ONE event (LINE for one, LINES for more). */
  private push(bytes: Buffer): boolean {
    let result: PushResult;
    try {
      result = this.framer.push(bytes, collect);
    } catch (error) {
      framed = []; // the lines of a failed push must never reach another socket's connection
      throw error;
    }
    // the lines before an overflow still count, in order
    if (framed.length > 0) {
      const lines = framed;
      framed = [];
      // After the connection closed (cleanup ran), the rest of the chunk has nobody to go to.
      if (!this.finished) {
        if (lines.length === 1) this.sendBack({ type: 'LINE', line: lines[0]! });
        else this.sendBack({ type: 'LINES', lines });
      }
    }
    if (result === 'overflow') {
      this.socket.pause();
      this.finish({ type: 'OVERFLOW', limit: this.framerLimit });
      return false;
    }
    return true;
  }

  data(chunk: Buffer): void {
    if (this.finished) return;
    if (chunk.length <= SLICE_BYTES) {
      this.push(chunk);
      return;
    }
    // Found by the 100,000-tiny-lines robustness case: libuv reads up to 32 chunks of 64 KiB
    // per socket and turn, and every line costs an actor step, so one peer's burst of tiny lines
    // held the event loop for seconds. Framing a big chunk a slice per turn, with reading
    // stopped meanwhile, lets every other connection be served between the slices.
    this.slicing = true;
    this.socket.pause();
    this.step(chunk, 0);
  }

  step(chunk: Buffer, offset: number): void {
    if (this.finished) return;
    const end = Math.min(offset + SLICE_BYTES, chunk.length);
    if (!this.push(chunk.subarray(offset, end))) return;
    if (end < chunk.length) {
      setImmediate(step, this, chunk, end);
      return;
    }
    this.slicing = false;
    if (!this.held) this.socket.resume();
  }

  end(): void {
    this.framer.reset(); // PROTOCOL §1.3 [REC]: an unterminated fragment at EOF is discarded
    this.finish({ type: 'EOF' });
  }

  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  // The replies of one event-loop turn leave in one write syscall instead of one each
  // (DESIGN.md §2): corked for the rest of the tick, or — with the durable mailbox — held here
  // until the grouped write that holds their finishes has committed. Held in our own buffer, not
  // by cork: a reply written while an (asynchronous) grouped write is in flight must wait for the
  // next one, and an uncork could not leave it behind.
  private writeData(data: string): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    if (this.releaseWrites !== undefined) {
      if (data === '') return;
      if (this.unsealed === '') this.releaseWrites(this);
      this.unsealed += data;
      this.checkSlow(this.unsealed.length);
      return;
    }
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    socket.write(data);
    this.checkSlow(0);
  }

  seal(): void {
    this.sealed.push(this.unsealed);
    this.unsealed = '';
  }

  release(): void {
    const data = this.sealed.shift();
    const socket = this.socket;
    if (data === undefined || data === '' || socket.destroyed || socket.writableEnded) return;
    socket.write(data);
    this.checkSlow(0);
  }

  /** `held`: characters waiting in our own buffer besides the socket's unsent bytes */
  private checkSlow(held: number): void {
    const bytes = this.socket.writableLength + held;
    if (bytes > this.maxOutboundBytes) this.finish({ type: 'SLOW_CONSUMER', bytes });
  }

  command(command: SocketCommand): void {
    switch (command.type) {
      case 'WRITE':
        this.writeData(command.data);
        return;
      case 'PAUSE':
        this.held = true;
        this.socket.pause();
        return;
      case 'RESUME':
        this.held = false;
        if (!this.finished && !this.slicing) this.socket.resume();
        return;
      case 'SET_LIMIT':
        this.framerLimit = command.limit;
        this.framer.setLimit(command.limit);
        return;
      case 'END':
        this.socket.end();
        return;
    }
  }

  /** The socket actor's cleanup: the only place a socket is closed. */
  dispose(): void {
    this.finished = true;
    const out = this.out;
    if (out !== undefined && out.write === this.write) out.write = null;
    const socket = this.socket;
    socket[PUMP] = undefined;
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onClose);
    // keep an error listener: a late ECONNRESET must not become an uncaught exception
    socket.off('error', onError);
    socket.on('error', ignoreError);
    if (socket.destroyed) return;
    // a closing socket's held writes go out before its end, as corked ones would (a graceful
    // stop closes sockets before the mailbox's last write; a crash never gets here)
    const held = this.sealed.join('') + this.unsealed;
    this.sealed.length = 0;
    this.unsealed = '';
    if (held !== '' && !socket.writableEnded) socket.write(held);
    const slow = socket.writableLength > this.maxOutboundBytes;
    if (slow) {
      socket.destroy();
      return;
    }
    socket.end();
    setTimeout(destroy, this.destroyDelayMs, socket).unref();
  }
}

/**
 * The connection's socket as a callback actor: bytes in → LINE events (framed with the
 * connection's byte limit, PROTOCOL §1.3/§1.5), WRITE/PAUSE/RESUME commands out.
 * Its cleanup is the only place a socket is closed.
 */
export const socketActor = fromCallback<SocketCommand, SocketInput>(({ input, sendBack, receive }) => {
  if (!isHandle(input.socket)) throw new TypeError('socket actor needs a SocketHandle');
  const { socket, maxOutboundBytes, destroyDelayMs, releaseWrites } = input.socket;
  const pumped = socket as PumpedSocket;
  const out = input.out;
  const pump = new SocketPump(pumped, maxOutboundBytes, destroyDelayMs, releaseWrites, input.limit, sendBack, out);
  pumped[PUMP] = pump;
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onClose);
  socket.on('error', onError);
  // The connection writes replies through this directly, without a WRITE event.
  if (out !== undefined) out.write = pump.write;
  receive(pump.command.bind(pump));
  return pump.dispose.bind(pump);
});
