// Row types of the PostgreSQL schema (see migrations/) and the shapes written.
//
// Writes are upserts of *partial* rows: a field that is `undefined` (or absent) keeps the
// stored value, `null` clears it. Read rows have every column.

/** A point in time: a Date, epoch milliseconds, or an ISO-8601 string (microseconds allowed). */
export type TimeInput = Date | number | string;

export interface HubRow {
  hub_id: string;
  latitude: number | null;
  longitude: number | null;
  altitude: number | null;
  max_grid_capacity_kw: number | null;
  ip_address: string | null;
  firmware_version: string | null;
  state: string | null;
  cpu_temp: number | null;
  /** The operator's switch (hub-active). */
  is_active: boolean;
  /** The hub's own availability (online, fresh) at its last transition; null before one. */
  available: boolean | null;
  capacity_override_kw: number | null;
  capacity_override_from: Date | null;
  capacity_override_until: Date | null;
  /** Created or taken over by an operator. */
  registered: boolean;
  last_seen: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface HubUpsert {
  hub_id: string;
  latitude?: number | null;
  longitude?: number | null;
  altitude?: number | null;
  max_grid_capacity_kw?: number | null;
  ip_address?: string | null;
  firmware_version?: string | null;
  state?: string | null;
  cpu_temp?: number | null;
  /** The operator's switch; new hubs default to true (see HubControlUpsert). */
  is_active?: boolean;
  available?: boolean | null;
  /** Only ever moves forward; a row older than the stored last_seen is ignored as stale. */
  last_seen?: TimeInput | null;
}

/**
 * The operator's settings of a hub: never guarded by last_seen, never dropped by the write
 * queue (durable). Creates the hub when it is not known yet.
 */
export interface HubControlUpsert {
  hub_id: string;
  /** New hubs default to true. */
  is_active?: boolean;
  capacity_override_kw?: number | null;
  capacity_override_from?: TimeInput | null;
  capacity_override_until?: TimeInput | null;
  /** New hubs default to false. */
  registered?: boolean;
}

export interface NodeRow {
  hub_id: string;
  node_id: string;
  name: string | null;
  max_power_kw: number | null;
  state: string | null;
  error_code: number;
  current_vehicle_id: string | null;
  /** Effective maintenance: the operator's, or the hub's. */
  is_maintenance: boolean;
  power_kw: number | null;
  power_limit_kw: number | null;
  last_seen: Date | null;
  operator_maintenance: boolean;
  max_power_override_kw: number | null;
  registered: boolean;
  assigned_vehicle_id: string | null;
  /** Receipt time of the assigning request. */
  assigned_at: Date | null;
  /** Message time of the assigning request. */
  assigned_ts: Date | null;
  assigned_soc: number | null;
  operator_ended_vehicle_id: string | null;
  updated_at: Date;
}

/** Writing a node creates its hub (with defaults) when the hub is not known yet. */
export interface NodeUpsert {
  hub_id: string;
  node_id: string;
  name?: string | null;
  max_power_kw?: number | null;
  state?: string | null;
  /** New nodes default to 0. */
  error_code?: number;
  current_vehicle_id?: string | null;
  /** New nodes default to false. */
  is_maintenance?: boolean;
  power_kw?: number | null;
  power_limit_kw?: number | null;
  /** Only ever moves forward; a row older than the stored last_seen is ignored as stale. */
  last_seen?: TimeInput | null;
}

/**
 * The operator's settings and the pending request assignment of a node: never guarded by
 * last_seen, never dropped by the write queue. Creates the node (and its hub) when needed.
 */
export interface NodeControlUpsert {
  hub_id: string;
  node_id: string;
  /** New nodes default to false. */
  operator_maintenance?: boolean;
  max_power_override_kw?: number | null;
  /** New nodes default to false. */
  registered?: boolean;
  assigned_vehicle_id?: string | null;
  assigned_at?: TimeInput | null;
  assigned_ts?: TimeInput | null;
  assigned_soc?: number | null;
  operator_ended_vehicle_id?: string | null;
}

export interface VehicleRow {
  vehicle_id: string;
  model: string | null;
  manufacturer: string | null;
  driver: string | null;
  battery_capacity_kwh: number | null;
  priority: boolean;
  soc: number | null;
  soc_source: string | null;
  soc_class: string | null;
  latitude: number | null;
  longitude: number | null;
  last_seen: Date | null;
  registered: boolean;
  created_at: Date;
  updated_at: Date;
}

/** Telemetry-derived vehicle fields (auto-registers the vehicle; never touches its profile). */
export interface VehicleTelemetryUpsert {
  vehicle_id: string;
  soc?: number | null;
  soc_source?: string | null;
  soc_class?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  /** Only ever moves forward; a row older than the stored last_seen is ignored as stale. */
  last_seen?: TimeInput | null;
}

/** Operator-edited vehicle fields (never overwritten by telemetry). */
export interface VehicleProfile {
  vehicle_id: string;
  model?: string | null;
  manufacturer?: string | null;
  driver?: string | null;
  battery_capacity_kwh?: number | null;
  /** New vehicles default to false. */
  priority?: boolean;
  /** New vehicles default to false. */
  registered?: boolean;
}

export interface SessionRow {
  session_id: string;
  hub_id: string;
  node_id: string;
  vehicle_id: string | null;
  start_time: Date;
  end_time: Date | null;
  energy_kwh: number;
  average_power_kw: number | null;
  peak_power_kw: number | null;
  start_soc: number | null;
  end_soc: number | null;
  close_reason: string | null;
  last_sample_at: Date | null;
  updated_at: Date;
}

/**
 * A session as the SoC tracker knows it (deterministic `session_id` from the caller).
 * Rules when the id exists: a closed session is never reopened (a row without end_time is
 * ignored), a row older than the stored `last_sample_at` is ignored, energy and peak power
 * never go backwards, hub/node/start_time/start_soc keep their first value.
 */
export interface SessionUpsert {
  session_id: string;
  hub_id: string;
  node_id: string;
  vehicle_id?: string | null;
  start_time: TimeInput;
  end_time?: TimeInput | null;
  energy_kwh?: number;
  average_power_kw?: number | null;
  peak_power_kw?: number | null;
  start_soc?: number | null;
  end_soc?: number | null;
  close_reason?: string | null;
  last_sample_at?: TimeInput | null;
}

export type DlmEventSource = 'orchestrator' | 'hub' | (string & {});

export interface DlmEventRow {
  id: number;
  event_key: string;
  hub_id: string;
  node_id: string;
  trigger_reason: string;
  original_limit: number | null;
  new_limit: number;
  total_grid_load: number | null;
  available_capacity: number | null;
  source: DlmEventSource;
  /** For source 'hub': the source the payload claimed (never trusted). */
  claimed_source: string | null;
  allocation_id: string | null;
  policy: string | null;
  /** Cluster mode: the owner's lease epoch of the hub when the event was sent; else null. */
  owner_epoch: number | null;
  ts: Date;
}

/**
 * Insert-only and idempotent by `event_key`: a second row with the key is ignored — except
 * that an 'orchestrator' row replaces a 'hub' row of the same key (the broker's echo of our
 * own event, stored before the event itself), never the other way round.
 */
export interface DlmEventInsert {
  event_key: string;
  hub_id: string;
  node_id: string;
  trigger_reason: string;
  original_limit?: number | null;
  new_limit: number;
  total_grid_load?: number | null;
  available_capacity?: number | null;
  /** Default 'orchestrator'. */
  source?: DlmEventSource;
  claimed_source?: string | null;
  allocation_id?: string | null;
  policy?: string | null;
  /**
   * Cluster mode: the owner's lease epoch. Anything but a non-negative safe integer is stored
   * as NULL (never an error: a junk value must not cost the rest of the batch).
   */
  owner_epoch?: number | null;
  ts: TimeInput;
}

/** Removal of a hub (its nodes go with it, ON DELETE CASCADE), a node or a vehicle. */
export type EntityDelete =
  | { entity: 'hub'; hub_id: string }
  | { entity: 'node'; hub_id: string; node_id: string }
  | { entity: 'vehicle'; vehicle_id: string };

export interface AuditRow {
  id: number;
  event_key: string;
  ts: Date;
  actor: string;
  op: string;
  hub_id: string | null;
  node_id: string | null;
  vehicle_id: string | null;
  session_id: string | null;
  before: unknown;
  after: unknown;
  note: string | null;
}

/** Insert-only, idempotent by `event_key`. `before`/`after` are stored as jsonb. */
export interface AuditInsert {
  event_key: string;
  ts: TimeInput;
  actor: string;
  op: string;
  hub_id?: string | null;
  node_id?: string | null;
  vehicle_id?: string | null;
  session_id?: string | null;
  before?: unknown;
  after?: unknown;
  note?: string | null;
}

export interface AuditFilters {
  hubId?: string;
  nodeId?: string;
  vehicleId?: string;
  actor?: string;
  /** ts >= since */
  since?: TimeInput;
  /** ts < until */
  until?: TimeInput;
  limit: number;
  offset: number;
}

export interface LastLimit {
  hub_id: string;
  node_id: string;
  new_limit: number;
  ts: Date;
}

export interface LoadedState {
  hubs: HubRow[];
  nodes: NodeRow[];
  vehicles: VehicleRow[];
  openSessions: SessionRow[];
  /** Latest DLM event per node from source 'orchestrator': the limits in force before a restart. */
  lastLimits: LastLimit[];
}

export interface Page<T> {
  items: T[];
  /** Rows matching the filters (ignoring limit/offset). */
  total: number;
}

export interface SessionFilters {
  hubId?: string;
  nodeId?: string;
  vehicleId?: string;
  /** true: open sessions only; false: closed only. */
  active?: boolean;
  /** Sessions overlapping [from, to): still open or ended at/after `from`, started before `to`. */
  from?: TimeInput;
  to?: TimeInput;
  limit: number;
  offset: number;
}

export interface DlmEventFilters {
  hubId?: string;
  nodeId?: string;
  /** ts >= since */
  since?: TimeInput;
  /** ts < until */
  until?: TimeInput;
  source?: string;
  limit: number;
  offset: number;
}

/** Thrown before any SQL for a value that cannot be stored (e.g. an invalid time). */
export class InvalidRowError extends Error {
  /** SQLSTATE-like code so callers can classify it like a PostgreSQL data error. */
  readonly code = '22000';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRowError';
  }
}
