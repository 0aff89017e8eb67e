/**
 * What the controller may send to one node now, by the node's record alone (node-limits.ts):
 * the unambiguous step of a decrease, whether a published limit may be sent again, and the
 * command that carries it. Pure.
 */
import { floorToResolution } from './quantize';
import { isAmbiguous, minPossible, type NodeLimits } from './node-limits';
import { sendCeilingKw } from './restart';
import type { DlmCommand } from './types';

/** Slack for floating-point comparisons against C (kW). */
export const CAPACITY_EPSILON_KW = 1e-9;

/**
 * The value to send now for a decrease to `kw`: `kw` itself, or — when a report of it would
 * be ambiguous — the lowest value a few resolution steps above it (still below what was
 * published) that is not; the decrease to `kw` follows once the hub reports that one.
 * Null when none exists yet.
 */
export function decreaseStep(s: NodeLimits, kw: number, res: number, tol: number): number | null {
  for (let k = 0; k <= s.possible.length; k++) {
    const v = k === 0 ? kw : floorToResolution(kw + k * res + res / 2, res);
    if (v >= s.published) return null;
    if (!isAmbiguous(s, v, tol)) return v;
  }
  return null;
}

/**
 * May `published` be sent again? Yes when it cannot raise the hub above any state it may be
 * in, or when the hub, once it applies it, is within C whatever the other nodes are at
 * (published + Σ in force of the others ≤ C); while a restart leaves the node unsettled, only
 * up to what the hub reported for it since (restart.ts).
 */
export function mayResend(s: NodeLimits, totalInForceKw: number, capacityKw: number, tol: number): boolean {
  const ceiling = sendCeilingKw(s, tol);
  if (ceiling !== Number.POSITIVE_INFINITY) return s.published <= ceiling;
  if (s.published <= minPossible(s)) return true;
  return totalInForceKw - s.inForce + s.published <= capacityKw + CAPACITY_EPSILON_KW;
}

/** The command that sends the node's published limit (a re-send repeats the command that set it). */
export function commandOf(
  hubId: string,
  nodeId: string,
  s: NodeLimits,
  nowMs: number,
  capacityKw: number,
  totalInForceKw: number,
): DlmCommand {
  const c = s.command ?? {
    originalLimitKw: s.published,
    reason: 'RESYNC',
    allocationId: `${hubId}:${nowMs}:0`,
  };
  return {
    hubId,
    nodeId,
    originalLimitKw: c.originalLimitKw,
    newLimitKw: s.published,
    reason: c.reason,
    allocationId: c.allocationId,
    ts: nowMs,
    totalGridLoadKw: totalInForceKw,
    availableCapacityKw: Math.max(0, capacityKw - totalInForceKw),
    attempt: s.attempts,
  };
}
