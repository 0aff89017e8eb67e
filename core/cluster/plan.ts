/**
 * The handover plan of one instance for one cycle: from the live instances (rendezvous
 * hashing) and the hubs it holds, which leases to release and which to try to acquire.
 * Order (ClusterNode.cycle): renew what is held, then release (stop publishing first, then
 * the release statement), then acquire; a hub acquired is restored (limits) and RESYNCed
 * before its first publish. A hub wanted but still leased by another instance is simply
 * tried again next cycle: PostgreSQL refuses it until that lease is released or expired.
 */
import { ownerOf } from './rendezvous';

export interface HandoverInput {
  self: string;
  /** Instances whose membership has not expired (self included when its heartbeat is current). */
  live: Iterable<string>;
  /** Every hub of the fleet. */
  hubs: Iterable<string>;
  /** Hubs this instance holds a lease for. */
  held: Iterable<string>;
}

export interface HandoverPlan {
  /** Held hubs that belong to another live instance now: stop publishing, then release. */
  release: string[];
  /** Hubs that belong to this instance and are not held: try to acquire. */
  acquire: string[];
  /** Hubs held and still this instance's: renewed. */
  keep: string[];
}

export function planHandover(input: HandoverInput): HandoverPlan {
  const live = [...new Set(input.live)];
  const selfLive = live.includes(input.self);
  const held = new Set(input.held);
  const release: string[] = [];
  const acquire: string[] = [];
  const keep: string[] = [];
  const seen = new Set<string>();
  for (const hubId of input.hubs) {
    if (seen.has(hubId)) continue;
    seen.add(hubId);
    const owner = ownerOf(hubId, live);
    if (held.has(hubId)) {
      // Released only to another live instance: with no one else to take it, keep it.
      if (owner !== undefined && owner !== input.self) release.push(hubId);
      else keep.push(hubId);
    } else if (selfLive && owner === input.self) {
      acquire.push(hubId);
    }
  }
  // Held hubs no longer in the fleet are released.
  for (const hubId of held) if (!seen.has(hubId)) release.push(hubId);
  return { release, acquire, keep };
}
