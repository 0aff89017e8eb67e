// The answer's list: the top k scored hubs in order, the min-heap of hubs by lower bound that
// drives the pruning, and the output form (rounded).
import { cmpScored, type Scored } from './what-if';
import type { Recommendation } from './types';

/** Inserts s into the sorted list `top` of at most k entries. */
export function insertTop(top: Scored[], s: Scored, k: number): void {
  if (top.length === k && cmpScored(s, top[k - 1] as Scored) >= 0) return;
  let i = top.length;
  if (i === k) i--;
  else top.push(s);
  while (i > 0 && cmpScored(s, top[i - 1] as Scored) < 0) {
    top[i] = top[i - 1] as Scored;
    i--;
  }
  top[i] = s;
}

/** Binary min-heap of indices, keyed by key[index], in place over heap[0..n). */
export function siftDown(heap: Int32Array, key: Float64Array, i: number, n: number): void {
  const x = heap[i] as number;
  const kx = key[x] as number;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && (key[heap[c + 1] as number] as number) < (key[heap[c] as number] as number)) c++;
    const hc = heap[c] as number;
    if ((key[hc] as number) >= kx) break;
    heap[i] = hc;
    i = c;
  }
  heap[i] = x;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function toRecommendation(s: Scored, target: number): Recommendation {
  const { e, node } = s;
  return {
    hub_id: e.hub.hubId,
    node_id: node.nodeId,
    hub_latitude: e.hub.latitude,
    hub_longitude: e.hub.longitude,
    distance_km: round2(e.distanceKm),
    estimated_wait_time_min: round2(s.waitMin),
    available_power_kw: round2(s.powerKw),
    drive_time_min: round2(e.driveMin),
    charge_time_min: round2(s.chargeMin),
    total_time_min: round2(s.totalMin),
    arrival_soc: round2(e.arrivalSoc),
    target_soc: target,
    reachable: true,
    nameplate_power_kw: node.maxPowerKw,
    critical: e.critical,
  };
}
