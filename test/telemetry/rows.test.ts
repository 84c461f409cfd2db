import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/actors/job.js';
import { chatLogRow, pingRow } from '../../src/infra/telemetry/rows.js';

const NOW = Date.parse('2025-07-24T05:03:30.000Z');

function message(over: Partial<ChatMessage> = {}): ChatMessage {
  return {
    traceId: '01J3EXAMPLE0000000000000000',
    receivedAt: NOW - 5,
    botName: 'demo-bot',
    deviceId: 'a1b2c3',
    packetBotName: 'demo-bot-packet',
    room: 'Demo Room 🎉',
    channelId: '18234567890123456',
    logId: '3301234567890123456',
    text: '# echo hi',
    sender: 'Alice',
    isGroupChat: true,
    isMention: false,
    userHash: '9f8e7d6c5b4a',
    timestamp: '2025-07-24 14:03:27',
    protocol: 'v3.2',
    legacyCallback: false,
    ...over,
  };
}

describe('chatLogRow (PROTOCOL §8.3)', () => {
  it('a "# echo" command: directive is just "#" (§9.47), command, meaningful', () => {
    expect(chatLogRow(message(), NOW)).toEqual({
      channelId: '18234567890123456',
      userHash: '9f8e7d6c5b4a',
      roomName: 'Demo Room 🎉',
      sender: 'Alice',
      message: '# echo hi',
      directive: '#',
      messageType: 'command',
      isMeaningful: true,
      botName: 'demo-bot-packet',
      isMention: false,
      isGroupChat: true,
      logId: '3301234567890123456',
      clientTimestamp: NOW,
    });
  });

  it('plain text: no directive, text, not meaningful', () => {
    const row = chatLogRow(message({ text: 'hello' }), NOW);
    expect([row.directive, row.messageType, row.isMeaningful]).toEqual([null, 'text', false]);
  });

  it('"#tag rest" gives the whole first token; leading space is not a command', () => {
    const tagged = chatLogRow(message({ text: '#공지\n내일 회의' }), NOW);
    expect([tagged.directive, tagged.messageType, tagged.isMeaningful]).toEqual(['#공지', 'command', true]);
    const spaced = chatLogRow(message({ text: ' # echo hi' }), NOW);
    expect([spaced.directive, spaced.messageType]).toEqual([null, 'text']);
  });

  it('a first token longer than the directive column is cut to 30 characters', () => {
    const row = chatLogRow(message({ text: `#${'가'.repeat(40)} x` }), NOW);
    expect(row.directive).toBe(`#${'가'.repeat(29)}`);
  });

  it('a null channel id becomes "" (never "None", §9.21); null userHash and logId stay null', () => {
    const row = chatLogRow(message({ channelId: null, userHash: null, logId: null }), NOW);
    expect(row.channelId).toBe('');
    expect(row.userHash).toBeNull();
    expect(row.logId).toBeNull();
  });

  it('stores server processing time, not the phone timestamp (§9.18)', () => {
    expect(chatLogRow(message(), NOW + 1234).clientTimestamp).toBe(NOW + 1234);
  });
});

describe('pingRow (PROTOCOL §7.11, §8.4)', () => {
  const ISSUED = NOW - 250;
  const server = { cpuAvg: 2.5, cpuMax: 7.25, rssAvgMb: 81.5, rssMaxMb: 90.12 };
  const base = {
    botName: 'demo-bot',
    deviceId: 'a1b2c3',
    issuedTimestamps: new Set([ISSUED]),
    now: NOW,
    processName: 'msgbot-gateway',
    server,
  };
  const monitoring = {
    total_memory: 512.9,
    memory_usage: 87.3,
    memory_percent: 17.1,
    message_queue_size: 2,
    active_rooms: 4,
  };
  const auth = { ipAddress: '192.168.0.23', timestamp: NOW - 200, signature: 'x' };

  it('an echo this connection issued gives the RTT; memory values are truncated to integers', () => {
    expect(pingRow({ ...base, reply: { server_timestamp: ISSUED, monitoring, auth } })).toEqual({
      botName: 'demo-bot',
      deviceId: 'a1b2c3',
      clientIp: '192.168.0.23',
      pingTimeMs: 250,
      clientTimestamp: NOW - 200,
      serverTimestamp: ISSUED,
      totalMemory: 512,
      memoryUsage: 87,
      memoryPercent: 17.1,
      messageQueueSize: 2,
      activeRooms: 4,
      processName: 'msgbot-gateway',
      serverCpuUsage: 2.5,
      serverCpuMax: 7.25,
      serverMemoryUsage: 81.5,
      serverMemoryMax: 90.12,
    });
  });

  it('a number this connection did not issue gives RTT 0 and no server timestamp', () => {
    const row = pingRow({ ...base, reply: { server_timestamp: ISSUED - 30_000 } });
    expect([row.pingTimeMs, row.serverTimestamp]).toEqual([0, null]);
  });

  it('a string echo gives RTT 0, even a parsable KST time', () => {
    const row = pingRow({ ...base, reply: { server_timestamp: '2025-07-24 14:03:29.750' } });
    expect([row.pingTimeMs, row.serverTimestamp]).toEqual([0, null]);
  });

  it('a seconds-sized number gives RTT 0 (it was never issued)', () => {
    const row = pingRow({ ...base, reply: { server_timestamp: Math.floor(ISSUED / 1000) } });
    expect([row.pingTimeMs, row.serverTimestamp]).toEqual([0, null]);
  });

  it('accepts a predicate for the issued pings, and never stores a negative RTT', () => {
    const row = pingRow({ ...base, issuedTimestamps: (ts) => ts === NOW + 50, reply: { server_timestamp: NOW + 50 } });
    expect([row.pingTimeMs, row.serverTimestamp]).toEqual([0, NOW + 50]);
  });

  it('accepts an RTT the connection already measured', () => {
    const { issuedTimestamps: _, ...rest } = base;
    const measured = pingRow({ ...rest, rttMs: 312, reply: { server_timestamp: ISSUED } });
    expect([measured.pingTimeMs, measured.serverTimestamp]).toEqual([312, ISSUED]);
    const unknown = pingRow({ ...rest, rttMs: null, reply: { server_timestamp: ISSUED } });
    expect([unknown.pingTimeMs, unknown.serverTimestamp]).toEqual([0, null]);
  });

  it('no monitoring and no auth: zeros, empty client ip, null client timestamp', () => {
    const row = pingRow({ ...base, reply: {} });
    expect(row).toMatchObject({
      clientIp: '',
      clientTimestamp: null,
      pingTimeMs: 0,
      totalMemory: 0,
      memoryUsage: 0,
      memoryPercent: 0,
      messageQueueSize: 0,
      activeRooms: 0,
    });
  });

  it('wrong member types count as absent; out-of-range values are clamped to the column', () => {
    const row = pingRow({
      ...base,
      reply: {
        monitoring: { total_memory: '512', memory_usage: 1e12, memory_percent: 123456, active_rooms: -3 },
        auth: { ipAddress: 7, timestamp: 1e20 },
      },
    });
    expect(row).toMatchObject({
      clientIp: '',
      clientTimestamp: null,
      totalMemory: 0,
      memoryUsage: 99_999_999,
      memoryPercent: 999.99,
      activeRooms: 0,
    });
  });
});
