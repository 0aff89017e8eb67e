// POST /recommendations as the original scored it (ORIGINAL-API.md), with the power our DLM
// would give: score = 0.6/(1+d) + 0.3·power/50 + 0.1·(100−battery)/100, highest first (the
// first on ties); wait = max(1, ⌊minutes to drive d at 30 km/h⌋); d by haversine, R = 6371 km.
//
// Where this differs from the original (documented in the node's help and the README):
// - power is what the DLM would allocate to the node with this vehicle assigned there (the
//   hub's allocation re-run with it, under the operator's overrides, the reserve and the wire
//   resolution), not the node's last reported `power_limit_kw`: an idle node's limit is 0 here;
// - candidates are nodes of hubs that are active (operator), available (online, fresh) and
//   have a location and a capacity; a node is left out when in maintenance or faulted, when in
//   use (telemetry of the last hour says occupied, it is charging, or a request holds it), or
//   when the DLM would give it nothing.
import type { HubView, NodeView, VehicleView } from '../../../core/twin';
import { allocateHub, hubActive, nodeMaxKw, type HubDlmSettings } from '../../../core/dlm';
import { float } from './json';

export const ORIGINAL_EARTH_RADIUS_KM = 6371;
/** Speed the original assumed for the wait (km/h). */
export const ORIGINAL_SPEED_KMH = 30;
const HOUR_MS = 3_600_000;

export interface OriginalRecTwin {
  hub(id: string): HubView | undefined;
  hubs(): HubView[];
  nodesOf(hubId: string): NodeView[];
  vehicle(id: string): VehicleView | undefined;
}

export interface OriginalRecRequest {
  latitude: number;
  longitude: number;
  battery_level: number;
}

export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * ORIGINAL_EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

export function originalScore(distanceKm: number, powerKw: number, batteryLevel: number): number {
  return 0.6 / (1 + distanceKm) + (0.3 * powerKw) / 50 + (0.1 * (100 - batteryLevel)) / 100;
}

/** Minutes to drive at 30 km/h, whole, at least 1. */
export function originalWaitMin(distanceKm: number): number {
  return Math.max(1, Math.floor((distanceKm / ORIGINAL_SPEED_KMH) * 60));
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Is the node in use: occupied by its telemetry of the last hour, charging, or held by a request? */
export function nodeInUse(n: NodeView, nowMs: number): boolean {
  const t = n.telemetry;
  const occupied = t !== null && t.isOccupied && nowMs - t.ts <= HOUR_MS;
  return occupied || n.state === 'charging' || n.assignedVehicleId !== null;
}

/**
 * The power the DLM would allocate to `node` if a vehicle at `batteryLevel` were assigned
 * there now (every other node of the hub as it is).
 */
export function whatIfPowerKw(
  twin: OriginalRecTwin,
  hub: HubView,
  nodes: readonly NodeView[],
  node: NodeView,
  batteryLevel: number,
  dlm: HubDlmSettings,
  nowMs: number,
): number {
  const candidate: NodeView = {
    ...node,
    assignedVehicleId: '\u0000candidate',
    assignedSoc: batteryLevel,
    vehicleId: null,
  };
  const all = nodes.map((n) => (n.nodeId === node.nodeId ? candidate : n));
  const r = allocateHub(hub, all, twin, dlm, nowMs);
  return r.allocations.find((a) => a.nodeId === node.nodeId)?.limitKw ?? 0;
}

export interface OriginalRecommendation {
  hub_id: string;
  node_id: string;
  hub_latitude: ReturnType<typeof float>;
  hub_longitude: ReturnType<typeof float>;
  distance_km: ReturnType<typeof float>;
  estimated_wait_time_min: number;
  available_power_kw: ReturnType<typeof float>;
}

/** The best node, or null when there is no candidate (the original's 404). */
export function recommendOriginal(
  twin: OriginalRecTwin,
  req: OriginalRecRequest,
  dlm: HubDlmSettings,
  nowMs: number,
): OriginalRecommendation | null {
  let best: { score: number; hub: HubView; node: NodeView; d: number; power: number } | null = null;
  for (const hub of twin.hubs()) {
    if (!hubActive(hub) || !hub.available || !hub.location || hub.maxGridCapacityKw === null) continue;
    const nodes = twin.nodesOf(hub.hubId);
    const d = haversineKm(req.latitude, req.longitude, hub.location.latitude, hub.location.longitude);
    for (const node of nodes) {
      if (node.maintenance || node.state === 'faulted' || nodeInUse(node, nowMs) || !(nodeMaxKw(node) > 0))
        continue;
      const power = whatIfPowerKw(twin, hub, nodes, node, req.battery_level, dlm, nowMs);
      if (!(power > 0)) continue;
      const score = originalScore(d, power, req.battery_level);
      if (best === null || score > best.score) best = { score, hub, node, d, power };
    }
  }
  if (!best) return null;
  const loc = best.hub.location!;
  return {
    hub_id: best.hub.hubId,
    node_id: best.node.nodeId,
    hub_latitude: float(loc.latitude),
    hub_longitude: float(loc.longitude),
    distance_km: float(round2(best.d)),
    estimated_wait_time_min: originalWaitMin(best.d),
    available_power_kw: float(round2(best.power)),
  };
}
