// The twin's internal mutable records (never handed out: callers get frozen views) and the
// facts derived from them alone.
import type { SocTrack } from '../soc';
import type {
  CapacityOverride,
  GeoPoint,
  HubStateName,
  NodeStateName,
  NodeTelemetryView,
} from './view-types';

export interface HubEntity {
  hubId: string;
  location: GeoPoint | null;
  maxGridCapacityKw: number | null;
  ipAddress: string | null;
  firmwareVersion: string | null;
  state: HubStateName;
  cpuTempC: number | null;
  /** Receipt time of the last sign of life (see hubs.ts, isSignOfLife). */
  lastSeenMs: number | null;
  /**
   * Clock of offlineSessionCloseS: lastSeenMs, or the restore time when later (the
   * orchestrator's own downtime is not the hub's silence).
   */
  sessionClockMs: number | null;
  stale: boolean;
  offlineSinceMs: number | null;
  infoTs: number | null;
  statusTs: number | null;
  /** Created (or taken over) by an operator command. */
  registered: boolean;
  active: boolean;
  capacityOverride: CapacityOverride | null;
  /**
   * Sessions and staleness are tracked for this hub (watch.ts). Always true on a single
   * instance; in cluster mode only for the hubs this instance owns.
   */
  watched: boolean;
  nodes: Map<string, NodeEntity>;
}

export interface NodeEntity {
  hub: HubEntity;
  nodeId: string;
  name: string | null;
  maxPowerKw: number | null;
  state: NodeStateName;
  errorCode: number;
  statusVehicleId: string | null;
  operatorMaintenance: boolean;
  maxPowerOverrideKw: number | null;
  /** Vehicle whose session an operator ended: no session opens for it until the status changes. */
  operatorEndedVehicleId: string | null;
  telemetry: NodeTelemetryView | null;
  assignedVehicleId: string | null;
  /** Receipt time of the assigning request (the clock of assignmentTimeoutS). */
  assignedAtMs: number | null;
  /** Message time of the assigning request (a redelivery of it is a duplicate). */
  assignedTs: number | null;
  assignedSoc: number | null;
  lastSeenMs: number | null;
  infoTs: number | null;
  statusTs: number | null;
  /** Created (or taken over) by an operator command. */
  registered: boolean;
  session: SessionEntity | null;
}

export interface VehicleEntity extends SocTrack {
  vehicleId: string;
  position: GeoPoint | null;
  speedKmh: number | null;
  engineTempC: number | null;
  isCharging: boolean;
  priority: boolean;
  batteryKwh: number | null;
  model: string | null;
  manufacturer: string | null;
  driver: string | null;
  lastSeenMs: number | null;
  telemetryTs: number | null;
  /** Created (or taken over) by an operator command. */
  registered: boolean;
  /** Node it is charging at (open session), else null. */
  hubId: string | null;
  nodeId: string | null;
}

/** One open charging session (at most one per node). */
export interface SessionEntity {
  sessionId: string;
  hubId: string;
  nodeId: string;
  vehicleId: string;
  startTs: number;
  lastSampleTs: number | null;
  lastPowerKw: number | null;
  energyKwh: number;
  peakPowerKw: number;
  startSoc: number | null;
  endSoc: number | null;
}

export function newHubEntity(hubId: string): HubEntity {
  return {
    hubId,
    location: null,
    maxGridCapacityKw: null,
    ipAddress: null,
    firmwareVersion: null,
    state: 'unknown',
    cpuTempC: null,
    lastSeenMs: null,
    sessionClockMs: null,
    stale: false,
    offlineSinceMs: null,
    infoTs: null,
    statusTs: null,
    registered: false,
    active: true,
    capacityOverride: null,
    watched: true,
    nodes: new Map(),
  };
}

export function newNodeEntity(hub: HubEntity, nodeId: string): NodeEntity {
  return {
    hub,
    nodeId,
    name: null,
    maxPowerKw: null,
    state: 'unknown',
    errorCode: 0,
    statusVehicleId: null,
    operatorMaintenance: false,
    maxPowerOverrideKw: null,
    operatorEndedVehicleId: null,
    telemetry: null,
    assignedVehicleId: null,
    assignedAtMs: null,
    assignedTs: null,
    assignedSoc: null,
    lastSeenMs: null,
    infoTs: null,
    statusTs: null,
    registered: false,
    session: null,
  };
}

export function newVehicleEntity(vehicleId: string): VehicleEntity {
  return {
    vehicleId,
    position: null,
    speedKmh: null,
    engineTempC: null,
    isCharging: false,
    soc: null,
    socSource: null,
    socTs: null,
    socReported: null,
    socReportedTs: null,
    socReportedSource: null,
    energySinceReportKwh: 0,
    socClass: null,
    priority: false,
    batteryKwh: null,
    model: null,
    manufacturer: null,
    driver: null,
    lastSeenMs: null,
    telemetryTs: null,
    registered: false,
    hubId: null,
    nodeId: null,
  };
}

/** Online (or state not yet reported), alive (a sign of life received) and not stale. */
export function hubAvailable(h: HubEntity): boolean {
  return (h.state === 'online' || h.state === 'unknown') && !h.stale && h.lastSeenMs !== null;
}

/** Effective maintenance: the hub in maintenance, or set by an operator. */
export function maintenanceOf(n: NodeEntity): boolean {
  return n.operatorMaintenance || n.hub.state === 'maintenance';
}

/** Best knowledge of the vehicle on a node: open session, charging status, assignment, telemetry. */
export function vehicleOnNode(n: NodeEntity): string | null {
  return (
    n.session?.vehicleId ??
    (n.state === 'charging' ? n.statusVehicleId : null) ??
    n.assignedVehicleId ??
    n.telemetry?.vehicleId ??
    null
  );
}
