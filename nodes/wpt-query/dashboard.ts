// Rows for the operators' Dashboard 2.0 (flows/dashboard.json), shaped from the same JSON the
// REST API gives (hubJson, vehicleJson, dlmEventRowJson), so the dashboard and GET /api/…
// always show the same numbers, for people: kW and % to 0.1. Pure: no I/O, time is a parameter.
import type { dlmEventRowJson, hubJson, nodeJson, vehicleJson } from '../lib/api/views';

type HubJson = ReturnType<typeof hubJson>;
type NodeJson = ReturnType<typeof nodeJson>;
type VehicleJson = ReturnType<typeof vehicleJson>;
type DlmEventJson = ReturnType<typeof dlmEventRowJson>;

/** What the dashboard reads of a hub (a subset of GET /api/hubs items). */
export type DashboardHubInput = Pick<
  HubJson,
  'hub_id' | 'location' | 'max_grid_capacity_kw' | 'state' | 'stale' | 'load_kw' | 'utilisation' | 'last_seen'
> & {
  nodes: ReadonlyArray<
    Pick<
      NodeJson,
      | 'node_id'
      | 'name'
      | 'max_power_kw'
      | 'state'
      | 'maintenance'
      | 'error_code'
      | 'vehicle_id'
      | 'soc'
      | 'soc_class'
      | 'power_kw'
      | 'power_limit_kw'
    >
  >;
};

/** What the dashboard reads of a vehicle (a subset of GET /api/vehicles items). */
export type DashboardVehicleInput = Pick<
  VehicleJson,
  | 'vehicle_id'
  | 'soc'
  | 'soc_class'
  | 'priority'
  | 'model'
  | 'is_charging'
  | 'speed_kmh'
  | 'hub_id'
  | 'node_id'
  | 'last_seen'
>;

/** What the dashboard reads of a stored DLM event (a subset of GET /api/dlm/events items). */
export type DashboardEventInput = Pick<
  DlmEventJson,
  | 'hub_id'
  | 'node_id'
  | 'trigger_reason'
  | 'original_limit'
  | 'new_limit'
  | 'total_grid_load'
  | 'available_capacity'
  | 'source'
  | 'timestamp'
>;

export interface DashboardHubRow {
  hub_id: string;
  /** "lat, lon" with 4 decimals, '' when unknown. */
  location: string;
  /** online, stale, offline, maintenance or unknown. */
  state: string;
  load_kw: number;
  capacity_kw: number | null;
  /** Load as % of capacity (1 decimal), null without a capacity. */
  utilisation_pct: number | null;
  /** The same, limited to 0…100 for a progress bar. */
  utilisation_bar: number;
  /** "charging / nodes", e.g. "2 / 4". */
  charging: string;
  /** Sum of the power limits in force at the nodes that charge (kW). */
  allocated_kw: number;
  last_seen: string | null;
}

export interface DashboardNodeRow {
  hub_id: string;
  node_id: string;
  name: string;
  /** idle, charging, full, faulted (with its error code), maintenance or unknown. */
  state: string;
  vehicle_id: string;
  soc_pct: number | null;
  soc_class: string;
  power_kw: number | null;
  limit_kw: number | null;
  max_power_kw: number | null;
}

export interface DashboardVehicleRow {
  vehicle_id: string;
  soc_pct: number | null;
  soc_class: string;
  /** 'priority' for priority vehicles, else ''. */
  priority: string;
  /** charging, driving or parked. */
  activity: string;
  /** "hub / node" where it charges, '' when not charging. */
  charging_at: string;
  model: string;
  last_seen: string | null;
}

export interface DashboardEventRow {
  time: string;
  hub_id: string;
  node_id: string;
  reason: string;
  /** The reason in plain words for operators. */
  meaning: string;
  /** "7.0 → 3.5", or "– → 3.5" without an original limit (kW). */
  change: string;
  original_kw: number | null;
  new_kw: number;
  grid_load_kw: number | null;
  available_kw: number | null;
  source: string;
}

/** One point of the load charts: per hub, its load and its capacity (kW) at `t`. */
export interface DashboardLoadPoint {
  t: number;
  hub_id: string;
  /** 'load' or 'capacity': the series of the per-hub bar chart. */
  measure: 'load' | 'capacity';
  /** "<hub> load" / "<hub> capacity": the series of the history chart. */
  series: string;
  kw: number;
}

const round = (v: number, d: number): number => Math.round(v * 10 ** d) / 10 ** d;
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
const byText = (a: string, b: string): number => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);

/** Plain words for the trigger reasons of DESIGN.md / CONTRACT.md. */
export const REASON_MEANINGS: Readonly<Record<string, string>> = {
  VEHICLE_CONNECTED: 'a vehicle connected',
  VEHICLE_DISCONNECTED: 'a vehicle left',
  CHARGING_COMPLETE: 'charging complete',
  PRIORITY_SHIFT: 'a vehicle changed class',
  CAPACITY_CHANGED: 'hub capacity changed',
  NODE_FAULT: 'node faulted',
  NODE_MAINTENANCE: 'node in maintenance',
  GRID_OVERLOAD: 'load above capacity: cut',
  REBALANCE: 'periodic rebalance',
  RESYNC: 'limits re-sent',
  DEFERRED: 'deferred: floors do not fit',
};

export function reasonMeaning(reason: string): string {
  return Object.prototype.hasOwnProperty.call(REASON_MEANINGS, reason) ? REASON_MEANINGS[reason]! : '';
}

function hubState(h: Pick<HubJson, 'state' | 'stale'>): string {
  return h.stale && h.state !== 'offline' ? 'stale' : h.state;
}

function nodeState(n: Pick<NodeJson, 'state' | 'maintenance' | 'error_code'>): string {
  if (n.maintenance) return 'maintenance';
  if (n.state === 'faulted' && n.error_code) return `faulted (${n.error_code})`;
  return n.state;
}

/** One row per hub, ordered by hub id: load against capacity, utilisation, nodes charging. */
export function dashboardHubRows(hubs: readonly DashboardHubInput[]): DashboardHubRow[] {
  return hubs
    .map((h) => {
      const cap = h.max_grid_capacity_kw;
      const pct = h.utilisation === null ? null : round(h.utilisation * 100, 1);
      let charging = 0;
      let allocated = 0;
      for (const n of h.nodes) {
        if (n.state !== 'charging') continue;
        charging++;
        allocated += n.power_limit_kw ?? 0;
      }
      return {
        hub_id: h.hub_id,
        location: h.location ? `${h.location.latitude.toFixed(4)}, ${h.location.longitude.toFixed(4)}` : '',
        state: hubState(h),
        load_kw: round(h.load_kw, 1),
        capacity_kw: cap === null ? null : round(cap, 1),
        utilisation_pct: pct,
        utilisation_bar: pct === null ? 0 : Math.min(100, Math.max(0, pct)),
        charging: `${charging} / ${h.nodes.length}`,
        allocated_kw: round(allocated, 1),
        last_seen: h.last_seen,
      };
    })
    .sort((a, b) => byText(a.hub_id, b.hub_id));
}

/** One row per node of every hub, ordered by hub then node id. */
export function dashboardNodeRows(hubs: readonly DashboardHubInput[]): DashboardNodeRow[] {
  const rows: DashboardNodeRow[] = [];
  for (const h of hubs) {
    for (const n of h.nodes) {
      rows.push({
        hub_id: h.hub_id,
        node_id: n.node_id,
        name: n.name ?? '',
        state: nodeState(n),
        vehicle_id: n.vehicle_id ?? '',
        soc_pct: n.soc === null ? null : round(n.soc, 1),
        soc_class: n.vehicle_id ? (n.soc_class ?? '') : '',
        power_kw: n.power_kw === null ? null : round(n.power_kw, 1),
        limit_kw: n.power_limit_kw === null ? null : round(n.power_limit_kw, 1),
        max_power_kw: n.max_power_kw === null ? null : round(n.max_power_kw, 1),
      });
    }
  }
  return rows.sort((a, b) => byText(a.hub_id, b.hub_id) || byText(a.node_id, b.node_id));
}

/** One row per vehicle, ordered by vehicle id. */
export function dashboardVehicleRows(vehicles: readonly DashboardVehicleInput[]): DashboardVehicleRow[] {
  return vehicles
    .map((v) => {
      const chargingAt = v.is_charging && v.hub_id ? `${v.hub_id} / ${v.node_id ?? '?'}` : '';
      const activity = v.is_charging ? 'charging' : (v.speed_kmh ?? 0) > 0 ? 'driving' : 'parked';
      return {
        vehicle_id: v.vehicle_id,
        soc_pct: v.soc === null ? null : round(v.soc, 1),
        soc_class: v.soc_class,
        priority: v.priority ? 'priority' : '',
        activity,
        charging_at: chargingAt,
        model: v.model ?? '',
        last_seen: v.last_seen,
      };
    })
    .sort((a, b) => byText(a.vehicle_id, b.vehicle_id));
}

const kw = (v: number | null): string => (v === null ? '–' : v.toFixed(1));

/** What a decrease of ours means when the limits in force were above the hub's capacity. */
export const OWN_LIMITS_CORRECTED = 'the hub’s own limits were above capacity: corrected';

/**
 * Is this our decrease of limits a hub set itself? Our limits never add up above the capacity
 * in use, so an event of ours whose limits in force (total_grid_load) exceed it corrects limits
 * the hub set before the DLM took it over (its boot default or its own DLM, at start): a
 * correction, not an overload.
 */
function correctsOwnLimits(e: DashboardEventInput, capacityKw: number | undefined): boolean {
  return (
    e.source === 'orchestrator' &&
    capacityKw !== undefined &&
    e.total_grid_load !== null &&
    e.total_grid_load > capacityKw + 0.001 &&
    e.original_limit !== null &&
    e.new_limit < e.original_limit
  );
}

/**
 * DLM events as rows, in the order given (the API's: newest first). `capacities`: the capacity
 * in use per hub (kW), to tell corrections of a hub's own limits from overloads.
 */
export function dashboardEventRows(
  events: readonly DashboardEventInput[],
  capacities: ReadonlyMap<string, number> = new Map(),
): DashboardEventRow[] {
  return events.map((e) => ({
    time: e.timestamp,
    hub_id: e.hub_id,
    node_id: e.node_id,
    reason: e.trigger_reason,
    meaning: correctsOwnLimits(e, capacities.get(e.hub_id))
      ? OWN_LIMITS_CORRECTED
      : reasonMeaning(e.trigger_reason),
    change: `${kw(e.original_limit)} → ${kw(e.new_limit)}`,
    original_kw: e.original_limit === null ? null : round(e.original_limit, 1),
    new_kw: round(e.new_limit, 1),
    grid_load_kw: e.total_grid_load === null ? null : round(e.total_grid_load, 1),
    available_kw: e.available_capacity === null ? null : round(e.available_capacity, 1),
    source: e.source,
  }));
}

/**
 * Points for the load charts at `nowMs`: per hub (ordered by id) its load, then its capacity
 * (hubs whose capacity is not known yet give only the load).
 */
/** Above this many hubs the history chart shows the fleet's total instead of a series per hub. */
export const HISTORY_MAX_HUB_SERIES = 12;

export function dashboardLoadPoints(
  hubs: readonly DashboardHubInput[],
  nowMs: number,
  maxHubSeries = HISTORY_MAX_HUB_SERIES,
): DashboardLoadPoint[] {
  const points: DashboardLoadPoint[] = [];
  if (hubs.length > maxHubSeries) {
    // A chart of hundreds of series is unreadable and costs the dashboard memory: one total.
    let load = 0;
    let capacity = 0;
    for (const h of hubs) {
      load += h.load_kw;
      capacity += h.max_grid_capacity_kw ?? 0;
    }
    points.push({
      t: nowMs,
      hub_id: '*',
      measure: 'load',
      series: `all ${hubs.length} hubs load`,
      kw: round(load, 1),
    });
    points.push({
      t: nowMs,
      hub_id: '*',
      measure: 'capacity',
      series: `all ${hubs.length} hubs capacity`,
      kw: round(capacity, 1),
    });
    return points;
  }
  for (const h of [...hubs].sort((a, b) => byText(a.hub_id, b.hub_id))) {
    points.push({
      t: nowMs,
      hub_id: h.hub_id,
      measure: 'load',
      series: `${h.hub_id} load`,
      kw: round(h.load_kw, 1),
    });
    if (h.max_grid_capacity_kw !== null) {
      points.push({
        t: nowMs,
        hub_id: h.hub_id,
        measure: 'capacity',
        series: `${h.hub_id} capacity`,
        kw: round(h.max_grid_capacity_kw, 1),
      });
    }
  }
  return points;
}
