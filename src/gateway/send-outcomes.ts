import type { SendFailureReason, SendKind, SendOutcome } from '../actors/send.js';

/** What `GET /messages/<id>` answers: the send as accepted, and its outcome once there is one. */
export interface SendRecord {
  id: string;
  kind: SendKind;
  botName: string;
  channelId: string;
  /** the phone it goes to, once known */
  deviceId?: string;
  status: 'queued' | 'delivered' | 'failed';
  reason?: SendFailureReason;
  detail?: string;
  /** epoch ms */
  acceptedAt: number;
  /** epoch ms of the outcome */
  at?: number;
}

/**
 * The outcomes of recent sends by id, bounded (outbound.maxOutcomes): beyond the bound the oldest
 * accepted is forgotten, so a flood of API sends cannot grow memory.
 */
export class SendOutcomes {
  private readonly byId = new Map<string, SendRecord>();

  constructor(private readonly max: number) {}

  add(record: SendRecord): void {
    this.byId.set(record.id, record);
    if (this.byId.size > this.max) {
      const oldest = this.byId.keys().next();
      if (!oldest.done) this.byId.delete(oldest.value);
    }
  }

  /** The phone a send goes to, once the front has resolved it. */
  setDevice(id: string, deviceId: string): void {
    const record = this.byId.get(id);
    if (record !== undefined) record.deviceId = deviceId;
  }

  settle(outcome: SendOutcome): void {
    const record = this.byId.get(outcome.id);
    if (record === undefined) return;
    record.status = outcome.status;
    record.at = outcome.at;
    if (outcome.status === 'delivered') record.deviceId = outcome.deviceId;
    else {
      record.reason = outcome.reason;
      if (outcome.detail !== undefined) record.detail = outcome.detail;
    }
  }

  get(id: string): SendRecord | undefined {
    const record = this.byId.get(id);
    return record === undefined ? undefined : { ...record };
  }

  get size(): number {
    return this.byId.size;
  }
}
