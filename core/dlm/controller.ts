/**
 * Per-hub change planning: turns target allocations into an ordered list of limit
 * changes so that the sum of the limits in force at the hub never exceeds C, not even
 * between two messages ("break before make").
 *
 * Accounting is pessimistic. For every node the controller keeps
 * - `published`: the last limit sent to the hub;
 * - `possible`: the limits the hub may be at now or may still apply (oldest first; the
 *   hub applies messages in order), and
 * - `inForce` = max(possible): an upper bound of what the hub may be applying. An
 *   increase counts at the new limit from the moment it is published; a decrease keeps
 *   counting at the old (higher) value until the hub confirms it (telemetry
 *   `power_limit_kw` ≤ new + 0.01) or `confirmTimeoutS` after the node's last message.
 *   A report r only drops the values the hub must already have passed: it is matched to
 *   the earliest possible value p with r ≤ p + 0.01, so a stale report of an older, lower
 *   limit (sent before an increase still in flight) never confirms a later decrease.
 *   A report above every possible value (a limit we never sent) changes nothing: resync.
 *
 * Rules:
 * - Decreases are published at once, before any increase.
 * - An increase is published whole, only when Σ inForce after it ≤ C; otherwise it waits
 *   (no partial steps) for a confirmation or timeout to free capacity. Increases are tried
 *   in priority order: critical first, then larger weight, then nodeId.
 * - Hysteresis: a change with |new − published| < minChangeKw is held back, but never a
 *   change to or from 0, never a decrease while Σ inForce > C (or the measured
 *   `ctx.gridLoadKw` > C), and never a decrease while some increase of the same target
 *   does not fit.
 * - When C drops below Σ inForce only decreases are sent; Σ inForce never grows while it
 *   is above C.
 * - Nodes the controller has never seen count as 0 in force (call `restore` at start).
 * - Comparisons with C allow 1e-9 kW of floating-point slack.
 *
 * Pure: no timers, no clock; time is always a parameter.
 */
import type { AllocClass, AllocResult, DlmCommand, TriggerReason } from './types';

export interface HubLimitControllerOptions {
  /** C: the hub's capacity after reserve (kW). */
  capacityKw: number;
  /** Hysteresis threshold (kW), default 0.5. */
  minChangeKw?: number;
  /** How long an unconfirmed decrease keeps counting at its old limit (s), default 10. */
  confirmTimeoutS?: number;
}

/** Slack for floating-point comparisons against C (kW). */
export const CAPACITY_EPSILON_KW = 1e-9;
/** A decrease is confirmed when the reported limit is ≤ the new limit + this (kW). */
export const CONFIRM_TOLERANCE_KW = 0.01;

interface NodeState {
  published: number;
  /** Limits the hub may be at or may still apply, oldest first; the last one is `published`. */
  possible: number[];
  /** max(possible). */
  inForce: number;
  /** When the last command for this node was published (epoch ms). */
  lastPublishMs: number;
}

interface Target {
  limitKw: number;
  cls: AllocClass;
  weight: number;
}

const CLASS_RANK: Record<AllocClass, number> = { critical: 0, normal: 1 };

export class HubLimitController {
  readonly hubId: string;
  private capacity: number;
  private readonly minChangeKw: number;
  private readonly confirmTimeoutMs: number;
  private readonly nodes = new Map<string, NodeState>();
  /** Latest targets (from the last apply) and the allocation they came from. */
  private targets = new Map<string, Target>();
  private targetReason: TriggerReason = 'REBALANCE';
  private targetAllocationId = '';
  private seq = 0;

  constructor(hubId: string, opts: HubLimitControllerOptions) {
    this.hubId = hubId;
    this.capacity = sanitizeKw(opts.capacityKw);
    this.minChangeKw = opts.minChangeKw === undefined ? 0.5 : sanitizeKw(opts.minChangeKw);
    this.confirmTimeoutMs =
      (opts.confirmTimeoutS === undefined ? 10 : sanitizeKw(opts.confirmTimeoutS)) * 1000;
  }

  get capacityKw(): number {
    return this.capacity;
  }

  /** Changes C. Sends nothing: run an allocation and `apply` it (reason CAPACITY_CHANGED). */
  setCapacity(kw: number): void {
    this.capacity = sanitizeKw(kw);
  }

  /** Pessimistic limits in force at the hub, by nodeId. */
  inForce(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [id, s] of this.sortedNodes()) m.set(id, s.inForce);
    return m;
  }

  /** Last limits published (what the hub is told to apply), by nodeId. */
  published(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [id, s] of this.sortedNodes()) m.set(id, s.published);
    return m;
  }

  /** Σ of the limits in force. */
  totalInForceKw(): number {
    let sum = 0;
    for (const s of this.nodes.values()) sum += s.inForce;
    return sum;
  }

  /** Target increases not yet published because they do not fit, by nodeId → target kW. */
  pendingIncreases(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [id, t] of [...this.targets].sort((a, b) => cmp(a[0], b[0]))) {
      const s = this.nodes.get(id);
      if (t.limitKw > (s ? s.published : 0) && !this.isHysteresisHold(s ? s.published : 0, t.limitKw)) {
        m.set(id, t.limitKw);
      }
    }
    return m;
  }

  /** Earliest confirmation deadline (epoch ms), for the caller's single timer; null when none. */
  nextDeadlineMs(): number | null {
    let next: number | null = null;
    for (const s of this.nodes.values()) {
      if (s.inForce > s.published) {
        const deadline = s.lastPublishMs + this.confirmTimeoutMs;
        if (next === null || deadline < next) next = deadline;
      }
    }
    return next;
  }

  /** Limits in force known from storage at start (replaces all state; nothing pending). */
  restore(limits: Map<string, number>): void {
    this.nodes.clear();
    this.targets.clear();
    for (const [id, kw] of limits) {
      const v = sanitizeKw(kw);
      this.nodes.set(id, {
        published: v,
        possible: [v],
        inForce: v,
        lastPublishMs: Number.NEGATIVE_INFINITY,
      });
    }
  }

  /**
   * Plans the move to `target`: returns the commands to publish now, decreases first.
   * Nodes known to the controller but absent from `target` go to 0.
   */
  apply(
    target: AllocResult,
    reason: TriggerReason,
    nowMs: number,
    ctx?: { gridLoadKw?: number },
  ): DlmCommand[] {
    this.seq += 1;
    this.targetAllocationId = `${this.hubId}:${nowMs}:${this.seq}`;
    this.targetReason = reason;
    const targets = new Map<string, Target>();
    for (const a of target.allocations) {
      targets.set(a.nodeId, { limitKw: sanitizeKw(a.limitKw), cls: a.cls, weight: a.weight });
    }
    for (const id of this.nodes.keys()) {
      if (!targets.has(id)) targets.set(id, { limitKw: 0, cls: 'normal', weight: 0 });
    }
    this.targets = targets;

    const measuredOver =
      ctx?.gridLoadKw !== undefined && Number.isFinite(ctx.gridLoadKw) && ctx.gridLoadKw > this.capacity;
    const overC = measuredOver || this.totalInForceKw() > this.capacity + CAPACITY_EPSILON_KW;

    const decreases: string[] = [];
    const smallDecreases: string[] = [];
    for (const id of [...targets.keys()].sort(cmp)) {
      const t = targets.get(id) as Target;
      const published = this.nodes.get(id)?.published ?? 0;
      if (t.limitKw < published) {
        if (this.isHysteresisHold(published, t.limitKw)) smallDecreases.push(id);
        else decreases.push(id);
      }
    }
    // Small decreases are held only while nothing needs the capacity they would free.
    if (overC || (smallDecreases.length > 0 && !this.increasesFitAfter(decreases))) {
      decreases.push(...smallDecreases);
      decreases.sort(cmp);
    }
    const out: DlmCommand[] = [];
    for (const id of decreases) {
      const t = targets.get(id) as Target;
      out.push(this.publish(id, t.limitKw, reason, this.targetAllocationId, nowMs));
    }
    out.push(...this.releaseIncreases(nowMs));
    return out;
  }

  /**
   * The hub reported `power_limit_kw` for a node. Confirms a pending decrease when the
   * report is ≤ the published limit + 0.01 (and is not a stale report of an older limit,
   * see above) and returns the increases that now fit.
   */
  confirm(nodeId: string, reportedLimitKw: number, nowMs: number): DlmCommand[] {
    const s = this.nodes.get(nodeId);
    if (s && s.possible.length > 1 && Number.isFinite(reportedLimitKw)) {
      const r = Math.max(0, reportedLimitKw);
      const k = s.possible.findIndex((p) => r <= p + CONFIRM_TOLERANCE_KW);
      if (k >= 0) {
        const rest = s.possible.slice(k + 1);
        if (
          r <= s.published + CONFIRM_TOLERANCE_KW &&
          rest.every((p) => p <= s.published + CONFIRM_TOLERANCE_KW)
        ) {
          settle(s);
          // Within the tolerance but above what we sent: never count less than the hub says.
          if (r > s.published) {
            s.possible = [r, s.published];
            s.inForce = r;
          }
        } else {
          s.possible = [r, ...rest];
          s.inForce = Math.max(...s.possible);
        }
      }
    }
    return this.releaseIncreases(nowMs);
  }

  /**
   * A limit the hub reports (telemetry `power_limit_kw`) for a node this controller has never
   * commanded: the hub's own (a boot default, its edge DLM, another orchestrator before us).
   * It is in force until changed, so it counts against C, and the next `apply` moves it to
   * the allocation (decreases first). Returns true when the limit was adopted.
   */
  observe(nodeId: string, reportedLimitKw: number): boolean {
    if (this.nodes.has(nodeId) || !Number.isFinite(reportedLimitKw)) return false;
    const kw = sanitizeKw(reportedLimitKw);
    this.nodes.set(nodeId, { published: kw, possible: [kw], inForce: kw, lastPublishMs: 0 });
    return true;
  }

  /** Unconfirmed decreases older than confirmTimeoutS count as applied; returns increases that now fit. */
  tick(nowMs: number): DlmCommand[] {
    for (const s of this.nodes.values()) {
      if (s.possible.length > 1 && nowMs >= s.lastPublishMs + this.confirmTimeoutMs) settle(s);
    }
    return this.releaseIncreases(nowMs);
  }

  /** Re-sends every published limit (hub back online / orchestrator restart). Changes no state. */
  resync(nowMs: number): DlmCommand[] {
    this.seq += 1;
    const allocationId = `${this.hubId}:${nowMs}:${this.seq}`;
    const total = this.totalInForceKw();
    const available = Math.max(0, this.capacity - total);
    const out: DlmCommand[] = [];
    for (const [id, s] of this.sortedNodes()) {
      out.push({
        hubId: this.hubId,
        nodeId: id,
        originalLimitKw: s.published,
        newLimitKw: s.published,
        reason: 'RESYNC',
        allocationId,
        ts: nowMs,
        totalGridLoadKw: total,
        availableCapacityKw: available,
      });
    }
    return out;
  }

  private isHysteresisHold(published: number, next: number): boolean {
    return published !== 0 && next !== 0 && Math.abs(next - published) < this.minChangeKw;
  }

  /**
   * Would the hub end up at Σ ≤ C once everything settles, if only `decreases` were sent
   * (besides the increases)? Every pending confirmation is assumed done.
   */
  private increasesFitAfter(decreases: string[]): boolean {
    const decreasing = new Set(decreases);
    let total = 0;
    for (const [id, s] of this.nodes) if (!this.targets.has(id)) total += s.published;
    for (const [id, t] of this.targets) {
      const published = this.nodes.get(id)?.published ?? 0;
      const increasing = t.limitKw > published && !this.isHysteresisHold(published, t.limitKw);
      total += decreasing.has(id) || increasing ? t.limitKw : published;
    }
    return total <= this.capacity + CAPACITY_EPSILON_KW;
  }

  /** Publishes every pending increase that fits now, in priority order. */
  private releaseIncreases(nowMs: number): DlmCommand[] {
    const candidates: Array<[string, Target]> = [];
    for (const [id, t] of this.targets) {
      const published = this.nodes.get(id)?.published ?? 0;
      if (t.limitKw > published && !this.isHysteresisHold(published, t.limitKw)) candidates.push([id, t]);
    }
    if (candidates.length === 0) return [];
    candidates.sort(
      (a, b) => CLASS_RANK[a[1].cls] - CLASS_RANK[b[1].cls] || b[1].weight - a[1].weight || cmp(a[0], b[0]),
    );
    const out: DlmCommand[] = [];
    let total = this.totalInForceKw();
    for (const [id, t] of candidates) {
      const current = this.nodes.get(id)?.inForce ?? 0;
      const after = total - current + Math.max(current, t.limitKw);
      if (after <= this.capacity + CAPACITY_EPSILON_KW) {
        out.push(this.publish(id, t.limitKw, this.targetReason, this.targetAllocationId, nowMs));
        total = this.totalInForceKw();
      }
    }
    return out;
  }

  private publish(
    nodeId: string,
    newLimitKw: number,
    reason: TriggerReason,
    allocationId: string,
    nowMs: number,
  ): DlmCommand {
    let s = this.nodes.get(nodeId);
    if (!s) {
      s = { published: 0, possible: [0], inForce: 0, lastPublishMs: nowMs };
      this.nodes.set(nodeId, s);
    }
    const originalLimitKw = s.published;
    s.published = newLimitKw;
    s.possible.push(newLimitKw);
    if (newLimitKw > s.inForce) s.inForce = newLimitKw;
    s.lastPublishMs = nowMs;
    const total = this.totalInForceKw();
    return {
      hubId: this.hubId,
      nodeId,
      originalLimitKw,
      newLimitKw,
      reason,
      allocationId,
      ts: nowMs,
      totalGridLoadKw: total,
      availableCapacityKw: Math.max(0, this.capacity - total),
    };
  }

  private sortedNodes(): Array<[string, NodeState]> {
    return [...this.nodes].sort((a, b) => cmp(a[0], b[0]));
  }
}

/** The hub is known to be at its published limit. */
function settle(s: NodeState): void {
  s.possible = [s.published];
  s.inForce = s.published;
}

function sanitizeKw(x: number): number {
  return Number.isFinite(x) && x > 0 ? x : 0;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
