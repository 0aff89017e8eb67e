// Request assignments: a vehicle's request reserves a node until it charges there, the
// assignment is replaced or cleared, or it times out.
import { hubRefusal, nodeRefusal, vehicleRefusal } from './bounds';
import { hubAvailable, maintenanceOf, type NodeEntity } from './entities';
import type { AssignRejectReason, AssignResult, AssignmentClearReason, TwinChange } from './changes';
import type { TwinState } from './state';
import { reportSoc } from './vehicle-soc';
import { isId, isNum, isSoc } from './guards';

/**
 * Why a request of vehicleId for (hubId, nodeId) would be refused now, or null. Changes nothing.
 * `silentHub`: a hub that has not said it is offline but was not heard from lately (stale, or
 * not heard since a restart) is refused (the REST API: nobody would answer) or accepted (a
 * request that came over MQTT: it may have waited in our broker session while we or our broker
 * were away; the DLM powers the node once the hub is heard again, or the assignment times out).
 */
export function checkAssign(
  st: TwinState,
  hubId: string,
  nodeId: string,
  vehicleId: string,
  nowMs: number,
  silentHub: 'refuse' | 'accept' = 'refuse',
): AssignRejectReason | null {
  if (!isNum(nowMs) || !isId(hubId) || !isId(nodeId) || !isId(vehicleId)) return 'invalid-input';
  const hub = st.hubs.get(hubId);
  const node = hub?.nodes.get(nodeId);
  if (!hub || !node) return 'unknown-node';
  const refused =
    hubRefusal(st, hubId, hub) ??
    nodeRefusal(st, hubId, nodeId, node) ??
    vehicleRefusal(st, vehicleId, st.vehicles.get(vehicleId));
  if (refused) return refused.reason;
  if (!hub.active) return 'hub-inactive';
  if (hub.state !== 'online' && hub.state !== 'unknown') return 'hub-unavailable';
  if (silentHub === 'refuse' && !hubAvailable(hub)) return 'hub-unavailable';
  if (hub.maxGridCapacityKw === null) return 'hub-no-capacity';
  if (node.state === 'faulted') return 'node-faulted';
  if (maintenanceOf(node)) return 'node-maintenance';
  const busyWith =
    node.session?.vehicleId ??
    (node.state === 'charging' ? node.statusVehicleId : null) ??
    (node.assignedAtMs !== null && nowMs - node.assignedAtMs <= st.config.assignmentTimeoutS * 1000
      ? node.assignedVehicleId
      : null);
  if (busyWith !== null && busyWith !== vehicleId) return 'node-busy';
  return null;
}

/**
 * Assigns vehicleId to (hubId, nodeId) unless checkAssign refuses it (nothing changed then).
 * `ts` is the request's message time (for ordering the SoC report and recognising a
 * redelivered request: the same vehicle, time and SoC again changes nothing). Reports
 * node-assigned (after the creation of the vehicle and the clearing of another vehicle's
 * assignment it replaces).
 */
export function assign(
  st: TwinState,
  hubId: string,
  nodeId: string,
  vehicleId: string,
  soc: number | null,
  nowMs: number,
  ts: number,
): AssignResult {
  if (!isNum(ts)) return { ok: false, reason: 'invalid-input' };
  if (soc !== null && !isSoc(soc)) return { ok: false, reason: 'invalid-input' };
  const refused = checkAssign(st, hubId, nodeId, vehicleId, nowMs, 'accept');
  if (refused) return { ok: false, reason: refused };
  const node = st.node(hubId, nodeId) as NodeEntity;
  if (node.assignedVehicleId === vehicleId && node.assignedTs === ts && node.assignedSoc === soc) {
    return { ok: true, changes: [] }; // the same request again (QoS 1 redelivery)
  }
  const out: TwinChange[] = [];
  const v = st.ensureVehicle(vehicleId, ts, out);
  const alreadyCharging = node.session !== null && node.session.vehicleId === vehicleId;
  if (!alreadyCharging) {
    if (node.assignedVehicleId !== null && node.assignedVehicleId !== vehicleId)
      clearAssignment(st, node, 'replaced', ts, out);
    node.assignedVehicleId = vehicleId;
    node.assignedAtMs = nowMs;
    node.assignedTs = ts;
    node.assignedSoc = soc;
    st.assignedNodes.add(node);
  }
  out.push({ type: 'node-assigned', ts, hubId, nodeId, vehicleId, soc, atMs: nowMs, alreadyCharging });
  if (soc !== null) reportSoc(st, v, soc, 'request', ts, out);
  return { ok: true, changes: out };
}

export function clearAssignment(
  st: TwinState,
  node: NodeEntity,
  reason: AssignmentClearReason,
  ts: number,
  out: TwinChange[],
): void {
  const vehicleId = node.assignedVehicleId;
  if (vehicleId === null) return;
  node.assignedVehicleId = null;
  node.assignedAtMs = null;
  node.assignedTs = null;
  node.assignedSoc = null;
  st.assignedNodes.delete(node);
  out.push({
    type: 'node-assignment-cleared',
    ts,
    hubId: node.hub.hubId,
    nodeId: node.nodeId,
    vehicleId,
    reason,
  });
}

/** Assignments older than assignmentTimeoutS at nowMs are dropped. */
export function expireAssignments(st: TwinState, nowMs: number, out: TwinChange[]): void {
  const timeoutMs = st.config.assignmentTimeoutS * 1000;
  for (const node of [...st.assignedNodes]) {
    if (node.assignedAtMs !== null && nowMs - node.assignedAtMs > timeoutMs) {
      clearAssignment(st, node, 'timeout', nowMs, out);
    }
  }
}
