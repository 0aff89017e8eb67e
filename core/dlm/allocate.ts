/**
 * Per-hub DLM allocation: class-ordered weighted water-filling with optional floors.
 *
 * C = maxGridCapacityKw × (1 − reserve). Classes are served in order (critical, then
 * normal); inside a class each node gets a_i = clamp(w_i·λ, f_i, d_i) (f_i = floor,
 * d_i = demand) with λ raised until the class's budget or its demand is used up; what a
 * class does not use flows to the next. λ is found exactly: the breakpoints f_i/w_i and
 * d_i/w_i are sorted once and the segment holding λ is found by binary search, then λ is
 * solved in closed form on that segment (O(n log n), no epsilon iteration).
 *
 * Floors: inside a class, when the floors of its nodes do not all fit in the class's
 * budget, nodes are admitted in priority order (highest weight first, then nodeId
 * ascending) as long as their floor fits; the others are deferred (limit 0). This is the
 * same as deferring the lowest-priority floored nodes until the rest fit and then
 * re-admitting any deferred node whose floor still fits. Nodes without a floor are never
 * deferred for floor reasons (they may still get 0 when their class gets nothing).
 * Normal nodes never take capacity from critical ones: a normal node's floor only
 * competes for what the critical class left.
 *
 * Choices documented here:
 * - soc-priority weight = max(1, 100 − soc); an unknown SoC (null) counts as 50 % (weight 50).
 * - A floor above the node's demand is lowered to the demand (0 ≤ a ≤ demand always holds).
 * - Non-finite or negative numbers count as 0; reserve is clamped to 0..1.
 * - `deferred` is true for every node that wants power (demand > 0) but gets 0.
 * - Duplicate nodeIds throw a RangeError (the result could not be order-independent).
 * - With `resolutionKw` (the wire's 0.001 kW) every limit is rounded down to it and the steps
 *   lost are given back to nodes that can take them (critical first, then by nodeId), so the
 *   limits are exactly what goes on the wire and Σ stays ≤ C (see quantize.ts).
 */
import { quantizeLimits } from './quantize';
import type { AllocClass, AllocConfig, AllocInput, AllocResult, NodeAllocation, Policy } from './types';

/** SoC assumed for the weight of a vehicle whose SoC is unknown. */
export const UNKNOWN_SOC_WEIGHT_BASIS = 50;

function nonNeg(x: number | undefined): number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Water-filling weight of a node under a policy. */
export function allocationWeight(policy: Policy, soc: number | null): number {
  if (policy === 'equal') return 1;
  const s = soc === null || !Number.isFinite(soc) ? UNKNOWN_SOC_WEIGHT_BASIS : clamp(soc, 0, 100);
  return Math.max(1, 100 - s);
}

/** Demand after the optional taper near full: min(maxPowerKw, demandKw ?? maxPowerKw, taper). */
export function effectiveDemandKw(node: AllocInput, cfg: AllocConfig): number {
  const max = nonNeg(node.maxPowerKw);
  let d = node.demandKw === undefined ? max : Math.min(max, nonNeg(node.demandKw));
  const t = cfg.taper;
  if (t && node.soc !== null && Number.isFinite(node.soc) && Number.isFinite(t.fromSoc)) {
    const from = clamp(t.fromSoc, 0, 100);
    const soc = clamp(node.soc, 0, 100);
    if (from < 100 && soc > from) {
      const minFraction = Number.isFinite(t.minFraction) ? clamp(t.minFraction, 0, 1) : 1;
      const fraction = 1 - ((1 - minFraction) * (soc - from)) / (100 - from);
      d = Math.min(d, max * fraction);
    }
  }
  return d;
}

interface Prepared {
  nodeId: string;
  demand: number;
  floor: number;
  weight: number;
  cls: AllocClass;
  /** Position in the nodeId-sorted output. */
  index: number;
}

function byNodeId(a: { nodeId: string }, b: { nodeId: string }): number {
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
}

/** Higher priority first: larger weight, then nodeId ascending. */
function byPriority(a: Prepared, b: Prepared): number {
  return b.weight - a.weight || byNodeId(a, b);
}

/**
 * Weighted water-filling with floors over `items` (all with demand > 0, floor ≤ demand,
 * Σ floor ≤ budget). Writes a_i into out[item.index]; returns Σ a_i.
 */
function waterFill(items: Prepared[], budget: number, out: Float64Array): number {
  const n = items.length;
  if (n === 0) return 0;
  let sumDemand = 0;
  for (const it of items) sumDemand += it.demand;
  if (sumDemand <= budget) {
    for (const it of items) out[it.index] = it.demand;
    return sumDemand;
  }
  // Breakpoints of S(λ) = Σ clamp(w·λ, f, d): 0, f_i/w_i, d_i/w_i.
  const rise = new Float64Array(n);
  const sat = new Float64Array(n);
  const bp = new Float64Array(2 * n + 1);
  for (let i = 0; i < n; i++) {
    const it = items[i] as Prepared;
    rise[i] = it.floor / it.weight;
    sat[i] = it.demand / it.weight;
    bp[2 * i] = rise[i] as number;
    bp[2 * i + 1] = sat[i] as number;
  }
  bp[2 * n] = 0;
  bp.sort();
  const total = (lambda: number): number => {
    let s = 0;
    for (const it of items) {
      const a = it.weight * lambda;
      s += a < it.floor ? it.floor : a > it.demand ? it.demand : a;
    }
    return s;
  };
  // Largest k with S(bp[k]) ≤ budget. S(bp[0] = 0) = Σ floor ≤ budget; S(bp[last]) = Σ demand > budget.
  let lo = 0;
  let hi = bp.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (total(bp[mid] as number) <= budget) lo = mid;
    else hi = mid;
  }
  const left = bp[lo] as number;
  const right = bp[hi] as number;
  // On the open segment (left, right) every node is at its floor, free, or saturated.
  let fixed = 0;
  let freeWeight = 0;
  for (let i = 0; i < n; i++) {
    const it = items[i] as Prepared;
    if ((rise[i] as number) >= right) fixed += it.floor;
    else if ((sat[i] as number) <= left) fixed += it.demand;
    else freeWeight += it.weight;
  }
  const lambda = freeWeight > 0 ? clamp((budget - fixed) / freeWeight, left, right) : left;
  // Fixed nodes get their floor/demand; free nodes w·λ, except the last free one, which
  // takes exactly what is left so rounding never pushes the sum over the budget.
  let lastFree = -1;
  let freeSum = 0;
  for (let i = 0; i < n; i++) {
    const it = items[i] as Prepared;
    let a: number;
    if ((rise[i] as number) >= right) a = it.floor;
    else if ((sat[i] as number) <= left) a = it.demand;
    else {
      a = clamp(it.weight * lambda, it.floor, it.demand);
      lastFree = i;
      freeSum += a;
    }
    out[it.index] = a;
  }
  if (lastFree >= 0) {
    const it = items[lastFree] as Prepared;
    const others = freeSum - (out[it.index] as number);
    out[it.index] = clamp(budget - fixed - others, it.floor, it.demand);
  }
  let sum = 0;
  for (const it of items) sum += out[it.index] as number;
  return sum;
}

/** Allocates the hub's capacity over its active nodes. Output is independent of input order. */
export function allocate(
  maxGridCapacityKw: number,
  nodes: readonly AllocInput[],
  cfg: AllocConfig,
): AllocResult {
  const reserve = Number.isFinite(cfg.reserve) ? clamp(cfg.reserve, 0, 1) : 0;
  const capacityKw = nonNeg(maxGridCapacityKw) * (1 - reserve);
  let inOrder = true;
  for (let i = 1; i < nodes.length && inOrder; i++) {
    inOrder = (nodes[i - 1] as AllocInput).nodeId < (nodes[i] as AllocInput).nodeId;
  }
  const sorted = inOrder ? nodes : nodes.slice().sort(byNodeId);
  const prepared: Prepared[] = new Array<Prepared>(sorted.length);
  const critical: Prepared[] = [];
  const normal: Prepared[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const node = sorted[i] as AllocInput;
    if (i > 0 && (sorted[i - 1] as AllocInput).nodeId === node.nodeId) {
      throw new RangeError(`allocate: duplicate nodeId '${node.nodeId}'`);
    }
    const demand = effectiveDemandKw(node, cfg);
    const p: Prepared = {
      nodeId: node.nodeId,
      demand,
      floor: Math.min(nonNeg(node.minPowerKw), demand),
      weight: allocationWeight(cfg.policy, node.soc),
      cls: node.critical ? 'critical' : 'normal',
      index: i,
    };
    prepared[i] = p;
    if (demand > 0) (node.critical ? critical : normal).push(p);
  }
  const limits = new Float64Array(sorted.length);
  let remaining = capacityKw;
  for (const cls of [critical, normal]) {
    let floors = 0;
    for (const p of cls) floors += p.floor;
    let admitted = cls;
    if (floors > remaining) {
      admitted = [];
      let used = 0;
      for (const p of cls.slice().sort(byPriority)) {
        if (p.floor === 0 || used + p.floor <= remaining) {
          admitted.push(p);
          used += p.floor;
        }
      }
    }
    const given = waterFill(admitted, remaining, limits);
    remaining = Math.max(0, remaining - given);
  }
  const res = cfg.resolutionKw;
  if (res !== undefined && Number.isFinite(res) && res > 0) {
    quantizeLimits(
      limits,
      prepared.map((p) => p.demand),
      prepared.map((p) => p.cls === 'critical'),
      capacityKw,
      res,
    );
  }
  let totalKw = 0;
  const allocations: NodeAllocation[] = new Array<NodeAllocation>(sorted.length);
  for (let i = 0; i < prepared.length; i++) {
    const p = prepared[i] as Prepared;
    const limitKw = limits[i] as number;
    totalKw += limitKw;
    allocations[i] = {
      nodeId: p.nodeId,
      limitKw,
      cls: p.cls,
      weight: p.weight,
      deferred: p.demand > 0 && limitKw === 0,
    };
  }
  return { capacityKw, totalKw, allocations };
}

/**
 * The power `candidate` would get if it were added to `nodes` (a node with the same
 * nodeId is replaced by the candidate). Runs `allocate` itself.
 */
export function whatIf(
  maxGridCapacityKw: number,
  nodes: readonly AllocInput[],
  candidate: AllocInput,
  cfg: AllocConfig,
): number {
  const all = nodes.filter((n) => n.nodeId !== candidate.nodeId);
  all.push(candidate);
  const result = allocate(maxGridCapacityKw, all, cfg);
  const mine = result.allocations.find((a) => a.nodeId === candidate.nodeId);
  return mine ? mine.limitKw : 0;
}
