import type { Socket } from 'node:net';
import { fromCallback } from 'xstate';
import type { SocketCommand, SocketEvent, SocketInput } from '../../actors/connection.js';
import { LineFramer } from '../../protocol/index.js';

/** What the listener hands a connection actor: the socket and its output bound. */
export interface SocketHandle {
  socket: Socket;
  /** unsent reply bytes tolerated before the peer is closed as a slow consumer */
  maxOutboundBytes: number;
  /** grace between end() and destroy() so the last frame leaves (DESIGN.md §2) */
  destroyDelayMs: number;
  /**
   * When the corked writes of this turn may leave: the durable mailbox runs `release` right after
   * its next grouped write is committed, so a reply never leaves before its message's finish
   * (DESIGN.md §2 durable mailbox). Absent: at the end of the tick.
   */
  releaseWrites?: (release: () => void) => void;
}

function isHandle(value: unknown): value is SocketHandle {
  return typeof value === 'object' && value !== null && 'socket' in value && 'maxOutboundBytes' in value;
}

/** Bytes framed per event-loop turn from one chunk (see onData). */
const SLICE_BYTES = 4 * 1024;

/**
 * The connection's socket as a callback actor: bytes in → LINE events (framed with the
 * connection's byte limit, PROTOCOL §1.3/§1.5), WRITE/PAUSE/RESUME commands out.
 * Its cleanup is the only place a socket is closed.
 */
export const socketActor = fromCallback<SocketCommand, SocketInput>(({ input, sendBack, receive }) => {
  if (!isHandle(input.socket)) throw new TypeError('socket actor needs a SocketHandle');
  const { socket, maxOutboundBytes, destroyDelayMs } = input.socket;
  const releaseWrites = input.socket.releaseWrites ?? ((release: () => void) => process.nextTick(release));
  const framer = new LineFramer(input.limit);
  let framerLimit = input.limit;
  let finished = false;
  const finish = (event: SocketEvent) => {
    if (finished) return;
    finished = true;
    sendBack(event);
  };
  // The lines of one push go to the connection as ONE event (LINE for one, LINES for more).
  let batch: Buffer[] = [];
  const onLine = (line: Buffer) => {
    batch.push(line);
  };
  const flushLines = () => {
    if (batch.length === 0) return;
    const lines = batch;
    batch = [];
    // After the connection closed (cleanup ran), the rest of the chunk has nobody to go to.
    if (finished) return;
    if (lines.length === 1) sendBack({ type: 'LINE', line: lines[0]! });
    else sendBack({ type: 'LINES', lines });
  };
  /** the connection asked to stop reading (mailbox backpressure) */
  let held = false;
  /** a big chunk is being framed slice by slice; no further reads until it is done */
  let slicing = false;
  const push = (bytes: Buffer): boolean => {
    const result = framer.push(bytes, onLine);
    flushLines(); // the lines before an overflow still count, in order
    if (result === 'overflow') {
      socket.pause();
      finish({ type: 'OVERFLOW', limit: framerLimit });
      return false;
    }
    return true;
  };
  const onData = (chunk: Buffer) => {
    if (finished) return;
    if (chunk.length <= SLICE_BYTES) {
      push(chunk);
      return;
    }
    // Found by the 100,000-tiny-lines robustness case: libuv reads up to 32 chunks of 64 KiB
    // per socket and turn, and every line costs an actor step, so one peer's burst of tiny lines
    // held the event loop for seconds. Framing a big chunk a slice per turn, with reading
    // stopped meanwhile, lets every other connection be served between the slices.
    slicing = true;
    socket.pause();
    let offset = 0;
    const step = () => {
      if (finished) return;
      const end = Math.min(offset + SLICE_BYTES, chunk.length);
      if (!push(chunk.subarray(offset, end))) return;
      offset = end;
      if (offset < chunk.length) {
        setImmediate(step);
        return;
      }
      slicing = false;
      if (!held) socket.resume();
    };
    step();
  };
  const onEnd = () => {
    framer.reset(); // PROTOCOL §1.3 [REC]: an unterminated fragment at EOF is discarded
    finish({ type: 'EOF' });
  };
  const onClose = () => finish({ type: 'EOF' });
  const onError = (err: Error) => finish({ type: 'SOCKET_ERROR', message: err.message });
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onClose);
  socket.on('error', onError);

  // Writes are corked for the rest of the tick (or until the durable mailbox has committed what
  // this turn finished): the replies of one event-loop turn leave in one write syscall instead of
  // one each (DESIGN.md §2).
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const write = (data: string) => {
    if (socket.destroyed || socket.writableEnded) return;
    if (!corked) {
      corked = true;
      socket.cork();
      releaseWrites(uncork);
    }
    socket.write(data);
    if (socket.writableLength > maxOutboundBytes) {
      finish({ type: 'SLOW_CONSUMER', bytes: socket.writableLength });
    }
  };
  // The connection writes replies through this directly, without a WRITE event.
  const out = input.out;
  if (out !== undefined) out.write = write;

  receive((command) => {
    switch (command.type) {
      case 'WRITE':
        write(command.data);
        return;
      case 'PAUSE':
        held = true;
        socket.pause();
        return;
      case 'RESUME':
        held = false;
        if (!finished && !slicing) socket.resume();
        return;
      case 'SET_LIMIT':
        framerLimit = command.limit;
        framer.setLimit(command.limit);
        return;
      case 'END':
        socket.end();
        return;
    }
  });

  return () => {
    finished = true;
    if (out !== undefined && out.write === write) out.write = null;
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onClose);
    // keep an error listener: a late ECONNRESET must not become an uncaught exception
    socket.off('error', onError);
    socket.on('error', () => {});
    if (socket.destroyed) return;
    const slow = socket.writableLength > maxOutboundBytes;
    if (slow) {
      socket.destroy();
      return;
    }
    socket.end();
    setTimeout(() => socket.destroy(), destroyDelayMs).unref();
  };
});
