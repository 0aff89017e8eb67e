// Public types of the digital twin: read-only views, snapshot records, changes, config.
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

export interface HubView {
  readonly hubId: string;
  readonly location: GeoPoint | null;
  /** null while only a placeholder (no info received yet). */
  readonly maxGridCapacityKw: number | null;
  readonly ipAddress: string | null;
  readonly firmwareVersion: string | null;
  readonly state: HubStateName;
  readonly cpuTempC: number | null;
  /** Receipt time (nowMs) of the last message from the hub or one of its nodes. */
  readonly lastSeenMs: number | null;
  readonly stale: boolean;
  /** Receipt time at which the hub went offline (status 'offline'), else null. */
  readonly offlineSinceMs: number | null;
  /** Online (or state not yet known) and not stale: may get allocations/recommendations. */
  readonly available: boolean;
  readonly infoTs: number | null;
  readonly statusTs: number | null;
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
  /** Maintenance set by an operator (setNodeMaintenance). */
  readonly operatorMaintenance: boolean;
  readonly telemetry: NodeTelemetryView | null;
  /** Vehicle assigned by a request and not yet charging here. */
  readonly assignedVehicleId: string | null;
  readonly assignedAtMs: number | null;
  readonly assignedSoc: number | null;
  /** Best knowledge of the vehicle on the node: open session, status, assignment, telemetry. */
  readonly vehicleId: string | null;
  readonly sessionId: string | null;
  readonly lastSeenMs: number | null;
  readonly infoTs: number | null;
  readonly statusTs: number | null;
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
  readonly lastSeenMs: number | null;
  readonly telemetryTs: number | null;
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
  | 'duplicate';

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

// ---- snapshot / restore ------------------------------------------------------------

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A hub row for restore: only the id is required. */
export type HubRecord = Pick<HubView, 'hubId'> & Partial<Mutable<Omit<HubView, 'hubId' | 'available'>>>;
/** A node row for restore: only the ids are required. */
export type NodeRecord = Pick<NodeView, 'hubId' | 'nodeId'> &
  Partial<Mutable<Omit<NodeView, 'hubId' | 'nodeId' | 'maintenance' | 'vehicleId' | 'sessionId'>>>;
/** A vehicle row for restore: only the id is required. */
export type VehicleRecord = Pick<VehicleView, 'vehicleId'> &
  Partial<Mutable<Omit<VehicleView, 'vehicleId' | 'hubId' | 'nodeId'>>>;
/** An open session row for restore (closed ones are ignored). */
export type SessionRecord = Pick<SessionView, 'hubId' | 'nodeId' | 'vehicleId' | 'startTs'> &
  Partial<
    Mutable<Omit<SessionView, 'hubId' | 'nodeId' | 'vehicleId' | 'startTs' | 'durationS' | 'averagePowerKw'>>
  >;

export interface TwinSnapshot {
  readonly version: 1;
  readonly hubs: readonly HubRecord[];
  readonly nodes: readonly NodeRecord[];
  readonly vehicles: readonly VehicleRecord[];
  /** Open sessions only. */
  readonly sessions: readonly SessionRecord[];
}

// ---- configuration ---------------------------------------------------------------

export interface TwinConfig {
  /** A hub silent for longer than this is stale (DESIGN: 3 × telemetry period, ≥ 10 s). */
  readonly staleAfterS: number;
  readonly criticalSoc: number;
  /** Critical again normal only at ≥ criticalSoc + socHysteresis. */
  readonly socHysteresis: number;
  /** Capacity used for SoC estimates when a vehicle's is unknown. */
  readonly defaultBatteryKwh: number;
  /** Open sessions of a hub offline/stale for longer than this are closed (reason hub-offline). */
  readonly offlineSessionCloseS: number;
  /** A request assignment not followed by charging is dropped after this. */
  readonly assignmentTimeoutS: number;
  /** tick() emits a new SoC estimate only when it moved by at least this (points). */
  readonly socEstimateStep: number;
}

export const DEFAULT_TWIN_CONFIG: TwinConfig = Object.freeze({
  staleAfterS: 10,
  criticalSoc: 20,
  socHysteresis: 2,
  defaultBatteryKwh: 60,
  offlineSessionCloseS: 300,
  assignmentTimeoutS: 120,
  socEstimateStep: 0.5,
});

// ---- changes -----------------------------------------------------------------------

export type AssignRejectReason =
  'invalid-input' | 'unknown-node' | 'hub-unavailable' | 'node-faulted' | 'node-maintenance' | 'node-busy';

export type AssignmentClearReason = 'charging' | 'timeout' | 'faulted' | 'maintenance' | 'replaced';

/** Every change carries `ts` (epoch ms: the message time, or nowMs for tick/operator). */
export type TwinChange =
  /** Hub created (placeholder or info) or its info changed. DLM: CAPACITY_CHANGED when capacity differs from previous. */
  | {
      readonly type: 'hub-upserted';
      readonly ts: number;
      readonly hubId: string;
      readonly created: boolean;
      readonly hub: HubView;
      readonly previous: HubView | null;
    }
  /** State and/or staleness/availability transition. DLM: RESYNC when available becomes true. */
  | {
      readonly type: 'hub-state';
      readonly ts: number;
      readonly hubId: string;
      readonly state: HubStateName;
      readonly previousState: HubStateName;
      readonly stale: boolean;
      readonly previousStale: boolean;
      readonly available: boolean;
      readonly previousAvailable: boolean;
      readonly cpuTempC: number | null;
    }
  /** Node created (placeholder or info) or its info changed (max power, name). */
  | {
      readonly type: 'node-upserted';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly created: boolean;
      readonly node: NodeView;
      readonly previous: NodeView | null;
    }
  /** Status state, error code, status vehicle or effective maintenance changed. */
  | {
      readonly type: 'node-state';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly state: NodeStateName;
      readonly previousState: NodeStateName;
      readonly maintenance: boolean;
      readonly previousMaintenance: boolean;
      readonly errorCode: number;
      readonly vehicleId: string | null;
    }
  /** Every applied (not duplicate, not out-of-order) node telemetry. */
  | {
      readonly type: 'node-telemetry';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly powerKw: number;
      readonly powerLimitKw: number;
      readonly voltage: number;
      readonly current: number;
      readonly isOccupied: boolean;
      readonly vehicleId: string | null;
      readonly soc: number | null;
    }
  /** A request assigned a vehicle to a node (DLM: VEHICLE_CONNECTED, node active). */
  | {
      readonly type: 'node-assigned';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly vehicleId: string;
      readonly soc: number | null;
    }
  | {
      readonly type: 'node-assignment-cleared';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly vehicleId: string;
      readonly reason: AssignmentClearReason;
    }
  /** A request (apply of a vehicleRequest) that was not accepted; nothing else changed. */
  | {
      readonly type: 'request-rejected';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly vehicleId: string;
      readonly soc: number | null;
      readonly reason: AssignRejectReason;
    }
  /** Vehicle created, profile changed, or vehicle telemetry applied (position, last seen). */
  | {
      readonly type: 'vehicle-upserted';
      readonly ts: number;
      readonly vehicleId: string;
      readonly created: boolean;
      readonly vehicle: VehicleView;
    }
  /** The best SoC of a vehicle changed (a report, or an estimate from tick). */
  | {
      readonly type: 'soc';
      readonly ts: number;
      readonly vehicleId: string;
      readonly value: number;
      readonly previous: number | null;
      readonly source: SocSource;
      readonly hubId: string | null;
      readonly nodeId: string | null;
    }
  /** Class changed (from null: first classification). DLM: PRIORITY_SHIFT. */
  | {
      readonly type: 'soc-class';
      readonly ts: number;
      readonly vehicleId: string;
      readonly from: SocClass | null;
      readonly to: SocClass;
      readonly soc: number | null;
      readonly priority: boolean;
      readonly hubId: string | null;
      readonly nodeId: string | null;
    }
  | {
      readonly type: 'session-opened';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly vehicleId: string;
      readonly sessionId: string;
      readonly session: SessionView;
    }
  /** Energy integrated (one per integrated telemetry sample) or end SoC changed. */
  | {
      readonly type: 'session-updated';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly vehicleId: string;
      readonly sessionId: string;
      readonly session: SessionView;
    }
  | {
      readonly type: 'session-closed';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly vehicleId: string;
      readonly sessionId: string;
      readonly reason: SessionCloseReason;
      readonly session: SessionView;
    };

export type TwinChangeType = TwinChange['type'];

export type AssignResult =
  | { readonly ok: true; readonly changes: TwinChange[] }
  | { readonly ok: false; readonly reason: AssignRejectReason };

export interface VehicleProfile {
  readonly batteryKwh?: number | null;
  readonly priority?: boolean;
  readonly model?: string | null;
  readonly manufacturer?: string | null;
  readonly driver?: string | null;
}

/** Thrown by Twin methods for malformed input, before anything is changed. */
export class TwinInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TwinInputError';
  }
}

/** Is this a list of twin changes (what wpt-hub-registry / wpt-soc-tracker send)? Checks the shape. */
export function isTwinChangeList(v: unknown): v is TwinChange[] {
  return (
    Array.isArray(v) &&
    v.every((c) => c !== null && typeof c === 'object' && typeof (c as { type?: unknown }).type === 'string')
  );
}
