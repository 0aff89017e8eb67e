/** Read-only snapshots of the fleet's state (copies: changing them changes nothing). */
import { drawFraction, drawOf, ignoresLimit } from './rules';
import type { Hub, Pad, Vehicle } from './state';
import type { HubSnapshot, NodeSnapshot, VehicleSnapshot } from './types';

export function hubView(h: Hub): HubSnapshot {
  return {
    id: h.id,
    location: { ...h.location },
    capacityKw: h.capacityKw,
    mode: h.mode,
    nodeIds: h.pads.map((p) => p.id),
    device: { ...h.device, limitRounding: h.device.limitRounding && { ...h.device.limitRounding } },
  };
}

export function padView(p: Pad): NodeSnapshot {
  return {
    hubId: p.hub.id,
    id: p.id,
    maxPowerKw: p.maxPowerKw,
    limitKw: p.limitKw,
    state: p.state,
    vehicleId: p.vehicle?.id ?? null,
    errorCode: p.errorCode,
    drawKw: drawOf(p),
    ignoresLimit: ignoresLimit(p),
    drawFraction: drawFraction(p),
    bootLimitKw: p.bootLimitKw,
  };
}

export function vehicleView(v: Vehicle): VehicleSnapshot {
  return {
    id: v.id,
    batteryKwh: v.batteryKwh,
    socPct: v.soc,
    targetSoc: v.targetSoc,
    priority: v.priority,
    maxChargeKw: v.maxChargeKw,
    latitude: v.latitude,
    longitude: v.longitude,
    speedKmh: v.speedKmh,
    mode: v.mode,
    hubId: v.pad?.hub.id ?? null,
    nodeId: v.pad?.id ?? null,
    energyChargedKwh: v.energyKwh,
    guest: v.guest,
    autoArrive: v.autoArrive,
  };
}

/** Σ of the power the hub's pads draw now (kW, without noise). */
export function hubLoadKw(h: Hub): number {
  let sum = 0;
  for (const p of h.pads) sum += drawOf(p);
  return sum;
}
