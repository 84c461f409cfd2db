import { classifyLine, type LineContext } from '../../src/actors/connection-lines.js';
import { DedupWindow } from '../../src/gateway/dedup.js';
import {
  type Handshake,
  type HmacKeys,
  kstDateTime,
  LineFramer,
  messageResponseLine,
  type OutgoingReply,
  type SignedFields,
  sign,
  verifyAuth,
} from '../../src/protocol/index.js';

/**
 * Micro-benchmark cases (`npm run bench -- --micro`): the per-message pure steps of the intake and
 * reply path, with realistic inputs. Each case checks its result once before it is timed, so a
 * case that silently took an error path fails instead of reporting a fast number.
 */

export interface MicroCase {
  name: string;
  /** one operation; returns something derived from the result so the JIT cannot drop it */
  run: (i: number) => number;
  /** throws when one operation's result is not the expected one */
  check: () => void;
}

const KEYS: HmacKeys = { secret: 'bench-secret', salt: 'bench-salt' };
const NOW = Date.UTC(2026, 0, 1, 3, 4, 5);

const HANDSHAKE: Handshake = {
  form: 'legacy',
  clientType: 'MessengerBotR',
  botName: 'bench-bot',
  version: '3.2.1',
  deviceId: 'dev-1',
  deviceIp: '10.0.0.2',
  deviceInfo: 'bench',
};

const FIELDS: SignedFields = {
  clientType: 'MessengerBotR',
  botName: 'bench-bot',
  deviceUUID: 'dev-1',
  macAddress: '02:00:00:00:00:00',
  ipAddress: '10.0.0.2',
  timestamp: NOW,
};
const AUTH = { ...FIELDS, deviceID: 'dev-1', version: '3.2.1', signature: sign(FIELDS, KEYS) };

/** A listener-form v3.2 analyze line as the phone writes it (PROTOCOL §4.1). */
const V32_LINE = Buffer.from(
  JSON.stringify({
    event: 'analyze',
    data: {
      room: 'Demo Room',
      text: '# echo hello',
      sender: 'Alice',
      isGroupChat: true,
      channelId: '18234567890123456',
      logId: '3301234567890123456',
      userHash: 'u',
      isMention: false,
      timestamp: kstDateTime(NOW),
      botName: 'bench-bot',
      clientType: 'MessengerBotR',
      auth: AUTH,
    },
  }),
  'utf8',
);

/** A v3.3.2 `message` line: JSON header + base64 payload (PROTOCOL §5). */
const PAYLOAD = Buffer.from('# echo 안녕', 'utf8').toString('base64');
const V33_LINE = Buffer.from(
  JSON.stringify({
    event: 'message',
    data: {
      room: 'Demo Room',
      channel_id: '18234567890123456',
      message_type: 'text',
      content_encoding: 'base64',
      message_positions: [0, PAYLOAD.length],
      timestamp: new Date(NOW).toISOString(),
      timezone: 'Asia/Seoul',
      sender: 'Alice',
      is_group_chat: true,
      log_id: '3301234567890123456',
      user_hash: 'u',
      is_mention: false,
      bot_name: 'bench-bot',
      client_type: 'MessengerBotR',
      auth: { ...AUTH, version: '3.3.2' },
    },
  }) + PAYLOAD,
  'utf8',
);

function lineContext(framing: 'v3.2' | 'v3.3'): LineContext {
  return {
    framing,
    handshake: { ...HANDSHAKE, version: framing === 'v3.3' ? '3.3.2' : '3.2.1' },
    keys: KEYS,
    now: NOW,
    hmacWindowMs: 300_000,
    maxTextChars: 65_000,
    issuedPings: [],
    newTraceId: () => 'trace',
  };
}

/** 64 KiB of analyze lines, as one socket read delivers them. */
const CHUNK_LINES = Math.floor(65_536 / (V32_LINE.length + 1));
const CHUNK = Buffer.concat(Array.from({ length: CHUNK_LINES }, () => Buffer.concat([V32_LINE, Buffer.from('\n')])));

const REPLY: OutgoingReply = { room: 'Demo Room', channelId: '18234567890123456', botName: 'bench-bot', text: 'hello' };

function expectEqual(what: string, got: unknown, want: unknown): void {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

export function microCases(): MicroCase[] {
  const framer = new LineFramer(1_048_576);
  let lines = 0;
  const onLine = (line: Buffer) => {
    lines += line.length > 0 ? 1 : 0;
  };
  const v32 = lineContext('v3.2');
  const v33 = lineContext('v3.3');
  const dedup = new DedupWindow(60_000, 100_000);
  return [
    {
      name: `framer: one 64 KiB read (${CHUNK_LINES} lines), per line`,
      run: () => {
        lines = 0;
        framer.push(CHUNK, onLine);
        return lines;
      },
      check: () => {
        lines = 0;
        framer.push(CHUNK, onLine);
        expectEqual('lines framed', lines, CHUNK_LINES);
      },
    },
    {
      name: 'classifyLine v3.2 analyze (JSON, zod, HMAC)',
      run: () => (classifyLine(V32_LINE, v32).kind === 'chat' ? 1 : 0),
      check: () => expectEqual('v3.2 verdict', classifyLine(V32_LINE, v32).kind, 'chat'),
    },
    {
      name: 'classifyLine v3.3 message (header + base64)',
      run: () => (classifyLine(V33_LINE, v33).kind === 'chat' ? 1 : 0),
      check: () => expectEqual('v3.3 verdict', classifyLine(V33_LINE, v33).kind, 'chat'),
    },
    {
      name: 'HMAC verify (PROTOCOL §3)',
      run: () => (verifyAuth(AUTH, KEYS, NOW, 300_000, 'bench-bot').ok ? 1 : 0),
      check: () => expectEqual('verify', verifyAuth(AUTH, KEYS, NOW, 300_000, 'bench-bot').ok, true),
    },
    {
      name: 'messageResponseLine v3.2 (reply encoding)',
      run: (i) => messageResponseLine(REPLY, 'v3.2', NOW + i).length,
      check: () => expectEqual('reply ends with LF', messageResponseLine(REPLY, 'v3.2', NOW).endsWith('\n'), true),
    },
    {
      name: 'messageResponseLine v3.3 (base64 payload)',
      run: (i) => messageResponseLine(REPLY, 'v3.3', NOW + i).length,
      check: () => expectEqual('reply ends with LF', messageResponseLine(REPLY, 'v3.3', NOW).endsWith('\n'), true),
    },
    {
      name: 'dedup check, new key (100,000-entry window)',
      run: (i) => (dedup.check(`18234567890123456\u0000${i}`, NOW + (i >> 10)) ? 1 : 0),
      check: () => {
        const w = new DedupWindow(60_000, 10);
        expectEqual('first', w.check('k', NOW), false);
        expectEqual('again', w.check('k', NOW), true);
      },
    },
  ];
}

/** Lines per operation of a case (the framer case frames a whole chunk per run). */
export function perOperation(name: string): number {
  return name.startsWith('framer') ? CHUNK_LINES : 1;
}
