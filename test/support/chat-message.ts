import type { ChatMessage } from '../../src/actors/job.js';

/** An accepted message number `n` (trace id, logId and receivedAt follow n). */
export function chat(n: number, over: Partial<ChatMessage> = {}): ChatMessage {
  return {
    traceId: `01TRACE${String(n).padStart(6, '0')}`,
    receivedAt: 1_721_800_000_000 + n,
    botName: 'demo-bot',
    deviceId: 'a1b2c3',
    packetBotName: 'demo-bot',
    room: 'Demo Room',
    channelId: '18234567890123456',
    logId: String(3301234567890123456n + BigInt(n)),
    text: `# echo ${n} 안녕`,
    sender: 'Alice',
    isGroupChat: true,
    isMention: false,
    userHash: null,
    timestamp: '2025-07-24 14:03:27',
    protocol: 'v3.2',
    legacyCallback: false,
    ...over,
  };
}
