/**
 * Overload handling: the measured load of each hub (Σ power_kw of the latest telemetry of its
 * nodes, kept incrementally: telemetry arrives thousands of times a second) and GRID_OVERLOAD
 * detection. Load up to the limits in force is explained (decreases still in flight); only
 * what is above both C and them is an overload (a node ignoring its limit). Edge triggered:
 * once per excursion.
 */
import { CONFIRM_TOLERANCE_KW, type HubLimitController } from './controller';
import type { DlmCommand } from './types';
import type { NodeView } from '../twin/types';

function kw(x: number | null | undefined): number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0;
}

/** Σ power_kw of the latest telemetry of the nodes. */
export function measuredLoadKw(nodes: readonly NodeView[]): number {
  let sum = 0;
  for (const n of nodes) sum += kw(n.telemetry?.powerKw);
  return sum;
}

export class OverloadMonitor {
  private readonly power = new Map<string, { byNode: Map<string, number>; sum: number }>();
  private readonly overloaded = new Set<string>();

  /**
   * Records a node's measured power; returns true when the hub just went into overload
   * (measured > max(C, Σ in force) + tolerance, and it was not before).
   */
  onTelemetry(
    hubId: string,
    nodeId: string,
    powerKw: number,
    nodesOf: () => readonly NodeView[],
    capacityKw: number | null,
    inForceKw: number,
  ): boolean {
    const sum = this.track(hubId, nodeId, powerKw, nodesOf);
    const over = capacityKw !== null && sum > Math.max(capacityKw, inForceKw) + CONFIRM_TOLERANCE_KW;
    const rise = over && !this.overloaded.has(hubId);
    if (over) this.overloaded.add(hubId);
    else this.overloaded.delete(hubId);
    return rise;
  }

  /** Records a node's measured power without an overload check (one check per batch and hub). */
  track(hubId: string, nodeId: string, powerKw: number, nodesOf: () => readonly NodeView[]): number {
    let p = this.power.get(hubId);
    if (!p) {
      p = { byNode: new Map(), sum: 0 };
      for (const n of nodesOf()) {
        const v = kw(n.telemetry?.powerKw);
        p.byNode.set(n.nodeId, v);
        p.sum += v;
      }
      this.power.set(hubId, p);
    }
    p.sum += kw(powerKw) - (p.byNode.get(nodeId) ?? 0);
    p.byNode.set(nodeId, kw(powerKw));
    if (p.sum < 0) p.sum = 0;
    return p.sum;
  }

  /** The hub went away: a new excursion starts when it is back. */
  forget(hubId: string): void {
    this.overloaded.delete(hubId);
  }
}

/**
 * GRID_OVERLOAD: nodes drawing more than the limit in force are told their limit again
 * (unless this allocation just sent them one, or a restart left it unsettled: its published
 * limit may be a stored hint above what the hub has). Changes no state.
 */
export function retell(
  ctl: HubLimitController,
  nodes: readonly NodeView[],
  sent: readonly DlmCommand[],
  nowMs: number,
): DlmCommand[] {
  const told = new Set([...sent.map((c) => c.nodeId), ...(ctl.unsettled()?.nodes ?? [])]);
  const published = ctl.published();
  const inForce = ctl.inForce();
  const total = ctl.totalInForceKw();
  const out: DlmCommand[] = [];
  const allocationId = sent[0]?.allocationId ?? `${ctl.hubId}:${nowMs}:overload`;
  for (const n of [...nodes].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0))) {
    if (told.has(n.nodeId) || !n.telemetry) continue;
    const limit = published.get(n.nodeId) ?? 0;
    if (n.telemetry.powerKw > (inForce.get(n.nodeId) ?? 0) + CONFIRM_TOLERANCE_KW) {
      out.push({
        hubId: ctl.hubId,
        nodeId: n.nodeId,
        originalLimitKw: limit,
        newLimitKw: limit,
        reason: 'GRID_OVERLOAD',
        allocationId,
        ts: nowMs,
        totalGridLoadKw: total,
        availableCapacityKw: Math.max(0, ctl.capacityKw - total),
        attempt: 1,
      });
    }
  }
  return out;
}
