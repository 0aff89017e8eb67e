// Between the twin and PostgreSQL: twin changes → rows to write, stored rows → the
// snapshot the twin restores from at start. Pure functions.
import type {
  TwinChange,
  TwinSnapshot,
  HubRecord,
  NodeRecord,
  VehicleRecord,
  SessionRecord,
} from '../../core/twin';
import type { SessionView } from '../../core/twin';
import type { DlmEventMessage } from '../../core/contract';
import type { WriteItem } from './write-queue';
import type { LoadedState, SessionUpsert } from './rows';

function sessionRow(s: SessionView): SessionUpsert {
  return {
    session_id: s.sessionId,
    hub_id: s.hubId,
    node_id: s.nodeId,
    vehicle_id: s.vehicleId,
    start_time: s.startTs,
    end_time: s.endTs,
    energy_kwh: s.energyKwh,
    average_power_kw: s.averagePowerKw,
    peak_power_kw: s.peakPowerKw,
    start_soc: s.startSoc,
    end_soc: s.endSoc,
    close_reason: s.closeReason,
    last_sample_at: s.lastSampleTs,
  };
}

/** The rows that keep PostgreSQL in step with these twin changes. */
export function changesToWrites(changes: readonly TwinChange[]): WriteItem[] {
  const out: WriteItem[] = [];
  for (const c of changes) {
    switch (c.type) {
      case 'hub-upserted': {
        const h = c.hub;
        out.push({
          table: 'hubs',
          row: {
            hub_id: h.hubId,
            latitude: h.location?.latitude ?? null,
            longitude: h.location?.longitude ?? null,
            altitude: h.location?.altitude ?? null,
            max_grid_capacity_kw: h.maxGridCapacityKw,
            ip_address: h.ipAddress,
            firmware_version: h.firmwareVersion,
            ...(h.lastSeenMs !== null ? { last_seen: h.lastSeenMs } : {}),
          },
        });
        break;
      }
      case 'hub-state':
        out.push({
          table: 'hubs',
          row: {
            hub_id: c.hubId,
            ...(c.state !== 'unknown' ? { state: c.state } : {}),
            cpu_temp: c.cpuTempC,
            is_active: c.available,
          },
        });
        break;
      case 'node-upserted':
        out.push({
          table: 'nodes',
          row: { hub_id: c.hubId, node_id: c.nodeId, name: c.node.name, max_power_kw: c.node.maxPowerKw },
        });
        break;
      case 'node-state':
        out.push({
          table: 'nodes',
          row: {
            hub_id: c.hubId,
            node_id: c.nodeId,
            ...(c.state !== 'unknown' ? { state: c.state } : {}),
            error_code: c.errorCode,
            current_vehicle_id: c.vehicleId,
            is_maintenance: c.maintenance,
          },
        });
        break;
      case 'node-telemetry':
        out.push({
          table: 'nodes',
          row: {
            hub_id: c.hubId,
            node_id: c.nodeId,
            power_kw: c.powerKw,
            power_limit_kw: c.powerLimitKw,
            last_seen: c.ts,
          },
        });
        break;
      case 'vehicle-upserted': {
        const v = c.vehicle;
        out.push({
          table: 'vehicles',
          row: {
            vehicle_id: v.vehicleId,
            latitude: v.position?.latitude ?? null,
            longitude: v.position?.longitude ?? null,
            ...(v.lastSeenMs !== null ? { last_seen: v.lastSeenMs } : {}),
          },
        });
        break;
      }
      case 'soc':
        out.push({ table: 'vehicles', row: { vehicle_id: c.vehicleId, soc: c.value, soc_source: c.source } });
        break;
      case 'soc-class':
        out.push({ table: 'vehicles', row: { vehicle_id: c.vehicleId, soc_class: c.to } });
        break;
      case 'session-opened':
      case 'session-updated':
      case 'session-closed':
        out.push({ table: 'sessions', row: sessionRow(c.session) });
        break;
      default:
        break;
    }
  }
  return out;
}

/**
 * A DLM event heard on `iot/hubs/{hub}/dlm/events`: ours carry `source` and `allocation_id`;
 * events without them come from a hub's own DLM. The key makes QoS 1 redelivery harmless.
 */
export function dlmEventToWrite(m: DlmEventMessage): WriteItem {
  const d = m.data;
  // Our own notifications say `source: "wpt-dlm"`; in the database they are the orchestrator's.
  const source = d.source === 'wpt-dlm' ? 'orchestrator' : (d.source ?? 'hub');
  const key = [m.hubId, d.affected_node_id, m.ts, d.new_limit, d.allocation_id ?? '', source].join('|');
  return {
    table: 'dlmEvents',
    row: {
      event_key: key,
      hub_id: m.hubId,
      node_id: d.affected_node_id,
      trigger_reason: d.trigger_reason,
      original_limit: d.original_limit,
      new_limit: d.new_limit,
      total_grid_load: d.total_grid_load,
      available_capacity: d.available_capacity,
      source,
      allocation_id: d.allocation_id ?? null,
      policy: d.policy ?? null,
      ts: m.ts,
    },
  };
}

const ms = (d: Date | null): number | null => (d ? d.getTime() : null);

/** What the twin restores from at start: hubs, nodes, vehicles and open sessions. */
export function loadedStateToSnapshot(s: LoadedState): TwinSnapshot {
  const hubState = new Map(s.hubs.map((h) => [h.hub_id, h.state]));
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
    lastSeenMs: ms(h.last_seen),
  }));
  const nodes: NodeRecord[] = s.nodes.map((n) => ({
    hubId: n.hub_id,
    nodeId: n.node_id,
    name: n.name,
    maxPowerKw: n.max_power_kw,
    state: (n.state as NodeRecord['state']) ?? 'unknown',
    errorCode: n.error_code,
    statusVehicleId: n.current_vehicle_id,
    // Stored is the effective flag; a hub in maintenance puts it back by itself.
    operatorMaintenance: n.is_maintenance && hubState.get(n.hub_id) !== 'maintenance',
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
  }));
  // The power of a session's last sample is not a column of its own: it is the node's
  // power_kw when the node's last telemetry (nodes.last_seen) is that sample. Without it the
  // twin could not integrate the trapezoid from that sample to the first one after a restart.
  const nodeRows = new Map(s.nodes.map((n) => [`${n.hub_id}\u0000${n.node_id}`, n]));
  const lastPowerOf = (x: LoadedState['openSessions'][number]): number | undefined => {
    const n = nodeRows.get(`${x.hub_id}\u0000${x.node_id}`);
    const at = ms(x.last_sample_at);
    return n && at !== null && n.power_kw !== null && ms(n.last_seen) === at ? n.power_kw : undefined;
  };
  const sessions: SessionRecord[] = s.openSessions
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
  return { version: 1, hubs, nodes, vehicles, sessions };
}
