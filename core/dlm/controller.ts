/**
 * Per-hub change planning: turns target allocations into an ordered list of limit changes
 * so that the limits in force at the hub never sum above C, not even between two messages
 * ("break before make"), by what the hub reports — never by what we assume.
 *
 * Accounting is pessimistic, per node (node-limits.ts, limit-book.ts): an increase counts
 * from the moment it is sent; a decrease keeps counting at the old value until the hub's
 * report (telemetry `power_limit_kw`) shows it — a timer never settles it. A report above
 * every value we sent (a limit we never commanded) counts too.
 * What the latest allocation calls for (targets, hysteresis, which decreases go at once, the
 * order of increases) is decided in targets.ts.
 *
 * Rules:
 * - Targets are rounded down to the wire resolution (0.001 kW): what is counted is exactly
 *   what is sent, and a hub that echoes it confirms it (tolerance: half a step).
 * - Decreases are sent at once, before any increase. A report carries a value, not a message
 *   id: after [a, b] (b in flight) a report of a could not tell "b still to come" from "done".
 *   So a decrease back to a value the hub may still be at goes first to the nearest value a
 *   step or a few above it that is unambiguous, then, once the hub reports that, to the value
 *   itself; an increase back to such a value waits for the confirmation.
 * - An increase is sent whole, only when Σ in force after it ≤ C — one short by no more than
 *   a step (a hub reporting a hair above what it was sent) goes trimmed to what fits —
 *   otherwise it waits and goes on the very report that makes room for it. Increases go in
 *   priority order: critical, larger weight, nodeId.
 * - Every increase at the hub is held while the hub has not reported every node since a
 *   RESYNC / restore, or while it ignores a command (below).
 * - A limit the hub's reports do not confirm is re-sent with backoff (resendS 5 s, doubled at
 *   each attempt, capped at resendMaxS). When the hub's reports, received a grace period
 *   (resendS / 2) after a re-send, still say it may be above the limit, the hub ignores our
 *   commands: `ignoredCommands()` lists it (alarm) from the next re-send until it confirms.
 * - RESYNC (hub back, broker back) re-sends every published limit, break before make too: a
 *   re-send that could raise the hub above a state it may be in goes only when the hub stays
 *   within C once it applies it; the others at once, decreases first.
 * - Restart (`restore`, see restart.ts): stored limits are only a hint. Each node counts at
 *   max(stored, its max power) until the hub's reports settle it; a send never goes above
 *   what the hub reported for the node since (a decrease waits a re-send period for that
 *   report); its first report is adopted and re-sent (RESYNC) or moved down at once; every
 *   increase at the hub waits until the hub has settled.
 * - Hysteresis: a change with |new − published| < minChangeKw is held back, but never a
 *   change to or from 0, never a decrease while Σ in force > C (or the measured
 *   `ctx.gridLoadKw` > C), and never a decrease while some increase of the target does not fit.
 * - Nodes the controller has never seen count as 0 (call `restore` at start).
 * - Comparisons with C allow 1e-9 kW of floating-point slack.
 *
 * Pure: no timers, no clock; time is always a parameter.
 */
import { WIRE_RESOLUTION_KW, floorToResolution } from './quantize';
import { LimitBook, type HoldReason, type IgnoredCommand, type ReportEffect } from './limit-book';
import { isAmbiguous, type NodeLimits, type SentCommand } from './node-limits';
import { drainProbe, sendCeilingKw } from './restart';
import { CAPACITY_EPSILON_KW, commandOf, decreaseStep, mayResend } from './send-rules';
import { cmp, decreasesToSend, increaseCandidates, isIncrease, planTargets, type Target } from './targets';
import type { AllocResult, DlmCommand, TriggerReason } from './types';

export { CAPACITY_EPSILON_KW } from './send-rules';
export type { HoldReason, IgnoredCommand, ReportEffect } from './limit-book';

export interface HubLimitControllerOptions {
  /** C: the hub's capacity after reserve (kW). */
  capacityKw: number;
  /** Hysteresis threshold (kW), default 0.5. */
  minChangeKw?: number;
  /** First re-send of an unconfirmed limit after this many seconds (doubled each time), default 5. */
  resendS?: number;
  /** Longest interval between re-sends (s), default 30. */
  resendMaxS?: number;
  /** Wire resolution (kW), default 0.001; the confirmation tolerance is half of it. */
  resolutionKw?: number;
  /** Delivery window (s), default 30: see DlmEngineConfig.deliveryWindowS. */
  deliveryWindowS?: number;
}

/**
 * A report within this of a limit we sent is that limit (kW): half the wire resolution, so a
 * report that rounds to the limit at 0.001 kW confirms it and two limits a step apart stay apart.
 */
export const CONFIRM_TOLERANCE_KW = WIRE_RESOLUTION_KW / 2;

export class HubLimitController {
  readonly hubId: string;
  private capacity: number;
  private readonly minChangeKw: number;
  private readonly res: number;
  /** Confirmation tolerance: half the resolution. */
  private readonly tol: number;
  private readonly book: LimitBook;
  /** Delivery window (ms). */
  readonly deliveryWindowMs: number;
  /** Latest targets (from the last apply) and the allocation they came from. */
  private targets = new Map<string, Target>();
  /** Decreases of the last apply not sent yet (a report of them would be ambiguous). */
  private deferred = new Set<string>();
  private seq = 0;

  constructor(hubId: string, opts: HubLimitControllerOptions) {
    this.hubId = hubId;
    this.capacity = sanitizeKw(opts.capacityKw);
    this.minChangeKw = opts.minChangeKw === undefined ? 0.5 : sanitizeKw(opts.minChangeKw);
    this.res = opts.resolutionKw === undefined ? WIRE_RESOLUTION_KW : sanitizeKw(opts.resolutionKw);
    this.tol = this.res / 2;
    const resendMs = (opts.resendS === undefined ? 5 : sanitizeKw(opts.resendS)) * 1000;
    const resendMaxMs = (opts.resendMaxS === undefined ? 30 : sanitizeKw(opts.resendMaxS)) * 1000;
    this.deliveryWindowMs =
      (opts.deliveryWindowS === undefined ? 30 : sanitizeKw(opts.deliveryWindowS)) * 1000;
    this.book = new LimitBook({
      resendMs,
      resendMaxMs: Math.max(resendMs, resendMaxMs),
      tol: this.tol,
      windowMs: this.deliveryWindowMs,
    });
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
    return new Map(this.book.sorted().map(([id, s]) => [id, s.inForce]));
  }

  /** Last limits published (what the hub is told to apply), by nodeId. */
  published(): Map<string, number> {
    return new Map(this.book.sorted().map(([id, s]) => [id, s.published]));
  }

  /** Σ of the limits in force. */
  totalInForceKw(): number {
    return this.book.total();
  }

  /** Target increases not yet published (they do not fit, or the hub is held), by nodeId → target kW. */
  pendingIncreases(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [id, t] of [...this.targets].sort((a, b) => cmp(a[0], b[0]))) {
      if (isIncrease(t.limitKw, this.book.published(id), this.minChangeKw)) m.set(id, t.limitKw);
    }
    return m;
  }

  /** Nodes whose limit the hub's reports do not confirm yet (in flight, or the hub is elsewhere), sorted. */
  unconfirmed(): string[] {
    return this.book.unconfirmed();
  }

  /** Why increases are held now, or null. */
  held(): HoldReason | null {
    return this.book.held();
  }

  /** Nodes whose hub ignores the limit we sent (sorted by nodeId). */
  ignoredCommands(): IgnoredCommand[] {
    return this.book.ignoredCommands();
  }

  /** True once after `ignoredCommands()` changed (raised, cleared or re-sent again). */
  takeAlarmChange(): boolean {
    return this.book.takeAlarmChange();
  }

  /** When `tick` next re-sends (epoch ms), for the caller's single timer; null when nothing waits. */
  nextDeadlineMs(): number | null {
    return this.book.nextDeadlineMs();
  }

  /**
   * At start: the limits stored before (only a hint) and the max power of the nodes known, by
   * nodeId. Replaces all state; every node is unverified and unsettled until the hub's reports
   * settle it (restart.ts).
   */
  restore(limits: Map<string, number>, nowMs: number, maxKw: Map<string, number> = new Map()): void {
    this.targets.clear();
    this.deferred.clear();
    const clean = (m: Map<string, number>) => new Map([...m].map(([id, kw]) => [id, sanitizeKw(kw)]));
    this.book.restore(clean(limits), clean(maxKw), nowMs);
  }

  /** Nodes a restart left unsettled (sorted) and since when; null when none. */
  unsettled(): { sinceMs: number; nodes: string[] } | null {
    return this.book.unsettledNodes();
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
    const allocationId = `${this.hubId}:${nowMs}:${this.seq}`;
    const origin = { reason, allocationId };
    this.targets = planTargets(target, this.targets, this.book, origin, this.res, this.minChangeKw);
    const measuredOver =
      ctx?.gridLoadKw !== undefined && Number.isFinite(ctx.gridLoadKw) && ctx.gridLoadKw > this.capacity;
    const overC = measuredOver || this.book.total() > this.capacity + CAPACITY_EPSILON_KW;
    // Small decreases are held only while nothing needs the capacity they would free.
    this.deferred = new Set(decreasesToSend(this.targets, this.book, this.minChangeKw, this.capacity, overC));
    return this.release(nowMs);
  }

  /**
   * Records the limit the hub reports for a node (telemetry `power_limit_kw`). A node the
   * controller has never seen is adopted at that limit (a boot default, the hub's own DLM):
   * it counts against C and the next `apply` moves it. Sends nothing (see `confirm`).
   * Returns 'raised' when it raised what the node counts (a limit we never commanded),
   * 'progress' when it confirmed something, made room or lifted a hold, else 'none' (then
   * `release` has nothing new to send).
   */
  report(nodeId: string, reportedLimitKw: number, nowMs: number): ReportEffect {
    if (!Number.isFinite(reportedLimitKw)) return 'none';
    const hinted = this.book.get(nodeId)?.hinted === true;
    const effect = this.book.report(nodeId, Math.max(0, reportedLimitKw), nowMs);
    if (!hinted) return effect;
    const s = this.book.get(nodeId) as NodeLimits;
    // After a restart its first report is adopted as published: moved down at once when the
    // allocation wants less, else re-sent as the RESYNC.
    const t = this.targets.get(nodeId);
    if (t && t.limitKw < s.published) this.deferred.add(nodeId);
    else this.book.owe(s);
    return effect === 'none' ? 'progress' : effect;
  }

  /** `report` then `release`: the increases this report makes room for. */
  confirm(nodeId: string, reportedLimitKw: number, nowMs: number): DlmCommand[] {
    return this.report(nodeId, reportedLimitKw, nowMs) === 'none' ? [] : this.release(nowMs);
  }

  /** Sends what may go now: RESYNC re-sends that waited for room, decreases, then increases that fit (unless held). */
  release(nowMs: number): DlmCommand[] {
    const out: DlmCommand[] = [];
    if (this.book.owedCount() > 0) {
      for (const [id, s] of this.book.sorted()) {
        if (!s.owed) continue;
        if (this.mayResend(s)) out.push(this.resend(id, s, nowMs));
        else this.trimmedResend(id, s, out, nowMs);
      }
    }
    for (const id of [...this.deferred].sort(cmp)) {
      const s = this.book.get(id);
      const t = this.targets.get(id);
      if (!s || !t || t.limitKw >= s.published) {
        this.deferred.delete(id);
        continue;
      }
      const kw = decreaseStep(s, t.limitKw, this.res, this.tol);
      if (kw === null || kw > sendCeilingKw(s, this.tol) || this.book.waitsForFirstReport(s, nowMs)) continue;
      if (kw === t.limitKw) this.deferred.delete(id);
      out.push(this.send(id, kw, t, nowMs));
    }
    if (this.book.awaitsDrain()) this.probe(out, nowMs);
    if (this.book.held() !== null) return out;
    const candidates = increaseCandidates(this.targets, this.book, this.minChangeKw);
    if (candidates.length === 0) return out;
    let total = this.book.total();
    for (const [id, t] of candidates) {
      const s = this.book.get(id);
      if (s && isAmbiguous(s, t.limitKw, this.tol)) continue;
      const current = s?.inForce ?? 0;
      const room = this.capacity - (total - current);
      let kw = t.limitKw;
      if (Math.max(current, kw) > room + CAPACITY_EPSILON_KW) {
        // Short by no more than a step (reports a hair above what we sent): trimmed to fit.
        kw = kw - room <= this.res ? floorToResolution(room, this.res) : -1;
        if (kw <= (s?.published ?? 0) || Math.max(current, kw) > room + CAPACITY_EPSILON_KW) continue;
      }
      out.push(this.send(id, kw, t, nowMs));
      total = this.book.total();
    }
    return out;
  }

  /**
   * Re-sends, with backoff, every limit the hub's reports do not confirm; marks the hub as
   * ignoring a command when its reports still contradict it at a re-send. Returns the re-sends
   * and what they free.
   */
  tick(nowMs: number): DlmCommand[] {
    const out: DlmCommand[] = [];
    this.book.expire(nowMs);
    for (const [id, s] of this.book.sorted()) {
      if (!this.book.resendDue(s, nowMs)) continue;
      if (this.mayResend(s)) out.push(this.resend(id, s, nowMs, true));
      else this.book.owe(s);
    }
    out.push(...this.release(nowMs));
    return out;
  }

  /**
   * The hub may have missed messages (it was away, or our broker connection was): re-sends
   * every published limit (reason RESYNC) — at once those that cannot raise the hub above a
   * state it may be in, decreases first; the others when Σ in force allows — and holds every
   * increase until each node has reported again.
   */
  resync(nowMs: number): DlmCommand[] {
    this.seq += 1;
    this.book.resync(nowMs, `${this.hubId}:${nowMs}:${this.seq}`);
    const out: DlmCommand[] = [];
    const nodes = this.book.sorted();
    for (const lowering of [true, false]) {
      for (const [id, s] of nodes) {
        // A stored limit is only a hint: the node's first report is re-sent instead.
        if (s.hinted || s.published < s.inForce !== lowering) continue;
        if (this.mayResend(s)) out.push(this.resend(id, s, nowMs));
        else this.book.owe(s);
      }
    }
    return out;
  }

  /** After a restart, the probe that lets the hub show it drained, when one is needed (restart.ts). */
  private probe(out: DlmCommand[], nowMs: number): void {
    if (this.book.unconfirmed().length > 0 || this.pendingIncreases().size === 0) return;
    const p = drainProbe(this.book.sorted(), this.minChangeKw, this.res);
    if (!p) return;
    const cmd = this.book.get(p.nodeId)?.command;
    const allocationId = cmd?.allocationId ?? `${this.hubId}:${nowMs}:0`;
    const t: Target = {
      limitKw: p.kw,
      cls: 'normal',
      weight: 0,
      reason: 'RESYNC',
      allocationId,
      waiting: false,
    };
    out.push(this.send(p.nodeId, p.kw, t, nowMs));
  }

  /**
   * An increase the hub never applied (lost on the way) whose re-send is short of room by no
   * more than a step, because other nodes report a hair above what they were sent (float32
   * telemetry): sent again trimmed to what fits, as the allocation trims a new increase. Without
   * it the re-send would wait for room that never comes and the node would stay below its limit.
   */
  private trimmedResend(nodeId: string, s: NodeLimits, out: DlmCommand[], nowMs: number): void {
    if (sendCeilingKw(s, this.tol) !== Number.POSITIVE_INFINITY || s.published <= s.inForce) return;
    const room = this.capacity - (this.book.total() - s.inForce);
    if (s.published - room > this.res) return;
    const kw = floorToResolution(room, this.res);
    if (kw <= s.inForce || kw >= s.published) return;
    const t = this.targets.get(nodeId);
    const c = s.command;
    out.push(
      this.send(
        nodeId,
        kw,
        t ?? {
          limitKw: kw,
          cls: 'normal',
          weight: 0,
          reason: c?.reason ?? 'RESYNC',
          allocationId: c?.allocationId ?? `${this.hubId}:${nowMs}:0`,
          waiting: false,
        },
        nowMs,
      ),
    );
  }

  private mayResend(s: NodeLimits): boolean {
    return mayResend(s, this.book.total(), this.capacity, this.tol);
  }

  private send(nodeId: string, kw: number, t: Target, nowMs: number): DlmCommand {
    const c: SentCommand = {
      originalLimitKw: this.book.published(nodeId),
      reason: t.reason,
      allocationId: t.allocationId,
    };
    return commandOf(
      this.hubId,
      nodeId,
      this.book.send(nodeId, kw, c, nowMs),
      nowMs,
      this.capacity,
      this.book.total(),
    );
  }

  private resend(nodeId: string, s: NodeLimits, nowMs: number, backoff = false): DlmCommand {
    this.book.resend(s, nowMs, backoff);
    return commandOf(this.hubId, nodeId, s, nowMs, this.capacity, this.book.total());
  }
}

function sanitizeKw(x: number): number {
  return Number.isFinite(x) && x > 0 ? x : 0;
}
