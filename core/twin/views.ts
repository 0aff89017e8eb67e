// Frozen, read-only views of the internal records.
import {
  hubAvailable,
  maintenanceOf,
  vehicleOnNode,
  type HubEntity,
  type NodeEntity,
  type SessionEntity,
  type VehicleEntity,
} from './entities';
import type { HubView, NodeView, SessionCloseReason, SessionView, VehicleView } from './view-types';

export function hubView(h: HubEntity): HubView {
  return Object.freeze({
    hubId: h.hubId,
    location: h.location,
    maxGridCapacityKw: h.maxGridCapacityKw,
    ipAddress: h.ipAddress,
    firmwareVersion: h.firmwareVersion,
    state: h.state,
    cpuTempC: h.cpuTempC,
    lastSeenMs: h.lastSeenMs,
    stale: h.stale,
    offlineSinceMs: h.offlineSinceMs,
    available: hubAvailable(h),
    infoTs: h.infoTs,
    statusTs: h.statusTs,
    registered: h.registered,
    active: h.active,
    capacityOverride: h.capacityOverride,
  });
}

export function nodeView(n: NodeEntity): NodeView {
  return Object.freeze({
    hubId: n.hub.hubId,
    nodeId: n.nodeId,
    name: n.name,
    maxPowerKw: n.maxPowerKw,
    state: n.state,
    errorCode: n.errorCode,
    statusVehicleId: n.statusVehicleId,
    maintenance: maintenanceOf(n),
    operatorMaintenance: n.operatorMaintenance,
    maxPowerOverrideKw: n.maxPowerOverrideKw,
    operatorEndedVehicleId: n.operatorEndedVehicleId,
    telemetry: n.telemetry,
    assignedVehicleId: n.assignedVehicleId,
    assignedAtMs: n.assignedAtMs,
    assignedTs: n.assignedTs,
    assignedSoc: n.assignedSoc,
    vehicleId: vehicleOnNode(n),
    sessionId: n.session?.sessionId ?? null,
    lastSeenMs: n.lastSeenMs,
    infoTs: n.infoTs,
    statusTs: n.statusTs,
    registered: n.registered,
  });
}

export function vehicleView(v: VehicleEntity): VehicleView {
  return Object.freeze({
    vehicleId: v.vehicleId,
    position: v.position,
    speedKmh: v.speedKmh,
    engineTempC: v.engineTempC,
    isCharging: v.isCharging,
    soc: v.soc,
    socSource: v.socSource,
    socTs: v.socTs,
    socReported: v.socReported,
    socReportedTs: v.socReportedTs,
    socReportedSource: v.socReportedSource,
    energySinceReportKwh: v.energySinceReportKwh,
    socClass: v.socClass ?? 'normal',
    priority: v.priority,
    batteryKwh: v.batteryKwh,
    model: v.model,
    manufacturer: v.manufacturer,
    driver: v.driver,
    lastSeenMs: v.lastSeenMs,
    telemetryTs: v.telemetryTs,
    registered: v.registered,
    hubId: v.hubId,
    nodeId: v.nodeId,
  });
}

/** A session as it stands (endTs/closeReason null while open). */
export function sessionView(
  s: SessionEntity,
  endTs: number | null = null,
  closeReason: SessionCloseReason | null = null,
): SessionView {
  const end = endTs ?? s.lastSampleTs ?? s.startTs;
  const durationMs = Math.max(0, end - s.startTs);
  const durationS = durationMs / 1000;
  const averagePowerKw = durationMs > 0 ? s.energyKwh / (durationMs / 3_600_000) : 0;
  return Object.freeze({
    sessionId: s.sessionId,
    hubId: s.hubId,
    nodeId: s.nodeId,
    vehicleId: s.vehicleId,
    startTs: s.startTs,
    endTs,
    lastSampleTs: s.lastSampleTs,
    lastPowerKw: s.lastPowerKw,
    energyKwh: s.energyKwh,
    durationS,
    averagePowerKw,
    peakPowerKw: s.peakPowerKw,
    startSoc: s.startSoc,
    endSoc: s.endSoc,
    closeReason,
  });
}
