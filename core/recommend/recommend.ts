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
 */
import { whatIf } from '../dlm/allocate';
import type { AllocInput } from '../dlm/types';
import { DEFAULT_BATTERY_CAPACITY_KWH, DEFAULT_LIMIT, DEFAULT_TARGET_SOC, MAX_LIMIT } from './validate';
import type { RecConfig, RecHub, RecNode, RecRequest, RecResult, Recommendation } from './types';

/** Mean Earth radius (IUGG), km. */
export const EARTH_RADIUS_KM = 6371.0088;
/** Wait assumed for a busy node whose session end is unknown, when nothing better is known. */
export const DEFAULT_UNKNOWN_END_WAIT_MIN = 60;

export const DEFAULT_REC_CONFIG: RecConfig = {
  consumptionKwhPerKm: 0.18,
  safetyMargin: 0.1,
  averageSpeedKmh: 50,
  criticalSoc: 20,
  alloc: { policy: 'equal', reserve: 0 },
  unknownEndWaitMin: DEFAULT_UNKNOWN_END_WAIT_MIN,
};

const DEG = Math.PI / 180;

/** Great-circle distance in km (haversine, Earth radius 6371.0088 km). */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * DEG;
  const dLon = (lon2 - lon1) * DEG;
  const s1 = Math.sin(dLat / 2);
  const s2 = Math.sin(dLon / 2);
  const a = s1 * s1 + Math.cos(lat1 * DEG) * Math.cos(lat2 * DEG) * s2 * s2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Remaining range in km with the safety margin applied. */
export function rangeKm(batteryLevel: number, capacityKwh: number, cfg: RecConfig): number {
  const margin = Math.min(1, Math.max(0, cfg.safetyMargin));
  return (((batteryLevel / 100) * capacityKwh) / cfg.consumptionKwhPerKm) * (1 - margin);
}

/** The request with defaults applied (see validateRecRequest). */
interface Norm {
  lat: number;
  lon: number;
  battery: number;
  target: number;
  capacityKwh: number;
  /** Number of hubs returned: 1 + alternatives. */
  k: number;
  priority: boolean;
}

function normalise(req: RecRequest): Norm {
  const target = req.target_soc ?? (req.battery_level >= DEFAULT_TARGET_SOC ? 100 : DEFAULT_TARGET_SOC);
  const limit = req.limit ?? DEFAULT_LIMIT;
  const alternatives = Number.isFinite(limit)
    ? Math.min(MAX_LIMIT, Math.max(0, Math.floor(limit)))
    : DEFAULT_LIMIT;
  return {
    lat: req.latitude,
    lon: req.longitude,
    battery: req.battery_level,
    target,
    capacityKwh: req.battery_capacity_kwh ?? DEFAULT_BATTERY_CAPACITY_KWH,
    k: alternatives + 1,
    priority: req.priority === true,
  };
}

function positive(x: number | undefined): number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0;
}

function usable(n: RecNode): boolean {
  return n.state !== 'faulted' && !n.maintenance && positive(n.maxPowerKw) > 0;
}

function busy(n: RecNode): boolean {
  return n.state === 'charging' || n.state === 'full' || n.occupied;
}

/** Draws power in the allocation (the DLM's active nodes). */
function drawing(n: RecNode): boolean {
  return (
    n.state !== 'faulted' && n.state !== 'full' && !n.maintenance && (n.state === 'charging' || n.occupied)
  );
}

/** A candidate node and the minutes from now until it is free. */
interface Cand {
  node: RecNode;
  untilFreeMin: number;
}

/** A reachable hub with its candidates and the numbers common to them. */
interface HubEval {
  hub: RecHub;
  distanceKm: number;
  driveMin: number;
  arrivalSoc: number;
  critical: boolean;
  needKwh: number;
  /** Upper bound of the power any vehicle can get at this hub (grid capacity, a hair above for float noise). */
  capUpperKw: number;
}

interface Scored {
  e: HubEval;
  node: RecNode;
  waitMin: number;
  chargeMin: number;
  totalMin: number;
  powerKw: number;
}

/** Candidates of a hub (empty when it has none). */
function candidates(hub: RecHub, nowMs: number, unknownEndWaitMin: number): Cand[] {
  const free: Cand[] = [];
  const known: Cand[] = [];
  const unknown: Cand[] = [];
  for (const n of hub.nodes) {
    if (!usable(n)) continue;
    if (!busy(n)) free.push({ node: n, untilFreeMin: 0 });
    else if (free.length === 0) {
      const end = n.expectedEndMs;
      if (end !== null && Number.isFinite(end))
        known.push({ node: n, untilFreeMin: Math.max(0, (end - nowMs) / 60000) });
      else if (known.length === 0) unknown.push({ node: n, untilFreeMin: unknownEndWaitMin });
    }
  }
  return free.length > 0 ? free : known.length > 0 ? known : unknown;
}

/**
 * Lower bound of the total time of every candidate of a hub, without building them: the
 * smallest wait and the largest power of the class of nodes `candidates` would offer.
 * NaN when the hub has no candidate.
 */
function hubLowerBound(
  hub: RecHub,
  driveMin: number,
  needKwh: number,
  capUpperKw: number,
  nowMs: number,
  unknownEndWaitMin: number,
): number {
  let freeMax = 0;
  let knownMax = 0;
  let knownUntil = Infinity;
  let unknownMax = 0;
  for (const n of hub.nodes) {
    if (!usable(n)) continue;
    const p = positive(n.maxPowerKw);
    if (!busy(n)) {
      if (p > freeMax) freeMax = p;
      continue;
    }
    const end = n.expectedEndMs;
    if (end !== null && Number.isFinite(end)) {
      if (p > knownMax) knownMax = p;
      const u = Math.max(0, (end - nowMs) / 60000);
      if (u < knownUntil) knownUntil = u;
    } else if (p > unknownMax) unknownMax = p;
  }
  let until: number;
  let maxKw: number;
  if (freeMax > 0) {
    until = 0;
    maxKw = freeMax;
  } else if (knownMax > 0) {
    until = knownUntil;
    maxKw = knownMax;
  } else if (unknownMax > 0) {
    until = unknownEndWaitMin;
    maxKw = unknownMax;
  } else return Number.NaN;
  return totalMin(driveMin, waitMin(until, driveMin), chargeMin(needKwh, Math.min(maxKw, capUpperKw)));
}

/** Binary min-heap of indices, keyed by key[index], in place over heap[0..n). */
function siftDown(heap: Int32Array, key: Float64Array, i: number, n: number): void {
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

function hasCandidate(hub: RecHub): boolean {
  for (const n of hub.nodes) if (usable(n)) return true;
  return false;
}

// The time formulas. Lower bounds use the very same operations (monotone in each input),
// so a bound is never above the value it bounds, not even by rounding.
function waitMin(untilFreeMin: number, driveMin: number): number {
  return Math.max(0, untilFreeMin - driveMin);
}
function chargeMin(needKwh: number, powerKw: number): number {
  return (needKwh / powerKw) * 60;
}
function totalMin(driveMin: number, wait: number, charge: number): number {
  return driveMin + wait + charge;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpScored(a: Scored, b: Scored): number {
  return (
    a.totalMin - b.totalMin ||
    a.e.distanceKm - b.e.distanceKm ||
    cmpStr(a.e.hub.hubId, b.e.hub.hubId) ||
    cmpStr(a.node.nodeId, b.node.nodeId)
  );
}

function nodeUpperKw(e: HubEval, n: RecNode): number {
  return Math.min(positive(n.maxPowerKw), e.capUpperKw);
}

function nodeLowerBound(e: HubEval, c: Cand): number {
  return totalMin(
    e.driveMin,
    waitMin(c.untilFreeMin, e.driveMin),
    chargeMin(e.needKwh, nodeUpperKw(e, c.node)),
  );
}

/**
 * Best node of a hub. With `prune`, nodes whose lower bound exceeds `threshold` (they
 * cannot enter the answer) or the hub's best so far are not evaluated.
 */
function bestOfHub(
  e: HubEval,
  cands: readonly Cand[],
  cfg: RecConfig,
  prune: boolean,
  threshold: number,
): Scored | null {
  let inUse: AllocInput[] | null = null;
  let best: Scored | null = null;
  for (const c of cands) {
    if (prune) {
      const lb = nodeLowerBound(e, c);
      if (lb > threshold || (best !== null && lb > best.totalMin)) continue;
    }
    if (inUse === null) {
      inUse = [];
      for (const n of e.hub.nodes) {
        if (!drawing(n)) continue;
        const a: AllocInput = {
          nodeId: n.nodeId,
          maxPowerKw: n.maxPowerKw,
          soc: n.vehicleSoc,
          critical: n.critical,
        };
        if (n.minPowerKw !== undefined) a.minPowerKw = n.minPowerKw;
        inUse.push(a);
      }
    }
    const me: AllocInput = {
      nodeId: c.node.nodeId,
      maxPowerKw: c.node.maxPowerKw,
      soc: e.arrivalSoc,
      critical: e.critical,
    };
    if (c.node.minPowerKw !== undefined) me.minPowerKw = c.node.minPowerKw;
    const powerKw = whatIf(e.hub.capacityKw, inUse, me, cfg.alloc);
    if (!(powerKw > 0)) continue;
    const w = waitMin(c.untilFreeMin, e.driveMin);
    const ch = chargeMin(e.needKwh, powerKw);
    const total = totalMin(e.driveMin, w, ch);
    if (!Number.isFinite(total)) continue; // a vanishingly small power never finishes
    const s: Scored = { e, node: c.node, waitMin: w, chargeMin: ch, totalMin: total, powerKw };
    if (best === null || cmpScored(s, best) < 0) best = s;
  }
  return best;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function toRecommendation(s: Scored, target: number): Recommendation {
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

/** Inserts s into the sorted list `top` of at most k entries. */
function insertTop(top: Scored[], s: Scored, k: number): void {
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

/** Per-request numbers shared by every hub. */
interface Ctx {
  q: Norm;
  cfg: RecConfig;
  nowMs: number;
  reserve: number;
  unknownEndWaitMin: number;
}

function driveMinOf(d: number, c: Ctx): number {
  return (d / c.cfg.averageSpeedKmh) * 60;
}
function arrivalSocOf(d: number, c: Ctx): number {
  return c.q.battery - ((d * c.cfg.consumptionKwhPerKm) / c.q.capacityKwh) * 100;
}
function needKwhOf(arrivalSoc: number, c: Ctx): number {
  return (Math.max(0, c.q.target - arrivalSoc) / 100) * c.q.capacityKwh;
}
function capUpperKwOf(hub: RecHub, c: Ctx): number {
  // allocate() gives at most C = capacity × (1 − reserve); the 1e-9 covers float noise.
  return positive(hub.capacityKw) * (1 - c.reserve) * (1 + 1e-9) + 1e-12;
}

function makeEval(hub: RecHub, d: number, c: Ctx): HubEval {
  const arrivalSoc = arrivalSocOf(d, c);
  return {
    hub,
    distanceKm: d,
    driveMin: driveMinOf(d, c),
    arrivalSoc,
    critical: c.q.priority || arrivalSoc < c.cfg.criticalSoc,
    needKwh: needKwhOf(arrivalSoc, c),
    capUpperKw: capUpperKwOf(hub, c),
  };
}

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
  const c: Ctx = {
    q,
    cfg,
    nowMs,
    reserve: Number.isFinite(cfg.alloc.reserve) ? Math.min(1, Math.max(0, cfg.alloc.reserve)) : 0,
    unknownEndWaitMin: cfg.unknownEndWaitMin ?? DEFAULT_UNKNOWN_END_WAIT_MIN,
  };

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
