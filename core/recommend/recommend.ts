/**
 * Recommendation: where should a vehicle charge to be charged soonest?
 *
 * For every candidate node of every available hub: distance (haversine), reachability
 * with the remaining range, SoC on arrival, the power the vehicle would actually get
 * (`whatIf` of the DLM allocator with the vehicle added to the nodes in use there), drive,
 * wait and charge time. Hubs are ranked by total time until charged (then distance, hubId,
 * nodeId); each hub appears once, with its best node.
 *
 * Definitions and choices (documented here, used by the tests):
 * - Range (km) = battery_level/100 × capacity / consumption × (1 − safetyMargin); a hub is
 *   reachable iff distance ≤ range (and ≤ maxDistanceKm when set). Unreachable hubs are
 *   never recommended.
 * - Arrival SoC = battery_level − distance × consumption / capacity × 100.
 * - The vehicle is critical iff priority or arrival SoC < criticalSoc.
 * - A node is a candidate iff its hub is available and it is neither faulted nor in
 *   maintenance (and has max power > 0). A node is busy iff it is charging, full or
 *   occupied; free otherwise (idle and not occupied).
 * - Nodes drawing power at a hub (the `whatIf` input) are the DLM's active nodes: not
 *   faulted, not in maintenance, and charging or occupied (a vehicle waiting to start is
 *   counted, conservatively). Full nodes draw nothing and are left out.
 * - A hub with a free node offers only its free nodes (wait 0). A hub without one offers
 *   its busy nodes with a known expected end (the vehicle takes that node over when the
 *   session ends: `whatIf` replaces it); if no busy node has a known end, all busy nodes
 *   with a conservative `unknownEndWaitMin` (default 60 min).
 * - Wait is counted from arrival: wait = max(0, (expectedEnd − now) − drive time). The
 *   driver drives while the session there ends, so total = drive + wait + charge is the
 *   time from now until charged. (A vehicle at the hub waits until the expected end.)
 * - Charge time = (target − arrival SoC)/100 × capacity / power, at the power the vehicle
 *   gets on arrival (no taper over the session). Power 0 (or so small that the time is not
 *   finite) → not a candidate.
 * - All values are computed unrounded; only the output is rounded (2 decimals).
 *
 * Pruning (same answer as the exhaustive search, property-tested): distances first, only
 * reachable hubs are looked at; a lower bound of each hub's total time (drive + smallest
 * wait + charge at min(nameplate, capacity)) orders them, and hubs whose bound exceeds the
 * k-th best total found so far are not evaluated. The bound is computed with the same
 * floating-point operations as the total, so bound ≤ total holds exactly.
 *
 * Modules: geo (distance, range), context (the request with defaults), candidates (which
 * nodes, until when free; a hub's lower bound), timing (drive/wait/charge), what-if (a hub's
 * numbers, the power at a node, the order, a hub's best node), rank (top k, the heap of
 * bounds, output); this file runs the search.
 */
import { candidates, hasCandidate, hubLowerBound } from './candidates';
import { DEFAULT_UNKNOWN_END_WAIT_MIN, makeCtx, normalise } from './context';
import { haversineKm, rangeKm } from './geo';
import { insertTop, siftDown, toRecommendation } from './rank';
import { arrivalSocOf, driveMinOf, needKwhOf } from './timing';
import { bestOfHub, capUpperKwOf, cmpScored, makeEval, type Scored } from './what-if';
import type { RecConfig, RecHub, RecRequest, RecResult } from './types';

export const DEFAULT_REC_CONFIG: RecConfig = {
  consumptionKwhPerKm: 0.18,
  safetyMargin: 0.1,
  averageSpeedKmh: 50,
  criticalSoc: 20,
  alloc: { policy: 'equal', reserve: 0 },
  unknownEndWaitMin: DEFAULT_UNKNOWN_END_WAIT_MIN,
};

function run(
  hubs: readonly RecHub[],
  req: RecRequest,
  cfg: RecConfig,
  nowMs: number,
  prune: boolean,
): RecResult {
  const q = normalise(req);
  const range = rangeKm(q.battery, q.capacityKwh, cfg);
  const radius = cfg.maxDistanceKm;
  const reach = radius !== undefined && radius < range ? radius : range;
  const c = makeCtx(q, cfg, nowMs);

  // Pass 1: distances; for reachable hubs with a candidate, a lower bound of their total
  // time (kept in typed arrays: nothing is allocated per hub here).
  const dist = new Float64Array(hubs.length);
  const lb = new Float64Array(hubs.length);
  const heap = new Int32Array(hubs.length);
  let n = 0;
  let nearestKm = Infinity;
  for (let i = 0; i < hubs.length; i++) {
    const hub = hubs[i] as RecHub;
    if (!hub.available) continue;
    const d = haversineKm(q.lat, q.lon, hub.latitude, hub.longitude);
    dist[i] = d;
    if (!(d <= reach)) {
      // Only for the reason: the nearest available hub with a usable node.
      if (d < nearestKm && hasCandidate(hub)) nearestKm = d;
      continue;
    }
    const driveMin = driveMinOf(d, c);
    const bound = hubLowerBound(
      hub,
      driveMin,
      needKwhOf(arrivalSocOf(d, c), c),
      capUpperKwOf(hub, c),
      nowMs,
      c.unknownEndWaitMin,
    );
    if (Number.isNaN(bound)) continue; // no candidate
    lb[i] = bound;
    heap[n++] = i;
    if (d < nearestKm) nearestKm = d;
  }
  const reachable = n;

  if (reachable === 0) {
    if (nearestKm === Infinity) return { ok: false, reason: 'no available hub' };
    const radiusText =
      radius !== undefined && radius < range ? `, search radius ${radius.toFixed(1)} km` : '';
    return {
      ok: false,
      reason: `no hub within reach (nearest is ${nearestKm.toFixed(1)} km, range ${range.toFixed(1)} km${radiusText})`,
    };
  }

  let top: Scored[] = [];
  if (prune) {
    // Hubs in ascending bound order (a heap: usually only a few are taken out); stop when
    // the smallest bound left cannot beat the k-th best total found.
    for (let i = (n >>> 1) - 1; i >= 0; i--) siftDown(heap, lb, i, n);
    while (n > 0) {
      const i = heap[0] as number;
      const threshold = top.length === q.k ? (top[q.k - 1] as Scored).totalMin : Infinity;
      if ((lb[i] as number) > threshold) break; // every hub left has a bound at least as large
      n--;
      heap[0] = heap[n] as number;
      siftDown(heap, lb, 0, n);
      const hub = hubs[i] as RecHub;
      const s = bestOfHub(
        makeEval(hub, dist[i] as number, c),
        candidates(hub, nowMs, c.unknownEndWaitMin),
        cfg,
        true,
        threshold,
      );
      if (s !== null) insertTop(top, s, q.k);
    }
  } else {
    const all: Scored[] = [];
    for (let j = 0; j < n; j++) {
      const i = heap[j] as number;
      const hub = hubs[i] as RecHub;
      const s = bestOfHub(
        makeEval(hub, dist[i] as number, c),
        candidates(hub, nowMs, c.unknownEndWaitMin),
        cfg,
        false,
        Infinity,
      );
      if (s !== null) all.push(s);
    }
    all.sort(cmpScored);
    top = all.slice(0, q.k);
  }

  const first = top[0];
  if (first === undefined) {
    return {
      ok: false,
      reason: `no reachable hub can deliver power now (${reachable} reachable hub${reachable === 1 ? '' : 's'})`,
    };
  }
  return {
    ok: true,
    best: toRecommendation(first, q.target),
    alternatives: top.slice(1).map((s) => toRecommendation(s, q.target)),
  };
}

/** Ranked recommendations for `req` (validate it first with validateRecRequest). Pure. */
export function recommend(
  hubs: readonly RecHub[],
  req: RecRequest,
  cfg: RecConfig,
  nowMs: number,
): RecResult {
  return run(hubs, req, cfg, nowMs, true);
}

/** The same answer as `recommend`, by evaluating every reachable candidate (reference for tests and benchmarks). */
export function recommendExhaustive(
  hubs: readonly RecHub[],
  req: RecRequest,
  cfg: RecConfig,
  nowMs: number,
): RecResult {
  return run(hubs, req, cfg, nowMs, false);
}
