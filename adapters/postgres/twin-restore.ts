// Stored rows → the snapshot the twin restores from at start.
import type {
  ControlRecords,
  HubRecord,
  NodeRecord,
  RemoteState,
  SessionRecord,
  TwinSnapshot,
  VehicleRecord,
} from '../../core/twin';
import type { HubRow, LoadedState, NodeRow, VehicleRow } from './rows';
import type { NodeTelemetryRow } from './reads';

const ms = (d: Date | null): number | null => (d ? d.getTime() : null);
const later = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.max(a, b);

/** What the twin restores from at start: hubs, nodes, vehicles and open sessions. */
export function loadedStateToSnapshot(s: LoadedState): TwinSnapshot {
  // A hub's last sign of life: its own, or its nodes' latest telemetry.
  const nodeSeen = new Map<string, number | null>();
  for (const n of s.nodes) nodeSeen.set(n.hub_id, later(nodeSeen.get(n.hub_id) ?? null, ms(n.last_seen)));
  const hubs: HubRecord[] = s.hubs.map((h) => ({
    hubId: h.hub_id,
    location:
      h.latitude !== null && h.longitude !== null
        ? { latitude: h.latitude, longitude: h.longitude, altitude: h.altitude ?? 0 }
        : null,
    maxGridCapacityKw: h.max_grid_capacity_kw,
    ipAddress: h.ip_address,
    firmwareVersion: h.firmware_version,
    state: (h.state as HubRecord['state']) ?? 'unknown',
    cpuTempC: h.cpu_temp,
    lastSeenMs: later(ms(h.last_seen), nodeSeen.get(h.hub_id) ?? null),
    active: h.is_active,
    capacityOverride:
      h.capacity_override_kw !== null
        ? {
            kw: h.capacity_override_kw,
            fromMs: ms(h.capacity_override_from),
            untilMs: ms(h.capacity_override_until),
          }
        : null,
    registered: h.registered,
  }));
  const nodes: NodeRecord[] = s.nodes.map((n) => ({
    hubId: n.hub_id,
    nodeId: n.node_id,
    name: n.name,
    maxPowerKw: n.max_power_kw,
    state: (n.state as NodeRecord['state']) ?? 'unknown',
    errorCode: n.error_code,
    statusVehicleId: n.current_vehicle_id,
    operatorMaintenance: n.operator_maintenance,
    maxPowerOverrideKw: n.max_power_override_kw,
    registered: n.registered,
    assignedVehicleId: n.assigned_vehicle_id,
    assignedAtMs: ms(n.assigned_at),
    assignedTs: ms(n.assigned_ts),
    assignedSoc: n.assigned_soc,
    operatorEndedVehicleId: n.operator_ended_vehicle_id,
    lastSeenMs: ms(n.last_seen),
  }));
  const vehicles: VehicleRecord[] = s.vehicles.map((v) => ({
    vehicleId: v.vehicle_id,
    position:
      v.latitude !== null && v.longitude !== null
        ? { latitude: v.latitude, longitude: v.longitude, altitude: 0 }
        : null,
    soc: v.soc,
    socSource: (v.soc_source as VehicleRecord['socSource']) ?? null,
    socClass: (v.soc_class as VehicleRecord['socClass']) ?? undefined,
    priority: v.priority,
    batteryKwh: v.battery_capacity_kwh,
    model: v.model,
    manufacturer: v.manufacturer,
    driver: v.driver,
    lastSeenMs: ms(v.last_seen),
    registered: v.registered,
  }));
  // The power of a session's last sample is not a column of its own: it is the node's
  // power_kw when the node's last telemetry (nodes.last_seen) is that sample. Without it the
  // twin could not integrate the trapezoid from that sample to the first one after a restart.
  const sessions = sessionRecordsOf(s);
  return { version: 1, hubs, nodes, vehicles, sessions };
}

/**
 * Open session rows → the records the twin continues (restart, or a hub taken over). The
 * last sample's power is the node's stored power when its last report is that sample.
 */
export function sessionRecordsOf(s: Pick<LoadedState, 'openSessions' | 'nodes'>): SessionRecord[] {
  const nodeRows = new Map(s.nodes.map((n) => [JSON.stringify([n.hub_id, n.node_id]), n]));
  const lastPowerOf = (x: LoadedState['openSessions'][number]): number | undefined => {
    const n = nodeRows.get(JSON.stringify([x.hub_id, x.node_id]));
    const at = ms(x.last_sample_at);
    return n && at !== null && n.power_kw !== null && ms(n.last_seen) === at ? n.power_kw : undefined;
  };
  return s.openSessions
    .filter((x) => x.vehicle_id !== null)
    .map((x) => {
      const lastPowerKw = lastPowerOf(x);
      return {
        sessionId: x.session_id,
        hubId: x.hub_id,
        nodeId: x.node_id,
        vehicleId: x.vehicle_id as string,
        startTs: x.start_time.getTime(),
        endTs: null,
        lastSampleTs: ms(x.last_sample_at),
        ...(lastPowerKw !== undefined ? { lastPowerKw } : {}),
        energyKwh: x.energy_kwh,
        peakPowerKw: x.peak_power_kw ?? 0,
        startSoc: x.start_soc,
        endSoc: x.end_soc,
      };
    });
}

/**
 * Stored rows of the entities operators changed → their settings, and what they deleted
 * (cluster mode: Twin.syncControls).
 */
export function controlRecordsOf(r: {
  hubs: HubRow[];
  nodes: NodeRow[];
  vehicles: VehicleRow[];
  deleted?: ControlRecords['deleted'];
}): ControlRecords {
  const s = loadedStateToSnapshot({
    hubs: r.hubs,
    nodes: r.nodes,
    vehicles: r.vehicles,
    openSessions: [],
    lastLimits: [],
  });
  return { hubs: s.hubs, nodes: s.nodes, vehicles: s.vehicles, ...(r.deleted ? { deleted: r.deleted } : {}) };
}

/** Stored node telemetry and vehicle rows → what other instances heard (cluster mode: Twin.applyRemote). */
export function remoteStateOf(nodes: readonly NodeTelemetryRow[], vehicles: VehicleRow[]): RemoteState {
  return {
    nodes: nodes
      .filter((x) => x.last_seen !== null)
      .map((x) => ({
        hubId: x.hub_id,
        nodeId: x.node_id,
        ts: x.last_seen!.getTime(),
        powerKw: x.power_kw,
        powerLimitKw: x.power_limit_kw,
        vehicleId: x.current_vehicle_id,
      })),
    vehicles: loadedStateToSnapshot({ hubs: [], nodes: [], vehicles, openSessions: [], lastLimits: [] })
      .vehicles,
  };
}
