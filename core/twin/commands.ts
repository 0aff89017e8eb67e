// Operator commands: what an operator (REST API, dashboard, original-API compatibility layer)
// may do to the twin. Field names are those of the REST bodies and the wire contract
// (snake_case), so a refusal names the field the caller sent (`max_power_kw: must be a
// number in 0..350`). Every command may carry a `note` (free text for the audit log; the
// reason of session-end). The twin only stores overrides: the DLM engine computes effective
// values (capacity = min(reported, override while in force), node max = min(reported, override)).
import type { HubView, NodeView, SessionView, VehicleView } from './view-types';

export interface GeoInput {
  readonly latitude: number;
  readonly longitude: number;
  /** Default 0. */
  readonly altitude?: number;
}

/** A capacity override: `kw` while `from_ms` ≤ now < `until_ms` (null: open-ended). */
export interface CapacityOverrideInput {
  readonly kw: number;
  readonly from_ms?: number | null;
  readonly until_ms?: number | null;
}

interface Noted {
  /** Free text for the audit log (at most 500 characters, no control characters). */
  readonly note?: string;
}

/**
 * Every operator command. In upserts an absent field keeps its value and null clears it;
 * a created hub without `max_grid_capacity_kw` has no capacity until its info or a command
 * gives one (requests to it are refused with hub-no-capacity).
 */
export type OperatorCommand =
  | (Noted & {
      readonly op: 'hub-upsert';
      readonly hub_id: string;
      readonly location?: GeoInput | null;
      /** 0..1000 kW. */
      readonly max_grid_capacity_kw?: number | null;
      /** IPv4 or IPv6. */
      readonly ip_address?: string | null;
      /** At most 20 characters. */
      readonly firmware_version?: string | null;
    })
  /** The hub and its nodes go; their open sessions close (reason operator). */
  | (Noted & { readonly op: 'hub-delete'; readonly hub_id: string })
  /** Inactive: every node of the hub gets 0 and the hub is never recommended nor assigned. */
  | (Noted & { readonly op: 'hub-active'; readonly hub_id: string; readonly active: boolean })
  /** kw 0..1000; null clears the override. */
  | (Noted & {
      readonly op: 'hub-capacity-override';
      readonly hub_id: string;
      readonly override: CapacityOverrideInput | null;
    })
  /** The hub must exist. */
  | (Noted & {
      readonly op: 'node-upsert';
      readonly hub_id: string;
      readonly node_id: string;
      /** At most 100 characters. */
      readonly name?: string | null;
      /** 0..350 kW. */
      readonly max_power_kw?: number | null;
    })
  /** The node goes; its open session closes (reason operator). */
  | (Noted & { readonly op: 'node-delete'; readonly hub_id: string; readonly node_id: string })
  | (Noted & {
      readonly op: 'node-maintenance';
      readonly hub_id: string;
      readonly node_id: string;
      readonly maintenance: boolean;
    })
  /** kw 0..350; null clears the override. */
  | (Noted & {
      readonly op: 'node-max-power-override';
      readonly hub_id: string;
      readonly node_id: string;
      readonly kw: number | null;
    })
  | (Noted & {
      readonly op: 'vehicle-upsert';
      readonly vehicle_id: string;
      /** (0, 1000] kWh. */
      readonly battery_capacity_kwh?: number | null;
      readonly priority?: boolean;
      /** Each at most 100 characters. */
      readonly model?: string | null;
      readonly manufacturer?: string | null;
      readonly driver?: string | null;
    })
  /** Refused (TwinConflict) while the vehicle charges: end its session first. */
  | (Noted & { readonly op: 'vehicle-delete'; readonly vehicle_id: string })
  /**
   * Closes the open session of the node (reason operator, `note` as the reason text). The
   * node does not reopen one for the same vehicle until its status changes.
   */
  | (Noted & { readonly op: 'session-end'; readonly hub_id: string; readonly node_id: string });

export type OperatorOp = OperatorCommand['op'];

/** What each command returns as its result: the entity after it, null after a delete. */
export interface OperatorResults {
  'hub-upsert': HubView;
  'hub-delete': null;
  'hub-active': HubView;
  'hub-capacity-override': HubView;
  'node-upsert': NodeView;
  'node-delete': null;
  'node-maintenance': NodeView;
  'node-max-power-override': NodeView;
  'vehicle-upsert': VehicleView;
  'vehicle-delete': null;
  /** The closed session. */
  'session-end': SessionView;
}

export type OperatorResult = OperatorResults[OperatorOp];

/** The audit target of a command. */
export interface AuditTarget {
  readonly hubId?: string;
  readonly nodeId?: string;
  readonly vehicleId?: string;
  readonly sessionId?: string;
}
