/**
 * After a restart, the limits in force at a hub are not known: the limits restored from
 * storage (the latest DLM event of each node) are only a hint — our previous run may have
 * sent limits it never stored (PostgreSQL was away, or it died before writing them), and some
 * of them may still be on their way to the hub. What holds, per node (LimitBook, node-limits.ts):
 *
 * - Until settled, a node counts against C at `priorKw` = max(stored limit, its max power):
 *   whatever our previous run sent or still has in flight, never above that. A report never
 *   lowers that count by itself.
 * - A send to an unsettled node never goes above the highest value the hub reported for it
 *   since the restore (0 before its first report): the hub was at that value after every
 *   decrease our previous run counted on, so no state of the hub goes above what that run
 *   counted. Every increase at the hub is held (HoldReason 'restart').
 * - The stored limit is not re-sent: a node's first report is adopted as its published limit
 *   (re-sent as the RESYNC, or moved by the pending allocation, decreases first). A decrease
 *   waits for the node's first report for a re-send period (resendS) after the restore — then
 *   its report shows the drain, below — and goes anyway after it (only to 0 before a report).
 * - Settled: our limits reach the hub on one topic, in order, after everything our previous run
 *   published. So a report showing that the hub applied a limit of ours that differs from the
 *   state it had reported before (`provesDrain`) shows every earlier message applied: from then
 *   on each node settles at its next report. Failing that, a node settles at a report received
 *   once the hub has been present for a whole delivery window since the restore (a message
 *   still unapplied by then was lost: see LimitBook's delivery window).
 * - When every node has reported, nothing of ours is in flight and an increase waits, no
 *   report can show the drain (each matches what the hub had): one node is lowered a little
 *   (`drainProbe`) so that its report does; it gets its limit back with the other increases.
 * - A hub whose nodes are still unsettled two delivery windows after the restore raises the
 *   alarm `hub-limits-unknown` (its increases stay held) until they settle.
 *
 * Assumed (like the rest of the controller): the broker delivers to a hub in the order it
 * received the messages. Not covered: a message of our previous run still in flight that
 * carries exactly the value of the command of ours that `provesDrain` takes as applied; a node
 * neither stored nor known to the twin at the restore (it counts at what it reports, as any
 * node never seen).
 *
 * Pure; time is a parameter.
 */
import { newNodeLimits, refresh, type NodeLimits } from './node-limits';
import { floorToResolution } from './quantize';
import type { NodeView } from '../twin/types';

/** A limit in force known from storage (latest orchestrator DLM event of the node). */
export interface RestoredLimit {
  hubId: string;
  nodeId: string;
  limitKw: number;
}

/** A node restored from storage: published = the stored limit, counted at max(stored, its max). */
export function restoredNode(hintKw: number, maxKw: number): NodeLimits {
  const s = newNodeLimits(hintKw, false);
  s.priorKw = Math.max(hintKw, maxKw);
  s.hinted = true;
  refresh(s);
  return s;
}

/** The highest limit that may be sent to the node now (+∞ once settled). */
export function sendCeilingKw(s: NodeLimits, tol: number): number {
  return s.priorKw === null ? Number.POSITIVE_INFINITY : (s.reportedMaxKw ?? 0) + tol;
}

/**
 * Does the report `r` (before it is applied to `s`) show that the hub applied a limit we sent
 * since the restore, one that differs from the state the hub had reported before it?
 */
export function provesDrain(s: NodeLimits, r: number, tol: number): boolean {
  if (s.reportedMaxKw === null) return false; // the state is the stored hint, not a report
  const state = s.possible[0] as number;
  if (Math.abs(r - state) <= tol) return false;
  for (let i = 1; i < s.possible.length; i++) {
    const p = s.possible[i] as number;
    if (Math.abs(r - p) <= tol) return Math.abs(p - state) > tol;
  }
  return false;
}

/**
 * The probe that makes a hub show it drained: the unsettled node with the highest reported
 * limit above 0 (then the first by nodeId), lowered by `stepKw` (at least the resolution; to 0
 * when it has less) — a value the hub has not reported. Null when every node is at 0 (then
 * only a delivery window of reports settles the hub).
 */
export function drainProbe(
  nodes: ReadonlyArray<[string, NodeLimits]>,
  stepKw: number,
  res: number,
): { nodeId: string; kw: number } | null {
  let best: { nodeId: string; state: number } | null = null;
  for (const [nodeId, s] of nodes) {
    const state = s.possible[0] as number;
    if (s.priorKw === null || s.reportedMaxKw === null || s.possible.length > 1 || state <= 0) continue;
    if (!best || state > best.state) best = { nodeId, state };
  }
  if (!best) return null;
  const step = Math.max(stepKw, res);
  return { nodeId: best.nodeId, kw: best.state <= step ? 0 : floorToResolution(best.state - step, res) };
}

/** Stored limits by hub, then node (a non-finite or negative limit is 0). */
export function restoredByHub(limits: readonly RestoredLimit[]): Map<string, Map<string, number>> {
  const byHub = new Map<string, Map<string, number>>();
  for (const l of limits) {
    let m = byHub.get(l.hubId);
    if (!m) byHub.set(l.hubId, (m = new Map()));
    m.set(l.nodeId, Number.isFinite(l.limitKw) && l.limitKw > 0 ? l.limitKw : 0);
  }
  return byHub;
}

/**
 * The most our previous run may have sent each node: its max power as the hub reports it (an
 * operator's lower override may be newer than a limit still in flight), by nodeId.
 */
export function maxPowerByNode(nodes: readonly NodeView[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of nodes) {
    const kw = n.maxPowerKw;
    m.set(n.nodeId, typeof kw === 'number' && Number.isFinite(kw) && kw > 0 ? kw : 0);
  }
  return m;
}
