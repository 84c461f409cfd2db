import type { ChatMessage } from '../actors/job.js';

/**
 * Which phone last relayed a message from a room, and the room's title then: where an API send
 * without a device goes, and the title it posts by (PROTOCOL §4.4). Bounded: beyond `max` rooms
 * the one not heard from for longest is forgotten.
 */
export class LastServed {
  private readonly byRoom = new Map<string, { deviceId: string; room: string }>();

  constructor(private readonly max: number) {}

  /** An accepted message from an approved device. */
  note(message: ChatMessage): void {
    if (message.channelId === null) return;
    const id = `${message.botName}\u0000${message.channelId}`;
    const known = this.byRoom.get(id);
    if (known !== undefined && known.deviceId === message.deviceId && known.room === message.room) return;
    this.byRoom.delete(id);
    this.byRoom.set(id, { deviceId: message.deviceId, room: message.room });
    if (this.byRoom.size > this.max) {
      const oldest = this.byRoom.keys().next();
      if (!oldest.done) this.byRoom.delete(oldest.value);
    }
  }

  of(botName: string, channelId: string): { deviceId: string; room: string } | undefined {
    return this.byRoom.get(`${botName}\u0000${channelId}`);
  }
}
