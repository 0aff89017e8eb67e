/**
 * The allocation of one hub from the twin. Every node of the hub is in it, sorted by nodeId;
 * active nodes (charging, or assigned by a request; not faulted, not in maintenance) demand
 * their max power — min(reported, operator override) — the others 0, so a node in maintenance,
 * or every node of a hub an operator switched off, goes to 0. critical = the vehicle's SoC
 * class from the fleet is 'critical' or it is a priority vehicle; only when the twin does not
 * know the vehicle is `criticalSoc` compared with the node's SoC. C: see effective.ts. Limits
 * are rounded down to the wire resolution.
 *
 * `runAllocation` applies it to the hub's controller: the RESYNC first when one is due, an
 * inactive hub's zeros as HUB_INACTIVE, and after GRID_OVERLOAD the limits re-told (overload.ts).
 */
import { allocate } from './allocate';
import type { HubDlmSettings } from './config';
import type { HubLimitController } from './controller';
import { gridCapacityKw, hubActive, nodeMaxKw } from './effective';
import { measuredLoadKw, retell } from './overload';
import { WIRE_RESOLUTION_KW } from './quantize';
import type { DueAllocation } from './scheduler';
import type { AllocInput, AllocResult, DlmCommand, TriggerReason } from './types';
import type { HubView, NodeView, VehicleView } from '../twin/types';

/** The part of the twin the engine reads (the `Twin` class satisfies it). */
export interface TwinView {
  hub(hubId: string): HubView | undefined;
  hubs(): HubView[];
  nodesOf(hubId: string): NodeView[];
  vehicle(vehicleId: string): VehicleView | undefined;
}

/** What the last allocation of a hub did (for status and inspection). */
export interface HubAllocationInfo {
  hubId: string;
  reason: TriggerReason;
  reasons: TriggerReason[];
  ts: number;
  result: AllocResult;
  /** Commands sent by this allocation (RESYNC re-sends included). */
  commands: number;
  /** Measured load (Σ power_kw of the latest telemetry) at the time. */
  measuredLoadKw: number;
}

/** Is the node active (wants power) for the allocation? */
export function isActiveNode(n: NodeView): boolean {
  if (n.state === 'faulted' || n.maintenance) return false;
  return n.state === 'charging' || n.assignedVehicleId !== null;
}

function allocInput(n: NodeView, twin: TwinView, cfg: HubDlmSettings, hubOn: boolean): AllocInput {
  const maxPowerKw = nodeMaxKw(n);
  if (!hubOn || !isActiveNode(n))
    return { nodeId: n.nodeId, maxPowerKw, demandKw: 0, soc: null, critical: false };
  const v = n.vehicleId !== null ? twin.vehicle(n.vehicleId) : undefined;
  const soc = v?.soc ?? n.assignedSoc ?? n.telemetry?.soc ?? null;
  const critical = v ? v.socClass === 'critical' || v.priority : soc !== null && soc < cfg.criticalSoc;
  return { nodeId: n.nodeId, maxPowerKw, soc, critical };
}

/** Allocates the hub's capacity at nowMs over `nodes` (the hub's nodes in the twin). */
export function allocateHub(
  hub: HubView,
  nodes: readonly NodeView[],
  twin: TwinView,
  cfg: HubDlmSettings,
  nowMs: number,
): AllocResult {
  const on = hubActive(hub);
  const inputs = nodes
    .map((n) => allocInput(n, twin, cfg, on))
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  return allocate(on ? (gridCapacityKw(hub, nowMs) ?? 0) : 0, inputs, {
    policy: cfg.policy,
    reserve: cfg.reserve,
    resolutionKw: WIRE_RESOLUTION_KW,
  });
}

/**
 * Runs a due allocation of an available hub on its controller (its capacity already set):
 * the RESYNC's re-sends first when `resync`, then the allocation's commands, in publishing order.
 */
export function runAllocation(
  ctl: HubLimitController,
  hub: HubView,
  twin: TwinView,
  cfg: HubDlmSettings,
  d: DueAllocation,
  resync: boolean,
  nowMs: number,
): { commands: DlmCommand[]; info: HubAllocationInfo } {
  const cmds: DlmCommand[] = [];
  if (resync) cmds.push(...ctl.resync(nowMs));
  const nodes = twin.nodesOf(d.hubId);
  const result = allocateHub(hub, nodes, twin, cfg, nowMs);
  const measured = measuredLoadKw(nodes);
  const reason = hubActive(hub) ? d.reason : 'HUB_INACTIVE';
  const applied = ctl.apply(result, reason, nowMs, { gridLoadKw: measured });
  cmds.push(...applied);
  if (d.reason === 'GRID_OVERLOAD') cmds.push(...retell(ctl, nodes, applied, nowMs));
  const info: HubAllocationInfo = {
    hubId: d.hubId,
    reason: d.reason,
    reasons: d.reasons,
    ts: nowMs,
    result,
    commands: cmds.length,
    measuredLoadKw: measured,
  };
  return { commands: cmds, info };
}
