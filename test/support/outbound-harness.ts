import { OutboundPaths } from '../../src/gateway/outbound-paths.js';
import type { ReplyPacket } from '../../src/handlers/runner.js';
import type { Clock } from '../../src/infra/clock.js';
import { silentLoggers } from '../../src/infra/logger.js';
import type { OutgoingReply } from '../../src/protocol/index.js';

/**
 * The runner's `send` through a real outbound path actor on `clock`, whose phone is always
 * connected and records each packet as it is written: the pacing the runner asks for
 * (ReplyPacket.gapMs) is what the tests observe.
 */
export function pathSender(clock: Clock, onWrite: (reply: OutgoingReply) => void, minGapMs = 1000) {
  const paths = new OutboundPaths({
    clock,
    idleMs: 60_000,
    minGapMs,
    link: () => ({
      standing: 'full',
      deliver: (reply) => {
        onWrite(reply);
        return true;
      },
    }),
    log: silentLoggers().root,
  });
  return (packets: readonly ReplyPacket[], signal?: AbortSignal): Promise<number> =>
    new Promise((resolve) => {
      let left = packets.length;
      let delivered = 0;
      paths.submit(
        'demo-bot',
        'a1b2c3',
        packets.map((p) => ({
          id: 'trace',
          kind: 'reply' as const,
          traceId: 'trace',
          roomKey: p.reply.channelId ?? p.reply.room,
          reply: p.reply,
          gapMs: p.gapMs,
          holdMs: 0,
          expiresAt: clock.now() + 600_000,
          signal,
          settle: (outcome) => {
            if (outcome.status === 'delivered') delivered++;
            if (--left === 0) resolve(delivered);
          },
        })),
      );
    });
}
