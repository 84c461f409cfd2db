import { decodeLine, parseEnvelope, splitV33 } from '../protocol/index.js';

/**
 * PROTOCOL §2.1 [WIRE], §5.3.1 [REC], §6.5: a phone flushes its offline queue right behind (v3.2.2)
 * or even before (v3.3.x) its handshake. Such a line — an enveloped packet other than `handshake`
 * (chat: `analyze`, `message`; also a re-queued ping reply, §6.5), in either framing — is held by a
 * connection that has not handshaken yet, and processed once the handshake is done (a ping reply
 * then counts without an RTT, §7.11). Anything else before the handshake still closes it (§2.4).
 */
export function isHoldableBeforeHandshake(line: Buffer): boolean {
  let decoded = decodeLine(line);
  if (decoded.kind === 'bad-json') {
    // PROTOCOL §5.1: a v3.3 line is a JSON header followed by a raw payload.
    const { header, payload } = splitV33(line.toString('utf8'));
    if (payload === '') return false;
    decoded = decodeLine(Buffer.from(header, 'utf8'));
  }
  if (decoded.kind !== 'object') return false;
  const envelope = parseEnvelope(decoded.value);
  return envelope.ok && envelope.event !== 'handshake';
}
