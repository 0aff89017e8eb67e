/**
 * When to run an allocation, per hub. Pure: the caller passes the time and sets one
 * timer for `nextWakeMs()`.
 *
 * - Coalescing with a leading edge: a trigger for a hub that was not allocated within
 *   the last `coalesceMs` (default 50 ms) is due at once, so a lone request is answered
 *   without waiting; triggers arriving while one is pending join it, and a trigger that
 *   comes within `coalesceMs` of the last allocation waits until that window has passed.
 *   So a burst costs at most one allocation per window, and the window is never extended
 *   (a steady stream of triggers cannot starve the hub). The most significant reason wins
 *   (TRIGGER_PRIORITY); every reason seen is kept in `reasons`. GRID_OVERLOAD is always
 *   due at once.
 * - Hubs registered with `track` also get a periodic REBALANCE every `rebalanceS`
 *   (default 5 s) counted from their last allocation.
 */
import type { TriggerReason } from './types';

/** Most significant first. */
export const TRIGGER_PRIORITY: readonly TriggerReason[] = [
  'GRID_OVERLOAD',
  'HUB_INACTIVE',
  'NODE_FAULT',
  'CAPACITY_CHANGED',
  'NODE_MAINTENANCE',
  'VEHICLE_CONNECTED',
  'VEHICLE_DISCONNECTED',
  'CHARGING_COMPLETE',
  'PRIORITY_SHIFT',
  'RESYNC',
  'REBALANCE',
];

const RANK = new Map<TriggerReason, number>(TRIGGER_PRIORITY.map((r, i) => [r, i]));

function rank(r: TriggerReason): number {
  return RANK.get(r) ?? TRIGGER_PRIORITY.length;
}

export interface DlmSchedulerOptions {
  /** Coalescing window (ms), default 50. */
  coalesceMs?: number;
  /** Period of REBALANCE for tracked hubs (s), default 5. */
  rebalanceS?: number;
}

export interface DueAllocation {
  hubId: string;
  /** The most significant reason of the coalesced triggers. */
  reason: TriggerReason;
  /** All distinct reasons coalesced, most significant first (e.g. to see a RESYNC). */
  reasons: TriggerReason[];
}

interface Pending {
  dueAt: number;
  reasons: Set<TriggerReason>;
}

export class DlmScheduler {
  private readonly coalesceMs: number;
  private readonly rebalanceMs: number;
  private readonly pending = new Map<string, Pending>();
  /** Tracked hub → next periodic REBALANCE (epoch ms). */
  private readonly tracked = new Map<string, number>();
  /** Hub → time of its last allocation (for the leading-edge window). */
  private readonly lastRun = new Map<string, number>();

  constructor(opts: DlmSchedulerOptions = {}) {
    this.coalesceMs = nonNeg(opts.coalesceMs ?? 50);
    this.rebalanceMs = nonNeg(opts.rebalanceS ?? 5) * 1000;
  }

  /** Records a trigger for a hub. */
  trigger(hubId: string, reason: TriggerReason, nowMs: number): void {
    const last = this.lastRun.get(hubId);
    const dueAt =
      reason === 'GRID_OVERLOAD' || last === undefined || nowMs - last >= this.coalesceMs
        ? nowMs
        : last + this.coalesceMs;
    const p = this.pending.get(hubId);
    if (p) {
      p.reasons.add(reason);
      if (dueAt < p.dueAt) p.dueAt = dueAt;
    } else {
      this.pending.set(hubId, { dueAt, reasons: new Set([reason]) });
    }
  }

  /** Periodic REBALANCE for this hub, first one rebalanceS after `nowMs`. */
  track(hubId: string, nowMs: number): void {
    if (!this.tracked.has(hubId)) this.tracked.set(hubId, nowMs + this.rebalanceMs);
  }

  /** Stops the periodic REBALANCE; with `dropPending`, also forgets triggers not yet due. */
  untrack(hubId: string, dropPending = false): void {
    this.tracked.delete(hubId);
    if (dropPending) {
      this.pending.delete(hubId);
      this.lastRun.delete(hubId);
    }
  }

  isTracked(hubId: string): boolean {
    return this.tracked.has(hubId);
  }

  /** Hubs to allocate now (sorted by hubId); each is removed from the pending set. */
  due(nowMs: number): DueAllocation[] {
    const out: DueAllocation[] = [];
    for (const [hubId, p] of this.pending) {
      if (p.dueAt <= nowMs) {
        const reasons = [...p.reasons].sort((a, b) => rank(a) - rank(b));
        out.push({ hubId, reason: reasons[0] as TriggerReason, reasons });
      }
    }
    for (const d of out) {
      this.pending.delete(d.hubId);
      this.lastRun.set(d.hubId, nowMs);
    }
    const allocated = new Set(out.map((d) => d.hubId));
    for (const [hubId, next] of this.tracked) {
      if (allocated.has(hubId)) {
        this.tracked.set(hubId, nowMs + this.rebalanceMs);
      } else if (next <= nowMs && !this.pending.has(hubId)) {
        out.push({ hubId, reason: 'REBALANCE', reasons: ['REBALANCE'] });
        this.tracked.set(hubId, nowMs + this.rebalanceMs);
        this.lastRun.set(hubId, nowMs);
      }
    }
    return out.sort((a, b) => (a.hubId < b.hubId ? -1 : a.hubId > b.hubId ? 1 : 0));
  }

  /** Earliest time `due` has something to return; null when nothing is pending or tracked. */
  nextWakeMs(): number | null {
    let next: number | null = null;
    for (const p of this.pending.values()) if (next === null || p.dueAt < next) next = p.dueAt;
    for (const [hubId, t] of this.tracked) {
      // A tracked hub with a pending trigger is covered by that trigger.
      if (this.pending.has(hubId)) continue;
      if (next === null || t < next) next = t;
    }
    return next;
  }
}

function nonNeg(x: number): number {
  return Number.isFinite(x) && x > 0 ? x : 0;
}
