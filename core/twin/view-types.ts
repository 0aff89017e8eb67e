// Read-only views of the digital twin: what callers get (frozen copies, never the live records).
import type { SocClass, SocSource } from '../soc';

export interface GeoPoint {
  readonly latitude: number;
  readonly longitude: number;
  readonly altitude: number;
}

/** 'unknown' until a status message was received (placeholder or restored without state). */
export type HubStateName = 'online' | 'offline' | 'maintenance' | 'unknown';
/** Reported node status; 'unknown' until a status message was received. */
export type NodeStateName = 'idle' | 'charging' | 'full' | 'faulted' | 'unknown';

/** An operator's capacity override: `kw` while fromMs ≤ now < untilMs (null: open-ended). */
export interface CapacityOverride {
  readonly kw: number;
  readonly fromMs: number | null;
  readonly untilMs: number | null;
}

export interface HubView {
  readonly hubId: string;
  readonly location: GeoPoint | null;
  /** null while only a placeholder (no info received yet). */
  readonly maxGridCapacityKw: number | null;
  readonly ipAddress: string | null;
  readonly firmwareVersion: string | null;
  readonly state: HubStateName;
  readonly cpuTempC: number | null;
  /**
   * Receipt time (nowMs) of the last sign of life of the hub or one of its nodes: a live
   * (not retained) status or telemetry whose own timestamp was fresh (within staleAfterS) at
   * receipt. Info messages, retained and old messages set data but are no sign of life.
   */
  readonly lastSeenMs: number | null;
  readonly stale: boolean;
  /** Receipt time at which the hub went offline (status 'offline'), else null. */
  readonly offlineSinceMs: number | null;
  /** Online (or state not yet known), alive and not stale: may get allocations/recommendations. */
  readonly available: boolean;
  readonly infoTs: number | null;
  readonly statusTs: number | null;
  /** Created (or taken over) by an operator command. */
  readonly registered: boolean;
  /** Operator switch (default true). Inactive: every node gets 0, never recommended or assigned. */
  readonly active: boolean;
  /**
   * Operator override of the capacity, or null. The DLM uses min(maxGridCapacityKw, kw)
   * while in force — never above what the hub reports.
   */
  readonly capacityOverride: CapacityOverride | null;
}

export interface NodeTelemetryView {
  readonly ts: number;
  readonly voltage: number;
  readonly current: number;
  readonly powerKw: number;
  readonly powerLimitKw: number;
  readonly isOccupied: boolean;
  readonly vehicleId: string | null;
  readonly soc: number | null;
}

export interface NodeView {
  readonly hubId: string;
  readonly nodeId: string;
  readonly name: string | null;
  /** null while only a placeholder (no info received yet). */
  readonly maxPowerKw: number | null;
  readonly state: NodeStateName;
  readonly errorCode: number;
  /** current_vehicle_id of the last status. */
  readonly statusVehicleId: string | null;
  /** Effective maintenance: hub in maintenance or operator-set. */
  readonly maintenance: boolean;
  /** Maintenance set by an operator (node-maintenance command). */
  readonly operatorMaintenance: boolean;
  /** Operator override of the node's max power, or null. The DLM uses min(maxPowerKw, this). */
  readonly maxPowerOverrideKw: number | null;
  /**
   * Vehicle whose session an operator ended here (session-end): no session opens for it on
   * this node until the node's status changes (a stuck pad keeps claiming it charges).
   */
  readonly operatorEndedVehicleId: string | null;
  readonly telemetry: NodeTelemetryView | null;
  /** Vehicle assigned by a request and not yet charging here. */
  readonly assignedVehicleId: string | null;
  /** Receipt time of the assigning request; the assignment lapses assignmentTimeoutS after it. */
  readonly assignedAtMs: number | null;
  /** Message time of the assigning request (a redelivery of the same request is a duplicate). */
  readonly assignedTs: number | null;
  readonly assignedSoc: number | null;
  /** Best knowledge of the vehicle on the node: open session, status, assignment, telemetry. */
  readonly vehicleId: string | null;
  readonly sessionId: string | null;
  /** Receipt time of the last sign of life of this node (see HubView.lastSeenMs). */
  readonly lastSeenMs: number | null;
  readonly infoTs: number | null;
  readonly statusTs: number | null;
  /** Created (or taken over) by an operator command. */
  readonly registered: boolean;
}

export interface VehicleView {
  readonly vehicleId: string;
  readonly position: GeoPoint | null;
  readonly speedKmh: number | null;
  readonly engineTempC: number | null;
  readonly isCharging: boolean;
  /** Best SoC now: the last report or, while charging since, the estimate. */
  readonly soc: number | null;
  readonly socSource: SocSource | null;
  readonly socTs: number | null;
  /** Last reported SoC (vehicle, node or request) and its message time. */
  readonly socReported: number | null;
  readonly socReportedTs: number | null;
  readonly socReportedSource: Exclude<SocSource, 'estimate'> | null;
  /** Energy delivered to it since the last report (kWh), used for the estimate. */
  readonly energySinceReportKwh: number;
  readonly socClass: SocClass;
  readonly priority: boolean;
  /** Configured capacity; null = unknown (the default is used for estimates). */
  readonly batteryKwh: number | null;
  readonly model: string | null;
  readonly manufacturer: string | null;
  readonly driver: string | null;
  /** Receipt time of its last live, fresh telemetry (see HubView.lastSeenMs). */
  readonly lastSeenMs: number | null;
  readonly telemetryTs: number | null;
  /** Created (or taken over) by an operator command. */
  readonly registered: boolean;
  /** Node it is charging at (open session), else null. */
  readonly hubId: string | null;
  readonly nodeId: string | null;
}

export type SessionCloseReason =
  | 'idle'
  | 'full'
  | 'faulted'
  | 'hub-offline'
  | 'vehicle-changed'
  /** restore found two open sessions on one node: the older is closed. */
  | 'duplicate'
  /** Ended by an operator (session-end, or its node or hub deleted). */
  | 'operator';

export interface SessionView {
  /** Deterministic from (hubId, nodeId, startTs): see sessionIdOf. */
  readonly sessionId: string;
  readonly hubId: string;
  readonly nodeId: string;
  readonly vehicleId: string;
  readonly startTs: number;
  /** null while open. */
  readonly endTs: number | null;
  /** Time and power of the last integrated telemetry sample (null before the first). */
  readonly lastSampleTs: number | null;
  readonly lastPowerKw: number | null;
  /** Trapezoidal integral of power_kw over the telemetry timestamps. */
  readonly energyKwh: number;
  /** (endTs, or last sample while open, or start) − startTs, seconds. */
  readonly durationS: number;
  /** energyKwh / duration (h); 0 for a zero duration. */
  readonly averagePowerKw: number;
  readonly peakPowerKw: number;
  readonly startSoc: number | null;
  readonly endSoc: number | null;
  readonly closeReason: SessionCloseReason | null;
}

/** A vehicle profile as set by an operator (undefined: unchanged, null: cleared). */
export interface VehicleProfile {
  readonly batteryKwh?: number | null;
  readonly priority?: boolean;
  readonly model?: string | null;
  readonly manufacturer?: string | null;
  readonly driver?: string | null;
}
