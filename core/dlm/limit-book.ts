/**
 * What one hub may be applying: the `NodeLimits` of its nodes (node-limits.ts) and what
 * depends on all of them — Σ in force, nodes not yet verified since a RESYNC, nodes whose
 * hub ignores a command (alarm), RESYNC re-sends still owed, re-send deadlines. The
 * controller plans; the book keeps the accounts. Pure; time is a parameter.
 */
import { floorToResolution } from './quantize';
import { provesDrain, restoredNode } from './restart';
import {
  applyReport,
  isUnconfirmed,
  newNodeLimits,
  recordResend,
  recordSend,
  refresh,
  type NodeLimits,
  type SentCommand,
} from './node-limits';

/** What a report did to a node's count: see `LimitBook.report`. */
export type ReportEffect = 'none' | 'progress' | 'raised';

/**
 * Why increases are held at a hub: not every node reported since a RESYNC, a restart left
 * nodes unsettled (restart.ts), or a command is ignored.
 */
export type HoldReason = 'resync' | 'restart' | 'ignored';

/** A node whose hub ignores the limit we sent. */
export interface IgnoredCommand {
  nodeId: string;
  /** When the hub's reports first contradicted it (a grace period after our send). */
  sinceMs: number;
  /** Sends of the limit so far. */
  attempts: number;
  commandedKw: number;
  reportedKw: number | null;
}

export interface LimitBookOptions {
  /** First re-send after (ms), doubled at each attempt up to `resendMaxMs`. */
  resendMs: number;
  resendMaxMs: number;
  /** Confirmation tolerance (kW): half the wire resolution. */
  tol: number;
  /** Delivery window (ms). */
  windowMs: number;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class LimitBook {
  private readonly nodes = new Map<string, NodeLimits>();
  private unverified = 0;
  private ignored = 0;
  private owed = 0;
  /** Nodes a restart left unsettled (restart.ts), the restore's time, and whether the hub drained. */
  private unsettled = 0;
  private restoredAtMs = Number.NEGATIVE_INFINITY;
  private drained = false;
  /** Until when a decrease to a node not reported since the restore waits for its report. */
  private firstReportUntilMs: number | null = null;
  private alarmChanged = false;
  /** Time of the last RESYNC: the delivery window never reaches back past it. */
  private presentSinceMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: LimitBookOptions) {}

  get(nodeId: string): NodeLimits | undefined {
    return this.nodes.get(nodeId);
  }

  has(nodeId: string): boolean {
    return this.nodes.has(nodeId);
  }

  ids(): IterableIterator<string> {
    return this.nodes.keys();
  }

  /** Records sorted by nodeId. */
  sorted(): Array<[string, NodeLimits]> {
    return [...this.nodes].sort((a, b) => cmp(a[0], b[0]));
  }

  /** Last limit published to a node (0 for a node never seen). */
  published(nodeId: string): number {
    return this.nodes.get(nodeId)?.published ?? 0;
  }

  /** Σ of the limits in force. */
  total(): number {
    let sum = 0;
    for (const s of this.nodes.values()) sum += s.inForce;
    return sum;
  }

  /** Nodes whose limit the hub's reports do not confirm yet, sorted. */
  unconfirmed(): string[] {
    const out: string[] = [];
    for (const [id, s] of this.sorted()) if (isUnconfirmed(s, this.o.tol)) out.push(id);
    return out;
  }

  held(): HoldReason | null {
    if (this.unverified > 0) return 'resync';
    return this.unsettled > 0 ? 'restart' : this.ignored > 0 ? 'ignored' : null;
  }

  /** After a restart: every node reported, none settled, the hub has not shown it drained (restart.ts). */
  awaitsDrain(): boolean {
    return this.unsettled > 0 && this.unverified === 0 && !this.drained;
  }

  /**
   * Does a decrease to this node wait for its first report since the restore? For a first
   * re-send period: once the hub has reported the node, the decrease shows the drain
   * (restart.ts); after it, the decrease goes anyway.
   */
  waitsForFirstReport(s: NodeLimits, nowMs: number): boolean {
    this.expire(nowMs);
    return s.priorKw !== null && s.reportedMaxKw === null && this.firstReportUntilMs !== null;
  }

  /** Time passes: the wait for first reports ends (see `waitsForFirstReport`). */
  expire(nowMs: number): void {
    if (this.firstReportUntilMs !== null && nowMs >= this.firstReportUntilMs) this.firstReportUntilMs = null;
  }

  /** Since the restore, the nodes a restart left unsettled (sorted); null when none. */
  unsettledNodes(): { sinceMs: number; nodes: string[] } | null {
    if (this.unsettled === 0) return null;
    const nodes: string[] = [];
    for (const [id, s] of this.sorted()) if (s.priorKw !== null) nodes.push(id);
    return { sinceMs: this.restoredAtMs, nodes };
  }

  owedCount(): number {
    return this.owed;
  }

  ignoredCommands(): IgnoredCommand[] {
    const out: IgnoredCommand[] = [];
    if (this.ignored === 0) return out;
    for (const [nodeId, s] of this.sorted()) {
      if (s.ignoredSinceMs === null) continue;
      const { attempts, published: commandedKw, reportedKw } = s;
      out.push({ nodeId, sinceMs: s.ignoredSinceMs, attempts, commandedKw, reportedKw });
    }
    return out;
  }

  /** True once after `ignoredCommands()` changed (raised, cleared or re-sent again). */
  takeAlarmChange(): boolean {
    const c = this.alarmChanged;
    this.alarmChanged = false;
    return c;
  }

  backoffMs(attempts: number): number {
    return Math.min(this.o.resendMaxMs, this.o.resendMs * 2 ** Math.max(0, attempts - 1));
  }

  /** An unconfirmed limit whose re-send time has come (owed ones wait for room instead). */
  resendDue(s: NodeLimits, nowMs: number): boolean {
    return !s.owed && isUnconfirmed(s, this.o.tol) && nowMs >= s.sentMs + this.backoffMs(s.attempts);
  }

  /** Earliest re-send time (epoch ms), or null. */
  nextDeadlineMs(): number | null {
    let next: number | null = this.firstReportUntilMs;
    for (const s of this.nodes.values()) {
      if (s.owed || !isUnconfirmed(s, this.o.tol)) continue;
      const d = s.sentMs + this.backoffMs(s.attempts);
      if (next === null || d < next) next = d;
    }
    return next;
  }

  /**
   * Limits known from storage at a restart, and the max power of the nodes known (replaces
   * everything): every node unverified and unsettled until it reports (restart.ts).
   */
  restore(limits: Map<string, number>, maxKw: Map<string, number>, nowMs: number): void {
    this.nodes.clear();
    for (const id of new Set([...limits.keys(), ...maxKw.keys()]))
      this.nodes.set(id, restoredNode(limits.get(id) ?? 0, maxKw.get(id) ?? 0));
    this.unverified = this.nodes.size;
    this.unsettled = this.nodes.size;
    this.restoredAtMs = nowMs;
    this.presentSinceMs = nowMs;
    this.drained = false;
    this.firstReportUntilMs = nowMs + this.o.resendMs;
    this.ignored = 0;
    this.owed = 0;
  }

  /**
   * Records the limit the hub reports for a node. A node never seen is adopted at it (a boot
   * default, the hub's own DLM): it counts. 'raised': what the node counts went up (a limit we
   * never commanded); 'progress': something was confirmed, room was made or a hold lifted.
   */
  report(nodeId: string, r: number, nowMs: number): ReportEffect {
    const s = this.nodes.get(nodeId);
    if (!s) {
      const adopted = newNodeLimits(r, true);
      adopted.reportedKw = r;
      adopted.reportedMs = nowMs;
      this.nodes.set(nodeId, adopted);
      return r > 0 ? 'raised' : 'none';
    }
    const before = s.inForce;
    const length = s.possible.length;
    const wasVerified = s.verified;
    const wasIgnored = s.ignoredSinceMs !== null;
    const cutoff = nowMs - this.o.windowMs;
    const delivered = this.presentSinceMs <= cutoff ? cutoff : Number.NEGATIVE_INFINITY;
    const unsettled = s.priorKw !== null;
    if (unsettled && !this.drained && provesDrain(s, r, this.o.tol)) this.drained = true;
    applyReport(s, r, nowMs, this.o.tol, this.o.resendMs / 2, delivered);
    if (!wasVerified) this.unverified -= 1;
    const settled = unsettled && this.settle(s, r, delivered > this.restoredAtMs);
    const cleared = wasIgnored && s.ignoredSinceMs === null;
    if (cleared) {
      this.ignored -= 1;
      this.alarmChanged = true;
    }
    if (s.inForce > before) return 'raised';
    const progress = s.inForce < before || s.possible.length < length || !wasVerified || cleared || settled;
    return progress ? 'progress' : 'none';
  }

  /**
   * A report of a node a restart left unsettled (restart.ts): the highest report since, the
   * first one adopted as published (the stored limit was a hint), settled once the hub drained
   * our previous run's messages or a delivery window passed. True when it settled.
   */
  private settle(s: NodeLimits, r: number, windowPassed: boolean): boolean {
    s.reportedMaxKw = Math.max(s.reportedMaxKw ?? 0, r);
    if (s.hinted && s.possible.length === 1) {
      // The nearest value on the wire: within tol of the report, so it is the report — counted
      // at the higher of the two, re-sent as it is counted.
      s.published = floorToResolution((s.possible[0] as number) + this.o.tol, 2 * this.o.tol);
      s.possible[0] = Math.max(s.possible[0] as number, s.published);
      refresh(s);
      if (s.command) s.command = { ...s.command, originalLimitKw: s.published };
    }
    if (!this.drained && !windowPassed) return false;
    s.priorKw = null;
    s.hinted = false;
    this.unsettled -= 1;
    refresh(s);
    return true;
  }

  /** A new limit for a node is sent. */
  send(nodeId: string, kw: number, cmd: SentCommand, nowMs: number): NodeLimits {
    let s = this.nodes.get(nodeId);
    if (!s) this.nodes.set(nodeId, (s = newNodeLimits(0, true)));
    this.unowe(s);
    recordSend(s, kw, cmd, nowMs, this.o.tol);
    return s;
  }

  /**
   * A node's published limit is sent again. At a backoff re-send, a hub whose reports still
   * contradict the previous re-send ignores our commands: the alarm (and the hold) starts.
   */
  resend(s: NodeLimits, nowMs: number, backoff: boolean): void {
    if (backoff && s.attempts >= 2 && s.contradictedMs !== null && s.ignoredSinceMs === null) {
      s.ignoredSinceMs = s.contradictedMs;
      this.ignored += 1;
    }
    if (backoff && s.ignoredSinceMs !== null) this.alarmChanged = true;
    this.unowe(s);
    recordResend(s, nowMs, this.o.tol);
  }

  /** A re-send that must wait for room. */
  owe(s: NodeLimits): void {
    if (!s.owed) {
      s.owed = true;
      this.owed += 1;
    }
  }

  /** RESYNC: every node unverified until it reports again; its command becomes the RESYNC. */
  resync(nowMs: number, allocationId: string): void {
    this.presentSinceMs = nowMs;
    for (const s of this.nodes.values()) {
      if (s.verified) {
        s.verified = false;
        this.unverified += 1;
      }
      s.command = { originalLimitKw: s.published, reason: 'RESYNC', allocationId };
    }
  }

  private unowe(s: NodeLimits): void {
    if (s.owed) {
      s.owed = false;
      this.owed -= 1;
    }
  }
}
