// The changes the twin reports (apply, tick, operator commands, restore): what storage, the
// DLM and the time series consume.
//
// The contract of a change list (what `apply` returns):
// - every applied inbound message yields exactly ONE report change carrying the message's
//   values — hubInfo → hub-upserted, hubStatus → hub-status, nodeInfo → node-upserted,
//   nodeStatus → node-status, nodeTelemetry → node-telemetry, vehicleTelemetry →
//   vehicle-telemetry, vehicleRequest → node-assigned or request-rejected, dlmEvent →
//   hub-dlm-event — plus the changes it causes (creations, transitions, sessions, SoC, …);
// - the order is: creations of the entities it names, then the report, then the rest;
// - a duplicate (same time, same content) or out-of-order message (older than what was
//   applied for the same entity and kind) yields nothing and changes nothing.
// `tick` and restore yield transition changes only (no report); an operator command yields
// its ordinary changes followed by one operator-action.
import type {
  GeoPoint,
  HubStateName,
  HubView,
  NodeStateName,
  NodeView,
  SessionCloseReason,
  SessionView,
  VehicleView,
} from './view-types';
import type { SocClass, SocSource } from '../soc';
import type { RefusalReason } from './errors';
import type { AuditTarget, OperatorOp } from './commands';

/** Settings an operator command touched (plain, JSON-serialisable). */
export type AuditState = Readonly<Record<string, unknown>>;

export type AssignRejectReason =
  /** Bounds (maxHubs, maxNodes, maxVehicles) or registered-only mode: see TwinRefusal. */
  | RefusalReason
  | 'invalid-input'
  | 'unknown-node'
  /** Deactivated by an operator (hub-active false). */
  | 'hub-inactive'
  | 'hub-unavailable'
  /** The hub's capacity is not known yet (no info received, none set by an operator). */
  | 'hub-no-capacity'
  | 'node-faulted'
  | 'node-maintenance'
  | 'node-busy';

export type AssignmentClearReason =
  | 'charging'
  | 'timeout'
  | 'faulted'
  | 'maintenance'
  | 'replaced'
  /** The node or the vehicle was deleted by an operator. */
  | 'deleted';

/** Every change carries `ts` (epoch ms: the message time, or nowMs for tick/operator). */
export type TwinChange =
  /**
   * Report of a hub info (and announcement of a hub created by any message): hub created, or
   * its info applied. DLM: CAPACITY_CHANGED when capacity differs from previous.
   */
  | {
      readonly type: 'hub-upserted';
      readonly ts: number;
      readonly hubId: string;
      readonly created: boolean;
      readonly hub: HubView;
      readonly previous: HubView | null;
    }
  /** Report of every applied hub status: the message's values. */
  | {
      readonly type: 'hub-status';
      readonly ts: number;
      readonly hubId: string;
      readonly state: Exclude<HubStateName, 'unknown'>;
      readonly cpuTempC: number | null;
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
  /**
   * Report of a node info (and announcement of a node created by any message): node created,
   * or its info applied (max power, name).
   */
  | {
      readonly type: 'node-upserted';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly created: boolean;
      readonly node: NodeView;
      readonly previous: NodeView | null;
    }
  /** Report of every applied node status: the message's values (vehicleId: current_vehicle_id). */
  | {
      readonly type: 'node-status';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly state: Exclude<NodeStateName, 'unknown'>;
      readonly errorCode: number;
      readonly vehicleId: string | null;
    }
  /** Status state, error code, status vehicle or effective maintenance changed (a transition). */
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
  /** Report of every applied node telemetry. */
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
  /**
   * Report of an accepted request: vehicleId assigned to the node (DLM: VEHICLE_CONNECTED,
   * node active). A new request of the same vehicle refreshes the assignment (another
   * node-assigned). `alreadyCharging`: the vehicle already charges there, nothing is reserved.
   */
  | {
      readonly type: 'node-assigned';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly vehicleId: string;
      readonly soc: number | null;
      /** Receipt time of the request (the assignment's clock for assignmentTimeoutS). */
      readonly atMs: number;
      readonly alreadyCharging: boolean;
    }
  | {
      readonly type: 'node-assignment-cleared';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly vehicleId: string;
      readonly reason: AssignmentClearReason;
    }
  /** Report of a request that was not accepted; nothing else changed. */
  | {
      readonly type: 'request-rejected';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly vehicleId: string;
      readonly soc: number | null;
      readonly reason: AssignRejectReason;
    }
  /** Vehicle created (by any message or an operator) or its profile changed. */
  | {
      readonly type: 'vehicle-upserted';
      readonly ts: number;
      readonly vehicleId: string;
      readonly created: boolean;
      readonly vehicle: VehicleView;
    }
  /** Report of every applied vehicle telemetry: the message's values. */
  | {
      readonly type: 'vehicle-telemetry';
      readonly ts: number;
      readonly vehicleId: string;
      readonly position: GeoPoint;
      readonly batteryLevel: number;
      readonly speedKmh: number | null;
      readonly engineTempC: number | null;
      readonly isCharging: boolean;
    }
  /**
   * Report of a DLM event received from the broker. It is always the hub's (its own DLM, or
   * anyone able to publish there): `claimedSource`/`allocationId` are what the payload
   * claims, never proof that the orchestrator sent it. Nothing else in the twin changes.
   */
  | {
      readonly type: 'hub-dlm-event';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly reason: string;
      readonly originalLimitKw: number;
      readonly newLimitKw: number;
      readonly totalGridLoadKw: number;
      readonly availableCapacityKw: number;
      readonly allocationId: string | null;
      readonly claimedSource: string | null;
    }
  /** Hub deleted by an operator (after the node-deleted of each of its nodes). */
  | {
      readonly type: 'hub-deleted';
      readonly ts: number;
      readonly hubId: string;
      /** The hub as it was. */
      readonly previous: HubView;
    }
  /** Node deleted by an operator (directly, or with its hub); its session was closed before. */
  | {
      readonly type: 'node-deleted';
      readonly ts: number;
      readonly hubId: string;
      readonly nodeId: string;
      readonly previous: NodeView;
    }
  /** Vehicle deleted by an operator. */
  | {
      readonly type: 'vehicle-deleted';
      readonly ts: number;
      readonly vehicleId: string;
      readonly previous: VehicleView;
    }
  /**
   * An operator command, for the audit log: who, what, on what, the settings it touched
   * before and after (null: did not exist / no longer exists), and the operator's note. It
   * comes after the ordinary changes the command made.
   */
  | {
      readonly type: 'operator-action';
      readonly ts: number;
      readonly actor: string;
      readonly op: OperatorOp;
      readonly target: AuditTarget;
      readonly before: AuditState | null;
      readonly after: AuditState | null;
      readonly note: string | null;
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

/**
 * Is this a list of twin changes (what the twin node sends on its first output)? Checks the
 * shape only: an array of objects with a string `type`. Consumers switch on `type` and
 * ignore types they do not know (the list of types grows).
 */
export function isTwinChangeList(v: unknown): v is TwinChange[] {
  return (
    Array.isArray(v) &&
    v.every((c) => c !== null && typeof c === 'object' && typeof (c as { type?: unknown }).type === 'string')
  );
}
