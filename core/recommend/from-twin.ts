// The twin as the recommendation engine sees it: hubs with their nodes, the vehicles at
// busy nodes and when their sessions are expected to end.
import type { HubView, NodeView, VehicleView } from '../twin';
import type { RecHub, RecNode, RecRequest } from './types';

export interface RecTwin {
  hubs(): HubView[];
  nodesOf(hubId: string): NodeView[];
  vehicle(id: string): VehicleView | undefined;
}

export interface FromTwinOptions {
  /** Capacity assumed for vehicles whose battery is unknown (kWh). */
  defaultBatteryKwh: number;
  /** SoC a vehicle charging now is assumed to stop at (%; 100 once it is past it). */
  assumedTargetSoc: number;
}

/** When the session at a busy node is expected to end, or null when it cannot be told. */
export function expectedEndMs(
  soc: number | null,
  powerKw: number | null,
  batteryKwh: number,
  targetSoc: number,
  nowMs: number,
): number | null {
  if (soc === null || powerKw === null || !(powerKw > 0)) return null;
  const target = soc >= targetSoc ? 100 : targetSoc;
  const hours = (((target - soc) / 100) * batteryKwh) / powerKw;
  return nowMs + Math.max(0, hours) * 3_600_000;
}

export function recHubsFromTwin(twin: RecTwin, nowMs: number, opts: FromTwinOptions): RecHub[] {
  const out: RecHub[] = [];
  for (const h of twin.hubs()) {
    if (!h.location || h.maxGridCapacityKw === null) continue;
    const nodes: RecNode[] = [];
    for (const n of twin.nodesOf(h.hubId)) {
      if (n.maxPowerKw === null) continue;
      const v = n.vehicleId ? twin.vehicle(n.vehicleId) : undefined;
      const occupied = n.telemetry?.isOccupied === true || n.vehicleId !== null;
      const soc = v?.soc ?? n.telemetry?.soc ?? null;
      const inUse = occupied || n.state === 'charging' || n.state === 'full';
      nodes.push({
        nodeId: n.nodeId,
        maxPowerKw: n.maxPowerKw,
        state: n.state === 'unknown' ? 'idle' : n.state,
        maintenance: n.maintenance,
        occupied,
        vehicleSoc: inUse ? soc : null,
        critical: inUse && v?.socClass === 'critical',
        expectedEndMs: inUse
          ? expectedEndMs(
              soc,
              n.telemetry?.powerKw ?? null,
              v?.batteryKwh ?? opts.defaultBatteryKwh,
              opts.assumedTargetSoc,
              nowMs,
            )
          : null,
      });
    }
    out.push({
      hubId: h.hubId,
      latitude: h.location.latitude,
      longitude: h.location.longitude,
      capacityKw: h.maxGridCapacityKw,
      available: h.available,
      nodes,
    });
  }
  return out;
}

/**
 * A request completed from the vehicle's registered profile: its battery capacity when the
 * request gives none (`batteryGiven`), and its priority.
 */
export function withVehicleProfile(
  req: RecRequest,
  batteryGiven: boolean,
  vehicle: Pick<VehicleView, 'batteryKwh' | 'priority'> | undefined,
): RecRequest {
  if (!vehicle) return req;
  return {
    ...req,
    ...(!batteryGiven && vehicle.batteryKwh ? { battery_capacity_kwh: vehicle.batteryKwh } : {}),
    ...(vehicle.priority ? { priority: true } : {}),
  };
}
