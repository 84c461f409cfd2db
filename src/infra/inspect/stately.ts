import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { AnyEventObject, InspectionEvent } from 'xstate';
import { asInspectable, snapshotSummary } from './actor-ref.js';

/**
 * `--inspect=stately`: a small server on 127.0.0.1 that an operator opens in a browser (directly or
 * through an SSH tunnel); its page embeds the Stately inspector page and forwards the live actor
 * events to it over a WebSocket.
 *
 * Built from `@statelyai/inspect`'s `createInspector` with an in-process adapter rather than
 * `createInspectorServer` + `createWebSocketInspector`: that server listens on every interface and
 * tries to open a browser on the server, and the WebSocket inspector would only loop back into this
 * same process — and it retries a failed connection every 5 s forever with timers that keep the
 * process alive at shutdown. Never the "sky" inspector: it ships data to a third party.
 */

export const DEFAULT_STATELY_PORT = 9486;

/** The parts of the `ws` module used here (it comes with @statelyai/inspect and has no bundled types). */
export interface WsSocket {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  on(event: 'message', listener: (data: { toString(): string }) => void): this;
  on(event: 'open' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

interface WsServer {
  readonly clients: Set<WsSocket>;
  on(event: 'connection', listener: (socket: WsSocket) => void): this;
  close(cb?: () => void): void;
}

export interface WsModule {
  WebSocket: { new (url: string): WsSocket; readonly OPEN: number };
  WebSocketServer: new (opts: { server: Server }) => WsServer;
}

/** `ws` as @statelyai/inspect resolves it, wherever npm placed it. */
export function loadWs(): WsModule {
  const inspectEntry = createRequire(import.meta.url).resolve('@statelyai/inspect');
  return createRequire(inspectEntry)('ws') as WsModule;
}

const INSPECTOR_PAGE = 'https://stately.ai/inspect';

/**
 * The bridge page (adapted from @statelyai/inspect/server, MIT): it connects back to the host it
 * was loaded from, so it works unchanged through `ssh -L`.
 */
function bridgeHtml(): string {
  return `<!DOCTYPE html>
<html>
<head>
  <title>msgbot-gateway · Stately inspector</title>
  <style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head>
<body>
  <iframe id="inspector" src="${INSPECTOR_PAGE}"></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    const buffer = [];
    let connected = false;
    window.addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        for (const event of buffer) iframe.contentWindow.postMessage(event, '*');
        buffer.length = 0;
      }
    });
    const ws = new WebSocket('ws://' + location.host);
    ws.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (connected) iframe.contentWindow.postMessage(data, '*');
      else buffer.push(data);
    };
  </script>
</body>
</html>`;
}

/** Keeps what a late-opened browser needs: every actor registration (bounded) and the latest events. */
class ReplayBuffer {
  private readonly actors = new Map<string, string>();
  private readonly recent: string[] = [];

  constructor(
    private readonly maxActors = 5_000,
    private readonly maxRecent = 500,
  ) {}

  add(type: string, sessionId: string, message: string): void {
    if (type === '@xstate.actor') {
      // Re-inserting moves it to the end, so the oldest registration is the one dropped.
      this.actors.delete(sessionId);
      this.actors.set(sessionId, message);
      if (this.actors.size > this.maxActors) this.actors.delete(this.actors.keys().next().value as string);
      return;
    }
    this.recent.push(message);
    if (this.recent.length > this.maxRecent) this.recent.shift();
  }

  *replay(): Iterable<string> {
    yield* this.actors.values();
    yield* this.recent;
  }
}

/** Only numbers, booleans and short strings of a context cross over: contexts hold sockets and jobs. */
function primitives(obj: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (obj === null || typeof obj !== 'object') return out;
  for (const [key, value] of Object.entries(obj)) {
    if (typeof value === 'number' || typeof value === 'boolean' || value === null) out[key] = value;
    else if (typeof value === 'string' && value.length <= 64) out[key] = value;
  }
  return out;
}

function slimEvent(event: AnyEventObject): AnyEventObject {
  return { type: event.type };
}

function slimSnapshot(snapshot: unknown): Record<string, unknown> {
  const context = snapshot && typeof snapshot === 'object' ? (snapshot as { context?: unknown }).context : undefined;
  return { ...snapshotSummary(snapshot), context: primitives(context) };
}

/** The library sends `logic.config` as the machine definition; a literal initial context stays home. */
function withoutInitialContext(logic: unknown): unknown {
  const config = logic && typeof logic === 'object' ? (logic as { config?: unknown }).config : undefined;
  if (!config || typeof config !== 'object' || !('context' in config)) return logic;
  const { context: _context, ...rest } = config as Record<string, unknown>;
  return { config: rest };
}

/**
 * Rewrites an inspection event before @statelyai/inspect serializes it: the library stringifies
 * whole snapshots (10 levels deep) before its own sanitizers run, which for a socket is both slow
 * and a leak.
 */
function slim(ev: InspectionEvent): InspectionEvent | undefined {
  switch (ev.type) {
    case '@xstate.actor': {
      const ref = asInspectable(ev.actorRef);
      const standIn = {
        id: ref.id,
        sessionId: ref.sessionId,
        logic: withoutInitialContext(ref.logic),
        _parent: ref._parent,
        send: () => {},
        // Read later (the library defers to a timer): an actor's snapshot cannot be read while it initializes.
        getSnapshot: () => slimSnapshot(ref.getSnapshot()),
      };
      return { ...ev, actorRef: standIn };
    }
    case '@xstate.event':
      return { ...ev, event: slimEvent(ev.event) };
    case '@xstate.snapshot':
      return { ...ev, event: slimEvent(ev.event), snapshot: slimSnapshot(ev.snapshot) as never };
    default:
      return undefined;
  }
}

export interface StatelyInspector {
  /** pass as `createActor(logic, { inspect })`, or call from a combined observer */
  inspect: (ev: InspectionEvent) => void;
  /** the page to open in a browser that can reach this host (or the local end of a tunnel) */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startStatelyInspector(
  port: number = DEFAULT_STATELY_PORT,
  host = '127.0.0.1',
): Promise<StatelyInspector> {
  const { WebSocket, WebSocketServer } = loadWs();
  const html = bridgeHtml();
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  });
  const wss = new WebSocketServer({ server });
  const buffer = new ReplayBuffer();
  wss.on('connection', (socket) => {
    socket.on('error', () => {});
    for (const message of buffer.replay()) socket.send(message);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${bound}`;

  let stopped = false;
  // The adapter hands each converted event straight to the open browser pages.
  const inspector = createInspector({
    send(event: StatelyInspectionEvent) {
      // the library converts on a timer, so events may still arrive after stop()
      if (stopped) return;
      let message: string;
      try {
        message = JSON.stringify(event);
      } catch {
        return;
      }
      buffer.add(event.type, event.sessionId, message);
      for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(message);
    },
  });
  const inspect = (ev: InspectionEvent): void => {
    if (stopped) return;
    try {
      const slimmed = slim(ev);
      if (slimmed) inspector.inspect.next?.(slimmed);
    } catch {
      // Inspection must never break the actor it watches.
    }
  };

  return {
    inspect,
    url,
    port: bound,
    stop() {
      stopped = true;
      inspector.stop();
      return new Promise<void>((resolve) => {
        for (const client of wss.clients) client.close();
        wss.close(() => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      });
    },
  };
}
