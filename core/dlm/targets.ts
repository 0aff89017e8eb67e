/**
 * The controller's targets (controller.ts): what the last allocation wants for each node of the
 * hub, and which changes toward it are due — hysteresis (a change with |new − published| <
 * minChangeKw is held back, never one to or from 0), the decreases `apply` sends at once, and
 * the increases in priority order (critical, larger weight, nodeId). Only decides; the
 * controller sends and the limit book keeps the accounts. Pure.
 */
import { floorToResolution } from './quantize';
import { CAPACITY_EPSILON_KW } from './send-rules';
import type { AllocClass, AllocResult, TriggerReason } from './types';

export interface Target {
  limitKw: number;
  cls: AllocClass;
  weight: number;
  /** The allocation that decided this change (an increase waiting for room keeps it). */
  reason: TriggerReason;
  allocationId: string;
  /** An increase that waits for room (not held by hysteresis). */
  waiting: boolean;
}

/** What the targets need of the limit book: the nodes it knows and their published limits. */
export interface PublishedLimits {
  ids(): Iterable<string>;
  published(nodeId: string): number;
}

const CLASS_RANK: Record<AllocClass, number> = { critical: 0, normal: 1 };

/** Held back by hysteresis: a small change, neither to nor from 0. */
export function isHysteresisHold(published: number, next: number, minChangeKw: number): boolean {
  return published !== 0 && next !== 0 && Math.abs(next - published) < minChangeKw;
}

/** An increase of the target over what is published, not held back by hysteresis. */
export function isIncrease(limitKw: number, published: number, minChangeKw: number): boolean {
  return limitKw > published && !isHysteresisHold(published, limitKw, minChangeKw);
}

/**
 * The targets of an allocation, rounded down to the resolution; nodes the book knows but the
 * allocation does not name go to 0. An increase still waiting for room keeps the reason and id
 * of the allocation that decided it (a request's VEHICLE_CONNECTED, not the REBALANCE that ran
 * meanwhile).
 */
export function planTargets(
  alloc: AllocResult,
  previous: ReadonlyMap<string, Target>,
  book: PublishedLimits,
  origin: { reason: TriggerReason; allocationId: string },
  res: number,
  minChangeKw: number,
): Map<string, Target> {
  const targets = new Map<string, Target>();
  const set = (id: string, limitKw: number, cls: AllocClass, weight: number) => {
    const waiting = isIncrease(limitKw, book.published(id), minChangeKw);
    const before = previous.get(id);
    const keep = waiting && before !== undefined && before.waiting && before.limitKw === limitKw;
    const from = keep ? before : origin;
    targets.set(id, {
      limitKw,
      cls,
      weight,
      reason: from.reason,
      allocationId: from.allocationId,
      waiting,
    });
  };
  for (const a of alloc.allocations) set(a.nodeId, floorToResolution(a.limitKw, res), a.cls, a.weight);
  for (const id of book.ids()) if (!targets.has(id)) set(id, 0, 'normal', 0);
  return targets;
}

/**
 * The decreases to send, sorted by nodeId. Small decreases (held by hysteresis) go too only
 * when Σ in force or the measured load is above C (`overC`), or some increase of the targets
 * does not fit without them.
 */
export function decreasesToSend(
  targets: ReadonlyMap<string, Target>,
  book: PublishedLimits,
  minChangeKw: number,
  capacityKw: number,
  overC: boolean,
): string[] {
  const decreases: string[] = [];
  const smallDecreases: string[] = [];
  for (const id of [...targets.keys()].sort(cmp)) {
    const t = targets.get(id) as Target;
    const published = book.published(id);
    if (t.limitKw < published) {
      if (isHysteresisHold(published, t.limitKw, minChangeKw)) smallDecreases.push(id);
      else decreases.push(id);
    }
  }
  if (
    overC ||
    (smallDecreases.length > 0 && !increasesFitAfter(targets, book, decreases, minChangeKw, capacityKw))
  ) {
    decreases.push(...smallDecreases);
    decreases.sort(cmp);
  }
  return decreases;
}

/**
 * Would the hub end up at Σ ≤ C once everything settles, if only `decreases` were sent
 * (besides the increases)? Every pending confirmation is assumed done.
 */
function increasesFitAfter(
  targets: ReadonlyMap<string, Target>,
  book: PublishedLimits,
  decreases: string[],
  minChangeKw: number,
  capacityKw: number,
): boolean {
  const decreasing = new Set(decreases);
  let total = 0;
  for (const id of book.ids()) if (!targets.has(id)) total += book.published(id);
  for (const [id, t] of targets) {
    const published = book.published(id);
    total += decreasing.has(id) || isIncrease(t.limitKw, published, minChangeKw) ? t.limitKw : published;
  }
  return total <= capacityKw + CAPACITY_EPSILON_KW;
}

/** The increases of the targets, in priority order: critical, larger weight, nodeId. */
export function increaseCandidates(
  targets: ReadonlyMap<string, Target>,
  book: PublishedLimits,
  minChangeKw: number,
): Array<[string, Target]> {
  const candidates: Array<[string, Target]> = [];
  for (const [id, t] of targets)
    if (isIncrease(t.limitKw, book.published(id), minChangeKw)) candidates.push([id, t]);
  return candidates.sort(
    (a, b) => CLASS_RANK[a[1].cls] - CLASS_RANK[b[1].cls] || b[1].weight - a[1].weight || cmp(a[0], b[0]),
  );
}

/** Ascending order of ids. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
