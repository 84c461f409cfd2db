import type { ChatMessage } from './job.js';

/**
 * The durable mailbox (DESIGN.md §2 "Durable mailbox"), as a port: an accepted message is
 * appended before the dispatcher sees it and finished when its job ends; on start the unfinished
 * ones are read back for replay. SQLite and MySQL implement it now (src/infra/inbox); a NATS
 * JetStream one (several gateways sharing work) can follow without touching the actors.
 *
 * `append`, `replied` and `finish` only buffer (they run on the message path and must stay
 * cheap); `flush` writes everything buffered in one transaction, in call order.
 */

export type InboxStatus = 'processed' | 'failed' | 'expired';

/** The de-duplication identity of a stored message (PROTOCOL §4.1 [REC]). */
export interface InboxKey {
  botName: string;
  deviceId: string;
  channelId: string | null;
  logId: string | null;
  receivedAt: number;
}

/** An unfinished message read back at start, and how many of its replies had been written. */
export interface UnfinishedMessage {
  message: ChatMessage;
  /** replies written to the phone before the restart; a replay does not send them again */
  repliesWritten: number;
}

export interface Inbox {
  /** Buffers an accepted message; durable once the next `flush` has settled. */
  append(message: ChatMessage): void;
  /**
   * Buffers how many replies of an unfinished message have been written so far (a handler that
   * answers, then keeps working): a replay after a crash skips that many.
   */
  replied(traceId: string, count: number): void;
  /** Buffers the end of a message's job. */
  finish(traceId: string, status: InboxStatus, at: number): void;
  /** Operations buffered and not yet written. */
  readonly buffered: number;
  /** Writes the buffered operations in one transaction (synchronous stores return void). */
  flush(): void | Promise<void>;
  /** Unfinished messages in the order they were appended (so per-room order holds). */
  unfinished(): Promise<UnfinishedMessage[]>;
  /** Keys of messages received at or after `since`, finished or not. */
  recent(since: number): Promise<InboxKey[]>;
  /** Deletes messages finished before `before`; returns how many. */
  prune(before: number): Promise<number>;
  /** Creates our table if missing (`msgbot_inbox`; never touches the kb_* tables). */
  migrate(): Promise<void>;
  close(): Promise<void>;
}
