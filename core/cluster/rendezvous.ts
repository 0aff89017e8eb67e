/**
 * Rendezvous (highest random weight) hashing: a hub belongs to the live instance with the
 * highest score for the pair (instance, hub). Every instance computes the same answer from
 * the same live set, without talking to the others; when an instance joins, only the hubs it
 * now wins move (to it); when one leaves, only its hubs move (each to its runner-up).
 *
 * The score is a 53-bit hash (cyrb53) of `instanceId NUL hubId`. It is part of the protocol:
 * all instances of a cluster must run the same function, so it must never change (the tests
 * pin its values).
 */

/** cyrb53: 53-bit string hash (public domain, bryc), seed 0. */
function cyrb53(str: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Score of an instance for a hub (an integer in [0, 2^53)). */
export function rendezvousScore(instanceId: string, hubId: string): number {
  return cyrb53(`${instanceId}\u0000${hubId}`);
}

/** The instance a hub belongs to among `instances` (undefined when there is none). Ties: the smaller id. */
export function ownerOf(hubId: string, instances: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const id of instances) {
    const s = rendezvousScore(id, hubId);
    if (s > bestScore || (s === bestScore && best !== undefined && id < best)) {
      best = id;
      bestScore = s;
    }
  }
  return best;
}

/** Owner of every hub among `instances` (hubs map to undefined when `instances` is empty). */
export function assignHubs(
  hubIds: Iterable<string>,
  instances: Iterable<string>,
): Map<string, string | undefined> {
  const live = [...new Set(instances)];
  const out = new Map<string, string | undefined>();
  for (const h of hubIds) out.set(h, ownerOf(h, live));
  return out;
}
