/** The wire protocol (PROTOCOL.md), pure: no I/O, no timers, no logging. */
export { type DecodedLine, decodeLine } from './decode.js';
export {
  encodeLine,
  type Framing,
  handshakeCompleteLine,
  messageResponseLine,
  type OutgoingReply,
  pingLine,
} from './encode.js';
export { LineFramer, type PushResult } from './framer.js';
export {
  type AuthFailure,
  type AuthVerdict,
  type HmacKeys,
  type SignedFields,
  sign,
  signingString,
  verifyAuth,
} from './hmac.js';
export {
  type AnalyzeData,
  type Auth,
  analyzeDataSchema,
  authSchema,
  type Envelope,
  type EnvelopeResult,
  envelopeSchema,
  type Handshake,
  type HandshakeCompleteData,
  type HandshakeResult,
  handshakeCompleteDataSchema,
  type MessageResponseData,
  type Monitoring,
  messageResponseDataSchema,
  type ParseResult,
  type PingReplyData,
  parseAnalyze,
  parseEnvelope,
  parseHandshake,
  pingReplyDataSchema,
  type ServerPingData,
  serverPingDataSchema,
  textLength,
  truncateText,
} from './schemas.js';
export { isoMicros, isoToKst, kstDateTime } from './time.js';
export { decodeV33Message, splitV33 } from './v33.js';
