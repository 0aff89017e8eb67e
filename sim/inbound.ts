/**
 * What hubs receive: DLM events (a pad's new limit) and VehicleRequests sent by others
 * (the app or the cloud asking a pad to charge a vehicle).
 */
import { decode } from '../core/contract';
import { advance } from './clock';
import { applyLimit } from './devices';
import type { FleetState, Vehicle } from './state';
import { connect } from './transitions';
import type { ApplyResult } from './types';

/** See FleetModel.apply. */
export function apply(s: FleetState, topic: string, payload: unknown, nowMs: number): ApplyResult {
  const d = decode(topic, payload, nowMs);
  if (!d.ok) {
    s.stats.rejected++;
    return { status: 'rejected', reason: d.errors.map((e) => e.message).join('; ') };
  }
  const msg = d.msg;
  if (msg.kind !== 'dlmEvent' && msg.kind !== 'vehicleRequest') {
    s.stats.rejected++;
    return { status: 'rejected', reason: `not an inbound topic for hubs: ${topic}` };
  }
  const ignore = (reason: string): ApplyResult => {
    if (msg.kind === 'dlmEvent') s.stats.dlmIgnored++;
    else s.stats.requestsIgnored++;
    return { status: 'ignored', reason };
  };
  if (!s.started) return ignore('the fleet is not started');
  advance(s, nowMs);
  const t = s.lastMs;
  const hub = s.hubsById.get(msg.hubId);
  if (!hub) return ignore(`unknown hub '${msg.hubId}'`);
  if (hub.mode !== 'online') return ignore(`hub '${hub.id}' is ${hub.mode}`);

  if (msg.kind === 'dlmEvent') {
    const pad = hub.byId.get(msg.data.affected_node_id);
    if (!pad) return ignore(`unknown node '${msg.data.affected_node_id}' in hub '${hub.id}'`);
    if (hub.device.ignoreEvents) return ignore(`hub '${hub.id}' ignores DLM events`);
    const { previousKw, limitKw } = applyLimit(s, pad, msg.data.new_limit, t);
    return { status: 'applied', kind: 'dlmEvent', hubId: hub.id, nodeId: pad.id, previousKw, limitKw };
  }

  const { vehicle_id: vehicleId, node_id: nodeId, soc_percent: socPct } = msg.data;
  const pad = hub.byId.get(nodeId);
  if (!pad) return ignore(`unknown node '${nodeId}' in hub '${hub.id}'`);
  if (pad.vehicle?.id === vehicleId) return ignore(`vehicle '${vehicleId}' is already at node '${nodeId}'`);
  if (pad.state !== 'idle') return ignore(`node '${nodeId}' is ${pad.state}`);
  let v = s.vehiclesById.get(vehicleId);
  if (v && v.mode !== 'driving') return ignore(`vehicle '${vehicleId}' is already at another node`);
  if (!v) {
    v = guest(vehicleId, socPct, hub.location);
    s.vehicles.push(v);
    s.vehiclesById.set(vehicleId, v);
  }
  s.stats.requestsAccepted++;
  connect(s, pad, v, t, false);
  return { status: 'applied', kind: 'vehicleRequest', hubId: hub.id, nodeId: pad.id, vehicleId };
}

/** A vehicle the fleet does not know, asked to charge by someone else; it leaves the fleet when done. */
function guest(
  id: string,
  socPct: number,
  at: { latitude: number; longitude: number; altitude: number },
): Vehicle {
  return {
    id,
    batteryKwh: 60,
    soc: socPct,
    targetSoc: socPct < 80 ? 80 : 100,
    priority: false,
    maxChargeKw: 120,
    latitude: at.latitude,
    longitude: at.longitude,
    altitude: at.altitude,
    speedKmh: 0,
    heading: 0,
    mode: 'driving',
    pad: null,
    energyKwh: 0,
    guest: true,
    autoArrive: false,
    chargeBelow: 0,
  };
}
