// The twin and the stored history in the original API's shapes (ORIGINAL-API.md §3), field
// order as the original sent them, floats as floats, nullable fields always present.
import type { HubView, NodeView, SessionView, TwinChange, VehicleView } from '../../../core/twin';
import type { NumberedDlmEventRow, NumberedSessionRow } from '../../../adapters/postgres';
import { kw } from '../api/people';
import { float, floatOrNull, isoOrNull, isoUtc } from './json';

/**
 * Hub. `is_active` is the operator's switch (the hub's own online/offline state is not folded
 * in); a capacity not reported yet shows as 0.0; `last_seen` is the hub's last sign of life.
 */
export function hubOut(h: HubView) {
  return {
    lat: floatOrNull(h.location?.latitude),
    lon: floatOrNull(h.location?.longitude),
    alt: floatOrNull(h.location?.altitude),
    max_grid_capacity_kw: float(h.maxGridCapacityKw ?? 0),
    hub_id: h.hubId,
    is_active: h.active,
    last_seen: isoOrNull(h.lastSeenMs),
  };
}

/** Node. `is_maintenance` is the operator's switch; a max power not reported yet shows as 0.0. */
export function nodeOut(n: NodeView) {
  return {
    max_power_kw: float(n.maxPowerKw ?? 0),
    node_id: n.nodeId,
    hub_id: n.hubId,
    is_maintenance: n.operatorMaintenance,
  };
}

/** Vehicle; `registeredAtMs` is when it was first known (stored or created). */
export function vehicleOut(v: VehicleView, registeredAtMs: number) {
  return {
    model: v.model,
    manufacturer: v.manufacturer,
    driver_id: v.driver,
    vehicle_id: v.vehicleId,
    registered_at: isoUtc(registeredAtMs),
  };
}

export interface SessionParts {
  id: number;
  nodeId: string;
  vehicleId: string | null;
  startMs: number;
  endMs: number | null;
  energyKwh: number;
  averagePowerKw: number | null;
}

function session(p: SessionParts) {
  return {
    node_id: p.nodeId,
    vehicle_id: p.vehicleId,
    charging_session_id: p.id,
    start_time: isoUtc(p.startMs),
    end_time: isoOrNull(p.endMs),
    total_energy_kwh: float(kw(p.energyKwh)),
    avg_power_kw: float(kw(p.averagePowerKw ?? 0)),
  };
}

/** A stored session. */
export function sessionOut(r: NumberedSessionRow) {
  return session({
    id: r.id,
    nodeId: r.node_id,
    vehicleId: r.vehicle_id,
    startMs: r.start_time.getTime(),
    endMs: r.end_time ? r.end_time.getTime() : null,
    energyKwh: r.energy_kwh,
    averagePowerKw: r.average_power_kw,
  });
}

/** A session of the twin (open, or as just closed), with its stored number. */
export function sessionViewOut(s: SessionView, id: number) {
  return session({
    id,
    nodeId: s.nodeId,
    vehicleId: s.vehicleId,
    startMs: s.startTs,
    endMs: s.endTs,
    energyKwh: s.energyKwh,
    averagePowerKw: s.averagePowerKw,
  });
}

/** The REST JSON of a session (wpt-twin's answer to session-end), with its stored number. */
export function restSessionOut(j: Record<string, unknown>, id: number) {
  const time = (v: unknown) => (typeof v === 'string' ? Date.parse(v) : null);
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return session({
    id,
    nodeId: String(j.node_id),
    vehicleId: typeof j.vehicle_id === 'string' ? j.vehicle_id : null,
    startMs: time(j.start_time) ?? 0,
    endMs: time(j.end_time),
    energyKwh: n(j.energy_kwh),
    averagePowerKw: n(j.average_power_kw),
  });
}

/** A stored DLM event (ours or a hub's); limits not known show as 0.0. */
export function dlmEventOut(r: NumberedDlmEventRow) {
  return {
    hub_id: r.hub_id,
    node_id: r.node_id,
    trigger_reason: r.trigger_reason,
    total_grid_load_kw: float(r.total_grid_load ?? 0),
    original_limit_kw: float(r.original_limit ?? 0),
    new_limit_kw: float(r.new_limit),
    dlm_event_id: r.id,
    timestamp: isoUtc(r.ts),
    available_capacity_at_trigger: floatOrNull(r.available_capacity),
  };
}

type VehicleTelemetryChange = Extract<TwinChange, { type: 'vehicle-telemetry' }>;

/** The WebSocket frame of one vehicle telemetry: the payload re-serialised, extra fields dropped. */
export function telemetryFrame(c: VehicleTelemetryChange) {
  return {
    geo_location: {
      latitude: float(c.position.latitude),
      longitude: float(c.position.longitude),
      altitude: float(c.position.altitude ?? 0),
    },
    battery_level: Math.round(c.batteryLevel),
    speed_kmh: floatOrNull(c.speedKmh),
    engine_temp_c: floatOrNull(c.engineTempC),
    is_charging: c.isCharging,
    timestamp: isoUtc(c.ts),
  };
}
