/** What the fleet publishes: every outgoing message is built here and queued in the outbox. */
import { buildTopic, formatTimestamp } from '../core/contract';
import type {
  HubInfo,
  HubStatus,
  NodeInfo,
  NodeStatus,
  NodeTelemetry,
  VehicleRequest,
  VehicleTelemetry,
} from '../core/contract';
import { drawOf } from './rules';
import type { FleetState, Hub, Pad, Vehicle } from './state';
import type { SimPayload } from './types';
import { clamp, round } from './util';

/** Queue a message; a hub that is not online publishes nothing. */
function push(
  s: FleetState,
  topic: string,
  payload: SimPayload,
  retain: boolean,
  qos: 0 | 1,
  hub?: Hub,
): void {
  if (hub && hub.mode !== 'online') return;
  s.outbox.push({ topic, payload, retain, qos });
}

/** The start sequence of a hub: info, status, then per pad info and status (all retained). */
export function emitStart(s: FleetState, hub: Hub, t: number): void {
  emitHubInfo(s, hub);
  emitHubStatus(s, hub, 'online', t);
  for (const pad of hub.pads) {
    const info: NodeInfo = {
      node_id: pad.id,
      hub_id: hub.id,
      name: pad.name,
      max_power_kw: pad.maxPowerKw,
    };
    push(s, buildTopic('nodeInfo', { hubId: hub.id, nodeId: pad.id }), info, true, 1, hub);
    emitPadStatus(s, pad, t);
  }
}

export function emitHubInfo(s: FleetState, hub: Hub): void {
  const info: HubInfo = {
    hub_id: hub.id,
    location: { ...hub.location },
    max_grid_capacity_kw: hub.capacityKw,
    ip_address: hub.ipAddress,
    firmware_version: hub.firmwareVersion,
  };
  push(s, buildTopic('hubInfo', { hubId: hub.id }), info, true, 1, hub);
}

export function emitHubStatus(s: FleetState, hub: Hub, state: 'online' | 'offline', t: number): void {
  let load = 0;
  for (const p of hub.pads) load += drawOf(p);
  const share = hub.capacityKw > 0 ? Math.min(1, load / hub.capacityKw) : 0;
  const status: HubStatus = {
    state,
    cpu_temp: round(42 + 25 * share + s.rng.range(0, 3), 2),
    timestamp: formatTimestamp(t),
  };
  push(s, buildTopic('hubStatus', { hubId: hub.id }), status, true, 1, hub);
}

export function emitPadStatus(s: FleetState, pad: Pad, t: number): void {
  const status: NodeStatus = {
    state: pad.state,
    current_vehicle_id: pad.vehicle?.id ?? null,
    error_code: pad.errorCode,
    timestamp: formatTimestamp(t),
  };
  push(s, buildTopic('nodeStatus', { hubId: pad.hub.id, nodeId: pad.id }), status, true, 1, pad.hub);
}

export function emitTelemetry(s: FleetState, pad: Pad, t: number): void {
  const draw = drawOf(pad);
  let power = draw;
  let voltage = 0;
  if (draw > 0) {
    voltage = pad.maxPowerKw > 150 ? 800 : 400;
    if (s.cfg.noiseKw > 0) {
      power = clamp(draw + (2 * s.rng.next() - 1) * s.cfg.noiseKw, 0, 350);
      voltage *= 0.99 + 0.02 * s.rng.next();
    }
  }
  const v = pad.vehicle;
  const telemetry: NodeTelemetry = {
    voltage: round(voltage, 1),
    current: voltage > 0 ? Math.min(500, round((power * 1000) / voltage, 1)) : 0,
    power_kw: round(power, 2),
    power_limit_kw: pad.limitKw,
    is_occupied: v !== null,
    connected_vehicle_id: v?.id ?? 'n/a',
    current_vehicle_soc: v ? clamp(round(v.soc, 1), 0, 100) : 0,
    timestamp: formatTimestamp(t),
  };
  push(s, buildTopic('nodeTelemetry', { hubId: pad.hub.id, nodeId: pad.id }), telemetry, false, 0, pad.hub);
}

export function emitVehicle(s: FleetState, v: Vehicle, t: number): void {
  const telemetry: VehicleTelemetry = {
    geo_location: {
      latitude: round(v.latitude, 6),
      longitude: round(v.longitude, 6),
      altitude: v.altitude,
    },
    battery_level: clamp(Math.floor(v.soc), 0, 100),
    speed_kmh: v.speedKmh,
    engine_temp_c: round(25 + v.speedKmh / 10, 1),
    is_charging: v.mode === 'charging',
    timestamp: formatTimestamp(t),
  };
  push(s, buildTopic('vehicleTelemetry', { vehicleId: v.id }), telemetry, false, 0);
}

/** The VehicleRequest of a vehicle arriving at a pad (QoS 1, on its hub's topic). */
export function emitRequest(s: FleetState, pad: Pad, v: Vehicle, t: number): void {
  const req: VehicleRequest = {
    vehicle_id: v.id,
    node_id: pad.id,
    soc_percent: clamp(Math.floor(v.soc), 0, 100),
    timestamp: formatTimestamp(t),
  };
  push(s, buildTopic('vehicleRequest', { hubId: pad.hub.id }), req, false, 1, pad.hub);
}

/** Every topic the fleet publishes retained. */
export function retainedTopics(s: FleetState): string[] {
  const out: string[] = [];
  for (const hub of s.hubs) {
    out.push(buildTopic('hubInfo', { hubId: hub.id }), buildTopic('hubStatus', { hubId: hub.id }));
    for (const p of hub.pads) {
      out.push(
        buildTopic('nodeInfo', { hubId: hub.id, nodeId: p.id }),
        buildTopic('nodeStatus', { hubId: hub.id, nodeId: p.id }),
      );
    }
  }
  return out;
}
