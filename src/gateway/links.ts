import type { OutboundLink } from '../actors/outbound.js';
import type { OutgoingReply } from '../protocol/index.js';
import type { LiveRegistry } from './live-info.js';

/**
 * The outbound paths' way to a phone (DESIGN.md §2): the connection that holds a key now, as an
 * OutboundLink, one per registry entry (the paths ask on every send).
 */
export class ConnectionLinks {
  private readonly links = new WeakMap<object, OutboundLink>();

  constructor(
    private readonly registry: LiveRegistry,
    /** told of every reply written to a phone */
    private readonly onDelivered?: (reply: OutgoingReply, key: string) => void,
  ) {}

  /** The connection holding `key`, for its outbound path; undefined while the phone is away. */
  of(key: string): OutboundLink | undefined {
    const entry = this.registry.get(key);
    if (entry === undefined) return undefined;
    let link = this.links.get(entry);
    if (link === undefined) {
      const ref = entry.ref;
      const registry = this.registry;
      const onDelivered = this.onDelivered;
      link = {
        get standing() {
          return entry.info.standing;
        },
        deliver: (reply, event) => {
          if (registry.get(key)?.ref !== ref) return false;
          entry.info.repliesOut++;
          ref.send({ type: 'DELIVER', reply, event });
          onDelivered?.(reply, key);
          return true;
        },
      };
      this.links.set(entry, link);
    }
    return link;
  }
}
