// The operators' control page and alarms banner (Dashboard 2.0), shaped from the REST API's
// JSON (hubJson, vehicleJson) like the other dashboard rows. Pure: no I/O, time is a parameter.
import type { hubJson, nodeJson, vehicleJson } from '../lib/api/views';

type HubJson = ReturnType<typeof hubJson>;
type NodeJson = ReturnType<typeof nodeJson>;
type VehicleJson = ReturnType<typeof vehicleJson>;

export type ControlHubInput = Pick<
  HubJson,
  | 'hub_id'
  | 'state'
  | 'stale'
  | 'active'
  | 'max_grid_capacity_kw'
  | 'capacity_override'
  | 'load_kw'
  | 'last_seen'
> & {
  nodes: ReadonlyArray<
    Pick<
      NodeJson,
      | 'node_id'
      | 'name'
      | 'state'
      | 'maintenance'
      | 'operator_maintenance'
      | 'error_code'
      | 'vehicle_id'
      | 'session_id'
      | 'power_kw'
      | 'power_limit_kw'
    >
  >;
};

export type ControlVehicleInput = Pick<
  VehicleJson,
  'vehicle_id' | 'priority' | 'soc' | 'soc_class' | 'is_charging' | 'hub_id' | 'node_id'
>;

/** kW for people on the dashboard: 0.1. */
export const kw1 = (v: number): number => Math.round(v * 10) / 10;
/** Percentages on the dashboard: 0.1. */
export const pct1 = kw1;

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
const byText = (a: string, b: string): number => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);

/** The capacity override in force at `nowMs` (kW), or null. */
export function overrideInForce(o: HubJson['capacity_override'], nowMs: number): number | null {
  if (!o) return null;
  if (o.from !== null && Date.parse(o.from) > nowMs) return null;
  if (o.until !== null && Date.parse(o.until) <= nowMs) return null;
  return o.kw;
}

/** The capacity the DLM uses: min(reported, override in force); 0 for an inactive hub. */
export function effectiveCapacity(h: ControlHubInput, nowMs: number): number | null {
  if (!h.active) return 0;
  const o = overrideInForce(h.capacity_override, nowMs);
  const c = h.max_grid_capacity_kw;
  if (c === null) return o;
  return o === null ? c : Math.min(c, o);
}

export interface ControlNode {
  node_id: string;
  name: string;
  state: string;
  /** Set by an operator (the switch); `maintenance` may also come from the hub. */
  operator_maintenance: boolean;
  maintenance: boolean;
  vehicle_id: string;
  /** An open session the operator may end. */
  session: boolean;
  power_kw: number | null;
  limit_kw: number | null;
}

export interface ControlHub {
  hub_id: string;
  state: string;
  active: boolean;
  capacity_kw: number | null;
  override_kw: number | null;
  /** "until 14:00Z" and the like, '' without an override. */
  override_window: string;
  effective_kw: number | null;
  load_kw: number;
  limits_kw: number;
  nodes: ControlNode[];
}

export interface ControlVehicle {
  vehicle_id: string;
  priority: boolean;
  soc_pct: number | null;
  soc_class: string;
  charging_at: string;
}

export interface ControlRows {
  hubs: ControlHub[];
  vehicles: ControlVehicle[];
}

/** Everything the control page shows: hubs with their nodes, and the vehicles; ordered by id. */
export function dashboardControlRows(
  hubs: readonly ControlHubInput[],
  vehicles: readonly ControlVehicleInput[],
  nowMs: number,
): ControlRows {
  return {
    hubs: hubs
      .map((h) => {
        let limits = 0;
        for (const n of h.nodes) limits += n.power_limit_kw ?? 0;
        const o = h.capacity_override;
        const window = o
          ? [o.from ? `from ${o.from}` : '', o.until ? `until ${o.until}` : ''].join(' ').trim()
          : '';
        const eff = effectiveCapacity(h, nowMs);
        return {
          hub_id: h.hub_id,
          state: h.stale && h.state !== 'offline' ? 'stale' : h.state,
          active: h.active,
          capacity_kw: h.max_grid_capacity_kw === null ? null : kw1(h.max_grid_capacity_kw),
          override_kw: o ? kw1(o.kw) : null,
          override_window: window,
          effective_kw: eff === null ? null : kw1(eff),
          load_kw: kw1(h.load_kw),
          limits_kw: kw1(limits),
          nodes: h.nodes
            .map((n) => ({
              node_id: n.node_id,
              name: n.name ?? '',
              state: n.state === 'faulted' && n.error_code ? `faulted (${n.error_code})` : n.state,
              operator_maintenance: n.operator_maintenance,
              maintenance: n.maintenance,
              vehicle_id: n.vehicle_id ?? '',
              session: n.session_id !== null,
              power_kw: n.power_kw === null ? null : kw1(n.power_kw),
              limit_kw: n.power_limit_kw === null ? null : kw1(n.power_limit_kw),
            }))
            .sort((a, b) => byText(a.node_id, b.node_id)),
        };
      })
      .sort((a, b) => byText(a.hub_id, b.hub_id)),
    vehicles: vehicles
      .map((v) => ({
        vehicle_id: v.vehicle_id,
        priority: v.priority,
        soc_pct: v.soc === null ? null : pct1(v.soc),
        soc_class: v.soc_class,
        charging_at: v.is_charging && v.hub_id ? `${v.hub_id} / ${v.node_id ?? '?'}` : '',
      }))
      .sort((a, b) => byText(a.vehicle_id, b.vehicle_id)),
  };
}

export interface DashboardAlarm {
  /** Stable key (for the banner's list). */
  key: string;
  level: 'error' | 'warning';
  text: string;
}

/** A DLM alarm as the allocator's output 2 sends it (payload). */
export interface DlmAlarmMessage {
  state: 'raised' | 'cleared';
  alarm: string;
  hub_id: string;
  node_id?: string;
  message: string;
}

/** The DLM alarms in force, kept from the allocator's raised/cleared messages. */
export class DlmAlarmBook {
  private readonly active = new Map<string, DlmAlarmMessage>();

  /** Takes one message of the allocator's output 2; false when it is not one. */
  apply(payload: unknown): boolean {
    const p = payload as Partial<DlmAlarmMessage> | null;
    if (!p || typeof p !== 'object' || typeof p.alarm !== 'string' || typeof p.hub_id !== 'string')
      return false;
    if (p.state !== 'raised' && p.state !== 'cleared') return false;
    const key = `${p.alarm}\u0000${p.hub_id}\u0000${p.node_id ?? ''}`;
    if (p.state === 'cleared') this.active.delete(key);
    else this.active.set(key, { ...(p as DlmAlarmMessage), message: String(p.message ?? p.alarm) });
    return true;
  }

  /** Forgets the alarms of hubs no longer in the fleet. */
  keepHubs(hubIds: ReadonlySet<string>): void {
    for (const [k, a] of this.active) if (!hubIds.has(a.hub_id)) this.active.delete(k);
  }

  list(): DlmAlarmMessage[] {
    return [...this.active.entries()].sort((a, b) => byText(a[0], b[0])).map(([, a]) => a);
  }
}

/** Load above the capacity in use by more than this (kW) is an overload worth an alarm. */
export const OVERLOAD_TOLERANCE_KW = 0.5;

export interface DependencyStates {
  postgres?: 'ok' | 'down' | 'off';
  influxdb?: 'ok' | 'down' | 'off';
}

/**
 * The alarms banner: hubs offline or stale, hubs whose measured load is above the capacity in
 * use (min(reported, override), 0 when inactive) — the load, not the limits a hub set itself
 * before the DLM took it over —, faulted nodes, PostgreSQL or InfluxDB down, and the DLM's own
 * alarms. Errors first, then warnings; each in hub order.
 */
export function dashboardAlarms(
  hubs: readonly ControlHubInput[],
  deps: DependencyStates,
  dlm: readonly DlmAlarmMessage[],
  nowMs: number,
): DashboardAlarm[] {
  const out: DashboardAlarm[] = [];
  if (deps.postgres === 'down')
    out.push({ key: 'postgres', level: 'error', text: 'PostgreSQL is down: history and audit are queued' });
  if (deps.influxdb === 'down')
    out.push({ key: 'influxdb', level: 'warning', text: 'InfluxDB is down: time series are queued' });
  for (const h of [...hubs].sort((a, b) => byText(a.hub_id, b.hub_id))) {
    if (h.state === 'offline')
      out.push({ key: `offline:${h.hub_id}`, level: 'error', text: `hub ${h.hub_id} is offline` });
    else if (h.stale)
      out.push({ key: `stale:${h.hub_id}`, level: 'warning', text: `hub ${h.hub_id} is silent (stale)` });
    const cap = effectiveCapacity(h, nowMs);
    if (cap !== null && h.load_kw > cap + OVERLOAD_TOLERANCE_KW)
      out.push({
        key: `overload:${h.hub_id}`,
        level: 'error',
        text: `hub ${h.hub_id} overloaded: ${kw1(h.load_kw)} kW drawn, ${kw1(cap)} kW allowed`,
      });
    for (const n of h.nodes)
      if (n.state === 'faulted')
        out.push({
          key: `faulted:${h.hub_id}/${n.node_id}`,
          level: 'error',
          text: `node ${h.hub_id}/${n.node_id} faulted${n.error_code ? ` (error ${n.error_code})` : ''}`,
        });
  }
  for (const a of dlm)
    out.push({
      key: `dlm:${a.alarm}:${a.hub_id}:${a.node_id ?? ''}`,
      level: 'warning',
      text: a.message,
    });
  const rank = (a: DashboardAlarm) => (a.level === 'error' ? 0 : 1);
  return out
    .map((a, i) => ({ a, i }))
    .sort((x, y) => rank(x.a) - rank(y.a) || x.i - y.i)
    .map((x) => x.a);
}
