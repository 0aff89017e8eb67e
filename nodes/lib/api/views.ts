// The live twin as the REST API shows it (snake_case like the wire contract).
import type { HubView, NodeView, SessionView, VehicleView } from '../../../core/twin';
import { formatTimestamp } from '../../../core/contract';
import { kw, kwh, pct, toPeopleJson } from './people';
import type { AuditRow, DlmEventRow, SessionRow } from '../../../adapters/postgres';

const iso = (ms: number | null): string | null => (ms === null ? null : formatTimestamp(ms));
const num = (v: number | null | undefined, f: (x: number) => number): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? f(v) : null;

export interface TwinReader {
  hubs(): HubView[];
  hub(id: string): HubView | undefined;
  nodesOf(hubId: string): NodeView[];
  vehicle(id: string): VehicleView | undefined;
  vehicles(): VehicleView[];
  openSession(hubId: string, nodeId: string): SessionView | undefined;
  openSessions(): SessionView[];
}

export function sessionJson(s: SessionView) {
  return {
    session_id: s.sessionId,
    hub_id: s.hubId,
    node_id: s.nodeId,
    vehicle_id: s.vehicleId,
    start_time: iso(s.startTs),
    end_time: iso(s.endTs),
    energy_kwh: kwh(s.energyKwh),
    duration_s: Math.round(s.durationS * 10) / 10,
    average_power_kw: kw(s.averagePowerKw),
    peak_power_kw: kw(s.peakPowerKw),
    start_soc: num(s.startSoc, pct),
    end_soc: num(s.endSoc, pct),
    active: s.endTs === null,
  };
}

export function nodeJson(t: TwinReader, n: NodeView) {
  const v = n.vehicleId ? t.vehicle(n.vehicleId) : undefined;
  return {
    node_id: n.nodeId,
    name: n.name,
    max_power_kw: n.maxPowerKw,
    state: n.state,
    maintenance: n.maintenance,
    operator_maintenance: n.operatorMaintenance,
    max_power_override_kw: n.maxPowerOverrideKw,
    error_code: n.errorCode,
    vehicle_id: n.vehicleId,
    soc: num(v?.soc ?? n.telemetry?.soc, pct),
    soc_class: v?.socClass ?? null,
    power_kw: num(n.telemetry?.powerKw, kw),
    power_limit_kw: num(n.telemetry?.powerLimitKw, kw),
    session_id: n.sessionId,
    last_seen: iso(n.lastSeenMs),
  };
}

export function hubJson(t: TwinReader, h: HubView) {
  const nodes = t.nodesOf(h.hubId);
  let load = 0;
  for (const n of nodes) load += n.telemetry?.powerKw ?? 0;
  const cap = h.maxGridCapacityKw;
  return {
    hub_id: h.hubId,
    location: h.location,
    max_grid_capacity_kw: cap,
    ip_address: h.ipAddress,
    firmware_version: h.firmwareVersion,
    state: h.state,
    stale: h.stale,
    available: h.available,
    active: h.active,
    capacity_override: h.capacityOverride
      ? {
          kw: h.capacityOverride.kw,
          from: iso(h.capacityOverride.fromMs),
          until: iso(h.capacityOverride.untilMs),
        }
      : null,
    cpu_temp: h.cpuTempC,
    last_seen: iso(h.lastSeenMs),
    load_kw: kw(load),
    utilisation: cap && cap > 0 ? Math.round((load / cap) * 1000) / 1000 : null,
    nodes: nodes.map((n) => nodeJson(t, n)),
  };
}

export function vehicleJson(t: TwinReader, v: VehicleView) {
  const session = v.hubId && v.nodeId ? t.openSession(v.hubId, v.nodeId) : undefined;
  return {
    vehicle_id: v.vehicleId,
    soc: num(v.soc, pct),
    soc_source: v.socSource,
    soc_class: v.socClass,
    priority: v.priority,
    battery_capacity_kwh: v.batteryKwh,
    model: v.model,
    manufacturer: v.manufacturer,
    driver: v.driver,
    position: v.position,
    speed_kmh: v.speedKmh,
    is_charging: v.isCharging,
    last_seen: iso(v.lastSeenMs),
    hub_id: v.hubId,
    node_id: v.nodeId,
    open_session: session ? sessionJson(session) : null,
  };
}

export interface VehicleProfileInput {
  vehicle_id: string;
  model?: string | null;
  manufacturer?: string | null;
  driver?: string | null;
  battery_capacity_kwh?: number | null;
  priority?: boolean;
}

/** POST /api/vehicles body: register or update a vehicle's profile. */
export function parseVehicleProfile(
  body: unknown,
): { ok: true; value: VehicleProfileInput } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return { ok: false, errors: ['body: must be a JSON object'] };
  const b = body as Record<string, unknown>;
  const value: VehicleProfileInput = { vehicle_id: '' };
  const id = b.vehicle_id;
  // eslint-disable-next-line no-control-regex
  if (typeof id !== 'string' || id.length < 1 || id.length > 50 || /[/+#\u0000-\u001f\u007f]/.test(id)) {
    errors.push("vehicle_id: must be 1-50 characters without '/', '+', '#' or control characters");
  } else value.vehicle_id = id;
  for (const f of ['model', 'manufacturer', 'driver'] as const) {
    const v = b[f];
    if (v === undefined) continue;
    if (v !== null && (typeof v !== 'string' || v.length > 100))
      errors.push(`${f}: must be a string of at most 100 characters or null`);
    // eslint-disable-next-line no-control-regex
    else if (typeof v === 'string' && /[\u0000-\u001f\u007f]/.test(v))
      errors.push(`${f}: must not contain control characters`);
    else value[f] = v as string | null;
  }
  const cap = b.battery_capacity_kwh;
  if (cap !== undefined) {
    if (cap !== null && (typeof cap !== 'number' || !Number.isFinite(cap) || cap <= 0 || cap > 1000)) {
      errors.push('battery_capacity_kwh: must be a number above 0 and at most 1000, or null');
    } else value.battery_capacity_kwh = cap as number | null;
  }
  const p = b.priority;
  if (p !== undefined) {
    if (typeof p !== 'boolean') errors.push('priority: must be true or false');
    else value.priority = p;
  }
  return errors.length ? { ok: false, errors } : { ok: true, value };
}

/** A stored session (PostgreSQL row) as the API shows it. */
export function sessionRowJson(
  r: Pick<
    SessionRow,
    | 'session_id'
    | 'hub_id'
    | 'node_id'
    | 'vehicle_id'
    | 'start_time'
    | 'end_time'
    | 'energy_kwh'
    | 'average_power_kw'
    | 'peak_power_kw'
    | 'start_soc'
    | 'end_soc'
    | 'close_reason'
  >,
) {
  return {
    session_id: r.session_id,
    hub_id: r.hub_id,
    node_id: r.node_id,
    vehicle_id: r.vehicle_id,
    start_time: r.start_time.toISOString(),
    end_time: r.end_time ? r.end_time.toISOString() : null,
    energy_kwh: kwh(r.energy_kwh),
    average_power_kw: num(r.average_power_kw, kw),
    peak_power_kw: num(r.peak_power_kw, kw),
    start_soc: num(r.start_soc, pct),
    end_soc: num(r.end_soc, pct),
    close_reason: r.close_reason,
    active: r.end_time === null,
  };
}

/** A stored DLM event as the API shows it (the DLMNotification fields plus hub, source, ids). */
export function dlmEventRowJson(
  r: Pick<
    DlmEventRow,
    | 'hub_id'
    | 'node_id'
    | 'trigger_reason'
    | 'original_limit'
    | 'new_limit'
    | 'total_grid_load'
    | 'available_capacity'
    | 'allocation_id'
    | 'policy'
    | 'owner_epoch'
    | 'ts'
  > & { source: string },
) {
  return {
    hub_id: r.hub_id,
    node_id: r.node_id,
    trigger_reason: r.trigger_reason,
    original_limit: num(r.original_limit, kw),
    new_limit: kw(r.new_limit),
    total_grid_load: num(r.total_grid_load, kw),
    available_capacity: num(r.available_capacity, kw),
    source: r.source,
    allocation_id: r.allocation_id,
    policy: r.policy,
    owner_epoch: r.owner_epoch,
    timestamp: r.ts.toISOString(),
  };
}

/** A stored audit record as the API shows it: who, when, what, on which ids, before and after. */
export function auditRowJson(r: AuditRow) {
  return {
    id: r.id,
    timestamp: r.ts.toISOString(),
    actor: r.actor,
    op: r.op,
    hub_id: r.hub_id,
    node_id: r.node_id,
    vehicle_id: r.vehicle_id,
    session_id: r.session_id,
    before: toPeopleJson(r.before ?? null),
    after: toPeopleJson(r.after ?? null),
    note: r.note,
  };
}
