// Which nodes of a hub a vehicle could take, and how long until each is free; the lower bound
// of a hub's total time from the same classes of nodes (without building them).
import { chargeMin, totalMin, waitMin } from './timing';
import type { RecHub, RecNode } from './types';

/** x when it is a finite number above 0, else 0 (a power that is missing or broken counts as 0). */
export function positive(x: number | undefined): number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0;
}

/** Neither faulted nor in maintenance, with a max power above 0. */
export function usable(n: RecNode): boolean {
  return n.state !== 'faulted' && !n.maintenance && positive(n.maxPowerKw) > 0;
}

export function busy(n: RecNode): boolean {
  return n.state === 'charging' || n.state === 'full' || n.occupied;
}

/** Draws power in the allocation (the DLM's active nodes). */
export function drawing(n: RecNode): boolean {
  return (
    n.state !== 'faulted' && n.state !== 'full' && !n.maintenance && (n.state === 'charging' || n.occupied)
  );
}

export function hasCandidate(hub: RecHub): boolean {
  for (const n of hub.nodes) if (usable(n)) return true;
  return false;
}

/** A candidate node and the minutes from now until it is free. */
export interface Cand {
  node: RecNode;
  untilFreeMin: number;
}

/** Candidates of a hub (empty when it has none). */
export function candidates(hub: RecHub, nowMs: number, unknownEndWaitMin: number): Cand[] {
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
export function hubLowerBound(
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
