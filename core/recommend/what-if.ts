// Evaluation of one reachable hub: the numbers common to its candidates, the power the vehicle
// would get at each (the DLM allocator's `whatIf` with the vehicle added to the nodes drawing
// power there), the order of scored candidates and the hub's best node.
import { whatIf } from '../dlm/allocate';
import type { AllocInput } from '../dlm/types';
import { drawing, positive, type Cand } from './candidates';
import type { Ctx } from './context';
import { arrivalSocOf, chargeMin, driveMinOf, needKwhOf, totalMin, waitMin } from './timing';
import type { RecConfig, RecHub, RecNode } from './types';

/** A reachable hub with the numbers common to its candidates. */
export interface HubEval {
  hub: RecHub;
  distanceKm: number;
  driveMin: number;
  arrivalSoc: number;
  critical: boolean;
  needKwh: number;
  /** Upper bound of the power any vehicle can get at this hub (grid capacity, a hair above for float noise). */
  capUpperKw: number;
}

/** A hub's node with its times and the power the vehicle would get there. */
export interface Scored {
  e: HubEval;
  node: RecNode;
  waitMin: number;
  chargeMin: number;
  totalMin: number;
  powerKw: number;
}

export function capUpperKwOf(hub: RecHub, c: Ctx): number {
  // allocate() gives at most C = capacity × (1 − reserve); the 1e-9 covers float noise.
  return positive(hub.capacityKw) * (1 - c.reserve) * (1 + 1e-9) + 1e-12;
}

export function makeEval(hub: RecHub, d: number, c: Ctx): HubEval {
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

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The ranking: total time, then distance, hubId, nodeId. */
export function cmpScored(a: Scored, b: Scored): number {
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
export function bestOfHub(
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
