import fc from 'fast-check';
import type { AnyStateNode, StateValue } from 'xstate';
import { type ConnectionEvent, connectionMachine } from '../../src/actors/connection.js';
import type { ChatVerdict, CloseReason, DeviceVerdict } from '../../src/actors/connection-ports.js';
import { LineFramer, sign } from '../../src/protocol/index.js';
import { harness, KEYS } from '../support/fake-connection.js';

/**
 * Issue 6 item 2: generative fuzzing of the inbound path — bytes through the real LineFramer into
 * the real connection machine (fake socket and ports, SimulatedClock). Shared by
 * test/robustness/fuzz.test.ts (bounded runs in `npm test`) and scripts/fuzz.ts (long runs).
 *
 * Invariants after every step:
 *  - no exception escapes the framer or the actor, and the actor never enters `error`;
 *  - the framer never buffers more than the connection's current line limit, no line it emits is
 *    longer, and lines kept behind the handshake stay bounded (maxPendingLines + one chunk);
 *  - the actor's state value is always a resting state of the machine (no transient state, every
 *    parallel region present), and a closed connection is closed exactly once, its socket stopped.
 *
 * No vitest here: failures are thrown Errors, so the long mode runs under plain tsx.
 */

export const NOW = 1_721_800_000_000;
/** small, so over-long lines and tails at the limit are common */
export const LIMIT = 2_048;
const SETTINGS = { maxLineBytes: LIMIT, maxPendingLines: 4, maxTextChars: 64 };

// ---------------------------------------------------------------------------------------------
// valid packets (the templates mutations start from)

const HANDSHAKE = {
  clientType: 'MessengerBotR',
  botName: 'demo-bot',
  version: '3.2.1',
  deviceID: 'a1b2c3',
  deviceIP: '192.168.0.23',
  deviceInfo: 'samsung SM-G991N (Android 13, API 33)',
};

function auth(now: number): Record<string, unknown> {
  const signed = {
    clientType: 'MessengerBotR',
    botName: 'demo-bot',
    deviceUUID: 'a1b2c3',
    macAddress: '02:00:00:00:00:00',
    ipAddress: '192.168.0.23',
    timestamp: now,
  };
  return { ...signed, deviceID: 'a1b2c3', version: '3.2.1', signature: sign(signed, KEYS) };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Template = () => { value: { [k: string]: Json }; suffix?: string };

const TEMPLATES: Record<string, Template> = {
  handshake: () => ({ value: { ...HANDSHAKE } }),
  handshakeV33: () => ({ value: { event: 'handshake', data: { ...HANDSHAKE, version: '3.3.2' } } }),
  handshakeDraft: () => ({ value: { ...HANDSHAKE, protocolVersion: 3, supportedMessageTypes: ['text'] } }),
  analyze: () => ({
    value: {
      event: 'analyze',
      data: {
        room: 'Demo Room',
        text: '# echo hi',
        sender: 'Alice',
        isGroupChat: true,
        channelId: '18234567890123456',
        logId: '3301234567890123456',
        userHash: '9f8e7d6c5b4a',
        isMention: false,
        timestamp: '2024-07-24 14:46:40',
        botName: 'demo-bot',
        clientType: 'MessengerBotR',
        auth: auth(NOW) as { [k: string]: Json },
      },
    },
  }),
  ping: () => ({
    value: {
      event: 'ping',
      data: {
        bot_name: 'demo-bot',
        server_timestamp: NOW + 2_500,
        monitoring: {
          total_memory: 512,
          memory_usage: 87.3,
          memory_percent: 17.1,
          message_queue_size: 0,
          active_rooms: 4,
        },
        auth: auth(NOW) as { [k: string]: Json },
      },
    },
  }),
  pong: () => ({
    value: {
      event: 'pong',
      data: {
        bot_name: 'demo-bot',
        server_timestamp: '2024-07-24 14:46:42.500',
        auth: auth(NOW) as { [k: string]: Json },
      },
    },
  }),
  messageV33: () => ({
    value: {
      event: 'message',
      data: {
        room: 'Demo Room',
        channel_id: '18234567890123456',
        sender: 'Alice',
        content_encoding: 'base64',
        message_positions: [0, 12],
        auth: auth(NOW) as { [k: string]: Json },
      },
    },
    suffix: Buffer.from('# echo v33').toString('base64'),
  }),
};
const TEMPLATE_NAMES = Object.keys(TEMPLATES);

// ---------------------------------------------------------------------------------------------
// structure-aware mutations

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const anyChar = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), loneSurrogate);
const nastyString = fc.oneof(
  fc.string({ unit: anyChar, maxLength: 40 }),
  fc.constantFrom('', '__proto__', 'constructor', '# echo ', '\u0000', '\r\n', '9223372036854775807', '😀'.repeat(70)),
);
const nastyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'event', 'data', 'auth', 'text', 'botName'),
  fc.string({ maxLength: 8 }),
);
const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  nastyString,
  // an id above 2^53 as JSON.parse reads it (already imprecise), and other awkward numbers
  fc.constantFrom<Json>(Number('18234567890123456789'), 2 ** 53 + 1, -0, 1e308, NOW, NOW - 600_000, [], {}),
);

type JsonMutation =
  | { op: 'set'; at: number; value: Json }
  | { op: 'delete'; at: number }
  | { op: 'add'; at: number; key: string; value: Json }
  | { op: 'event'; name: string };

const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: jsonValue }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('add' as const), at: fc.nat(), key: nastyKey, value: jsonValue }),
  fc.record({
    op: fc.constant('event' as const),
    name: fc.oneof(
      fc.constantFrom('analyze', 'ping', 'pong', 'message', 'handshake', 'messageResponse', '', '__proto__'),
      fc.string(),
    ),
  }),
);

type ByteMutation =
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; byte: number }
  | { op: 'overwrite'; at: number; byte: number }
  | { op: 'duplicate'; at: number; length: number };

const interestingByte = fc.oneof(
  fc.constantFrom(0x00, 0x0a, 0x0d, 0x22, 0x5c, 0x7b, 0x7d, 0x80, 0xc0, 0xed, 0xef, 0xf4, 0xf8, 0xff),
  fc.integer({ min: 0, max: 255 }),
);
const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: interestingByte }),
  fc.record({ op: fc.constant('overwrite' as const), at: fc.nat(), byte: interestingByte }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 600 }) }),
);

/** Every (container, key) pair of a JSON tree, depth first. */
function slots(root: Json): Array<[Record<string, Json> | Json[], string]> {
  const out: Array<[Record<string, Json> | Json[], string]> = [];
  const walk = (node: Json) => {
    if (node === null || typeof node !== 'object') return;
    for (const key of Object.keys(node)) {
      out.push([node, key]);
      walk((node as Record<string, Json>)[key] as Json);
    }
  };
  walk(root);
  return out;
}

/** Generated values are spliced into a tree that later mutations change: never share one. */
function fresh(v: Json): Json {
  return structuredClone(v);
}

function applyJson(value: { [k: string]: Json }, m: JsonMutation): void {
  if (m.op === 'event') {
    value.event = m.name;
    return;
  }
  const all = slots(value);
  if (m.op === 'add') {
    const containers = [value as Json, ...all.map(([c, k]) => (c as Record<string, Json>)[k] as Json)].filter(
      (c): c is Record<string, Json> => c !== null && typeof c === 'object' && !Array.isArray(c),
    );
    const target = containers[m.at % containers.length]!;
    // an own property even for "__proto__", as JSON.parse would create it
    Object.defineProperty(target, m.key, {
      value: fresh(m.value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return;
  }
  if (all.length === 0) return;
  const [container, key] = all[m.at % all.length]!;
  if (m.op === 'delete') {
    if (Array.isArray(container)) container.splice(Number(key), 1);
    else delete container[key];
  } else {
    Object.defineProperty(container, key, {
      value: fresh(m.value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
}

function applyBytes(bytes: Buffer, m: ByteMutation): Buffer {
  const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
  switch (m.op) {
    case 'truncate':
      return bytes.subarray(0, at);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from([m.byte]), bytes.subarray(at)]);
    case 'overwrite': {
      if (bytes.length === 0) return bytes;
      const copy = Buffer.from(bytes);
      copy[at % copy.length] = m.byte;
      return copy;
    }
    case 'duplicate':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + m.length), bytes.subarray(at)]);
  }
}

/** A valid packet, maybe structurally mutated, then maybe byte-mutated; without a terminator. */
export const packetBytes: fc.Arbitrary<Buffer> = fc
  .record({
    template: fc.constantFrom(...TEMPLATE_NAMES),
    json: fc.array(jsonMutation, { maxLength: 3 }),
    bytes: fc.array(byteMutation, { maxLength: 2 }),
    bigText: fc.option(fc.integer({ min: 1, max: 3_000 }), { freq: 8 }),
  })
  .map(({ template, json, bytes, bigText }) => {
    const { value, suffix } = TEMPLATES[template]!();
    if (bigText !== null && typeof value.data === 'object' && value.data !== null && !Array.isArray(value.data)) {
      value.data.text = `# echo ${'가'.repeat(bigText)}`;
    }
    for (const m of json) applyJson(value, m);
    let out: Buffer = Buffer.from(JSON.stringify(value) + (suffix ?? ''), 'utf8');
    for (const m of bytes) out = applyBytes(out, m);
    return out;
  });

const terminator = fc.constantFrom('\n', '\n', '\n', '\r\n', '\r', '', '\n\n');

/** One stretch of the byte stream: a (mutated) packet plus a line end, or raw bytes. */
const segment: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(packetBytes, terminator).map(([b, t]) => Buffer.concat([b, Buffer.from(t)])) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 50 }).map((n) => Buffer.from('{}\n'.repeat(n))) },
);

// ---------------------------------------------------------------------------------------------
// the run: bytes, time and gateway events interleaved

export type Step =
  | { kind: 'bytes'; data: Buffer; cuts: number[]; flush: boolean }
  | { kind: 'tick'; ms: number }
  | { kind: 'flush' }
  | { kind: 'event'; event: ConnectionEvent };

const closeReason = fc.constantFrom<CloseReason>('replaced', 'shutdown', 'evicted', 'zombie');
const controlEvent: fc.Arbitrary<ConnectionEvent> = fc.oneof(
  fc.record({
    type: fc.constant('DELIVER' as const),
    reply: fc.record({
      room: nastyString,
      channelId: fc.option(fc.constantFrom('18234567890123456', '9223372036854775807')),
      botName: fc.constant('demo-bot'),
      text: nastyString,
      mediaWaitTime: fc.option(fc.oneof(fc.integer(), fc.double()), { nil: undefined }),
    }),
  }),
  fc.record({ type: fc.constant('KICK' as const), reason: closeReason }),
  fc.record({
    type: fc.constant('STANDING' as const),
    status: fc.constantFrom('approved', 'pending', 'blocked', 'weird'),
    maxMessageSize: fc.option(fc.integer({ min: -10, max: 4_096 })),
  }),
  fc.constant<ConnectionEvent>({ type: 'MAILBOX_FULL' }),
  fc.constant<ConnectionEvent>({ type: 'MAILBOX_READY' }),
  fc.constant<ConnectionEvent>({ type: 'EOF' }),
  fc.record({ type: fc.constant('SOCKET_ERROR' as const), message: fc.string() }),
  fc.record({ type: fc.constant('SLOW_CONSUMER' as const), bytes: fc.nat() }),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      data: segment,
      cuts: fc.array(fc.nat(), { maxLength: 3 }),
      flush: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 120_000 }) }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'flush' }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('event' as const), event: controlEvent }) },
);

export interface Scenario {
  /** a valid handshake first (most runs), so the active state is explored too */
  handshakeFirst: boolean;
  standing: 'approved' | 'pending';
  /** what the gateway answers chat messages with, in turn */
  verdicts: ChatVerdict[];
  steps: Step[];
}

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  handshakeFirst: fc.boolean(),
  standing: fc.constantFrom('approved', 'pending'),
  verdicts: fc.array(fc.constantFrom<ChatVerdict>('accepted', 'accepted', 'full', 'ignored'), {
    minLength: 1,
    maxLength: 5,
  }),
  steps: fc.array(step, { maxLength: 25 }),
});

// ---------------------------------------------------------------------------------------------
// invariants

/** True when `value` names a resting configuration of `node`'s children. */
export function isRestingValue(node: AnyStateNode, value: StateValue): boolean {
  const states = node.states as Record<string, AnyStateNode>;
  if (node.type === 'parallel') {
    if (typeof value !== 'object') return false;
    const regions = Object.keys(states);
    const given = Object.keys(value);
    if (given.length !== regions.length || !regions.every((r) => r in value)) return false;
    return regions.every((r) => isRestingValue(states[r]!, value[r] as StateValue));
  }
  if (typeof value === 'string') {
    const child = states[value];
    if (child === undefined || (child.type !== 'atomic' && child.type !== 'final')) return false;
    // a state left at once by an eventless transition is never a resting state
    return child.always === undefined || child.always.length === 0;
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) return false;
  const child = states[keys[0]!];
  if (child === undefined || (child.type !== 'compound' && child.type !== 'parallel')) return false;
  return isRestingValue(child, value[keys[0]!] as StateValue);
}

function fail(message: string, detail: unknown): never {
  throw new Error(`${message}: ${JSON.stringify(detail, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
}

/** Runs one scenario; throws on the first broken invariant. */
export async function runScenario(s: Scenario): Promise<void> {
  let turn = 0;
  const verdict: DeviceVerdict = {
    status: s.standing,
    message: s.standing === 'approved' ? '승인된 디바이스입니다' : '승인 대기 중인 디바이스입니다',
    maxMessageSize: null,
  };
  const h = harness({
    verdict,
    settings: SETTINGS,
    chat: () => s.verdicts[turn++ % s.verdicts.length]!,
  });
  const framer = new LineFramer(LIMIT);
  let framerLimit = LIMIT;
  let emitted = 0;
  let overflowed = false;

  const check = (where: string) => {
    const snap = h.actor.getSnapshot();
    if (h.errors.length > 0 || snap.status === 'error') fail(`actor errored ${where}`, String(h.errors[0]));
    if (framer.buffered > framerLimit) fail(`framer buffers over its limit ${where}`, framer.buffered);
    if (!isRestingValue(connectionMachine.root, snap.value)) fail(`not a resting state ${where}`, snap.value);
    if (h.rec.closed.length > 1) fail(`closed more than once ${where}`, h.rec.closed);
    const done = snap.status === 'done';
    if (done !== (h.rec.closed.length === 1)) fail(`done and closed disagree ${where}`, h.rec.closed);
    if (done && !h.socket.stopped) fail(`closed but socket not stopped ${where}`, snap.value);
    const pending = snap.context.flow.pending.length;
    if (pending > SETTINGS.maxPendingLines + emitted) fail(`pending lines unbounded ${where}`, pending);
  };

  const feed = (chunk: Buffer) => {
    // the real socket actor stops reading once paused, overflowed or closed
    if (h.socket.paused || overflowed || h.socket.stopped) return;
    if (h.socket.limit !== framerLimit && h.socket.limit > 0) {
      framerLimit = h.socket.limit;
      framer.setLimit(framerLimit);
    }
    emitted = 0;
    const result = framer.push(chunk, (line) => {
      emitted++;
      if (line.length > framerLimit) fail('framer emitted a line over its limit', line.length);
      // like the socket actor: once the connection is closed its socket child is gone
      if (h.actor.getSnapshot().status === 'active') h.actor.send({ type: 'LINE', line });
    });
    if (result === 'overflow') {
      overflowed = true;
      h.actor.send({ type: 'OVERFLOW', limit: framerLimit });
    }
  };

  if (s.handshakeFirst) feed(Buffer.from(`${JSON.stringify(HANDSHAKE)}\n`));
  check('after the handshake');
  for (const [i, st] of s.steps.entries()) {
    const where = `at step ${i} (${st.kind})`;
    switch (st.kind) {
      case 'bytes': {
        let from = 0;
        const cuts = [...new Set(st.cuts.map((c) => c % (st.data.length + 1)))].sort((x, y) => x - y);
        for (const cut of [...cuts, st.data.length]) {
          feed(st.data.subarray(from, cut));
          from = cut;
          check(where);
        }
        if (st.flush) await h.flush();
        break;
      }
      case 'tick':
        h.clock.increment(st.ms);
        break;
      case 'flush':
        await h.flush();
        break;
      case 'event':
        // a finished actor takes no events (xstate would only warn); the gateway never sends them
        if (h.actor.getSnapshot().status === 'active') h.actor.send(st.event);
        break;
    }
    check(where);
  }
  await h.flush();
  check('at the end');
  h.actor.stop();
}

/** Arbitrary bytes, split anywhere, framed: never throws, never buffers or emits over the limit. */
export const framerProperty = fc.property(
  fc.array(
    fc.oneof(
      segment,
      fc.uint8Array({ maxLength: 3_000 }).map((a) => Buffer.from(a)),
    ),
    { maxLength: 12 },
  ),
  fc.integer({ min: 0, max: 600 }),
  fc.array(fc.nat(), { maxLength: 20 }),
  (segments, limit, cuts) => {
    const stream = Buffer.concat(segments);
    const framer = new LineFramer(limit);
    const sorted = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
    const lines: Buffer[] = [];
    let from = 0;
    let overflow = false;
    for (const cut of [...sorted, stream.length]) {
      const r = framer.push(stream.subarray(from, cut), (line) => {
        if (line.length > limit) fail('line over the limit', line.length);
        lines.push(Buffer.from(line));
      });
      from = cut;
      if (framer.buffered > limit) fail('buffered over the limit', framer.buffered);
      if (r === 'overflow') {
        overflow = true;
        break;
      }
    }
    if (overflow) return;
    // without overflow, framing is exactly "split on LF, drop the unterminated tail"
    const expected: string[] = [];
    let start = 0;
    for (let i = stream.indexOf(0x0a); i !== -1; i = stream.indexOf(0x0a, start)) {
      expected.push(stream.subarray(start, i).toString('latin1'));
      start = i + 1;
    }
    const got = lines.map((l) => l.toString('latin1'));
    if (got.length !== expected.length || got.some((l, i) => l !== expected[i]))
      fail('framing differs', { got, expected });
  },
);

/** The connection property over whole scenarios. */
export const connectionProperty = fc.asyncProperty(scenario, (s) => runScenario(s));
