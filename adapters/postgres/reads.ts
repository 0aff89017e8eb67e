// Reads: what the twin restores from at start and what the REST API lists.
import type {
  AuditFilters,
  AuditRow,
  DlmEventFilters,
  DlmEventRow,
  HubRow,
  LastLimit,
  LoadedState,
  NodeRow,
  Page,
  SessionFilters,
  SessionRow,
  VehicleRow,
} from './rows';
import { toTimestamp, type Queryable } from './values';
import type { QueryResultRow } from 'pg';

export const MAX_PAGE_SIZE = 1000;

const HUB_SELECT = `SELECT hub_id, latitude, longitude, altitude, max_grid_capacity_kw, ip_address,
  firmware_version, state, cpu_temp, is_active, available, capacity_override_kw, capacity_override_from,
  capacity_override_until, registered, last_seen, created_at, updated_at FROM hubs`;
const NODE_SELECT = `SELECT hub_id, node_id, name, max_power_kw, state, error_code, current_vehicle_id,
  is_maintenance, power_kw, power_limit_kw, last_seen, operator_maintenance, max_power_override_kw, registered,
  assigned_vehicle_id, assigned_at, assigned_ts, assigned_soc, operator_ended_vehicle_id, updated_at FROM nodes`;
const VEHICLE_SELECT = `SELECT vehicle_id, model, manufacturer, driver, battery_capacity_kwh, priority, soc,
  soc_source, soc_class, latitude, longitude, last_seen, registered, created_at, updated_at FROM vehicles`;
const SESSION_SELECT = `SELECT session_id, hub_id, node_id, vehicle_id, start_time, end_time, energy_kwh,
  average_power_kw, peak_power_kw, start_soc, end_soc, close_reason, last_sample_at, updated_at
  FROM charging_sessions`;
const DLM_SELECT = `SELECT id, event_key, hub_id, node_id, trigger_reason, original_limit, new_limit,
  total_grid_load, available_capacity, source, claimed_source, allocation_id, policy, owner_epoch, ts
  FROM dlm_events`;
const AUDIT_SELECT = `SELECT id, event_key, ts, actor, op, hub_id, node_id, vehicle_id, session_id, before, after,
  note FROM audit_log`;

function toDlmRow(r: Record<string, unknown>): DlmEventRow {
  // bigint columns arrive as text (node-postgres): epochs stay below 2^53 (hub_leases counts them).
  return {
    ...(r as unknown as DlmEventRow),
    id: Number(r.id),
    owner_epoch: r.owner_epoch === null || r.owner_epoch === undefined ? null : Number(r.owner_epoch),
  };
}

export async function listHubs(db: Queryable): Promise<HubRow[]> {
  return (await db.query<HubRow>(`${HUB_SELECT} ORDER BY hub_id`)).rows;
}

export async function listNodes(db: Queryable, hubId?: string): Promise<NodeRow[]> {
  if (hubId !== undefined) {
    return (await db.query<NodeRow>(`${NODE_SELECT} WHERE hub_id = $1 ORDER BY node_id`, [hubId])).rows;
  }
  return (await db.query<NodeRow>(`${NODE_SELECT} ORDER BY hub_id, node_id`)).rows;
}

export async function listVehicles(db: Queryable): Promise<VehicleRow[]> {
  return (await db.query<VehicleRow>(`${VEHICLE_SELECT} ORDER BY vehicle_id`)).rows;
}

export async function getVehicle(db: Queryable, vehicleId: string): Promise<VehicleRow | null> {
  const r = await db.query<VehicleRow>(`${VEHICLE_SELECT} WHERE vehicle_id = $1`, [vehicleId]);
  return r.rows[0] ?? null;
}

export async function getSession(db: Queryable, sessionId: string): Promise<SessionRow | null> {
  const r = await db.query<SessionRow>(`${SESSION_SELECT} WHERE session_id = $1`, [sessionId]);
  return r.rows[0] ?? null;
}

/** Everything the twin needs after a restart. */
export async function loadState(db: Queryable): Promise<LoadedState> {
  const [hubs, nodes, vehicles, openSessions, lastLimits] = await Promise.all([
    listHubs(db),
    listNodes(db),
    listVehicles(db),
    db.query<SessionRow>(`${SESSION_SELECT} WHERE end_time IS NULL ORDER BY hub_id, node_id`),
    db.query<LastLimit>(
      `SELECT DISTINCT ON (hub_id, node_id) hub_id, node_id, new_limit, ts FROM dlm_events
       WHERE source = 'orchestrator' ORDER BY hub_id, node_id, ts DESC, id DESC`,
    ),
  ]);
  return { hubs, nodes, vehicles, openSessions: openSessions.rows, lastLimits: lastLimits.rows };
}

/**
 * The newest audit_log id of an action at least `olderThanS` seconds old (0 when none): where
 * a reader of later operator actions starts (the recent ones are read again: applying a
 * setting twice changes nothing).
 */
export async function lastAuditId(db: Queryable, olderThanS = 0): Promise<number> {
  const r = await db.query<{ id: string | null }>(
    'SELECT max(id)::text AS id FROM audit_log WHERE ts <= now() - make_interval(secs => $1)',
    [olderThanS],
  );
  return Number(r.rows[0]?.id ?? 0);
}

/**
 * The entities named by the operator actions audited after `afterId` (at most `limit`
 * actions), read as stored now — what another instance applied to them (cluster mode): their
 * rows and the last audit id read. Entities deleted (named by a delete, no row now) are listed
 * in `deleted`.
 */
export async function controlsAfter(db: Queryable, afterId: number, limit = 1000): Promise<ControlsAfter> {
  const a = await db.query<{
    id: string;
    op: string;
    hub_id: string | null;
    node_id: string | null;
    vehicle_id: string | null;
  }>(
    'SELECT id::text AS id, op, hub_id, node_id, vehicle_id FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2',
    [afterId, limit],
  );
  const deleted: DeletedEntities = { hubs: [], nodes: [], vehicles: [] };
  if (!a.rows.length) return { lastId: afterId, hubs: [], nodes: [], vehicles: [], deleted };
  const hubIds = new Set<string>();
  const nodeHubs: string[] = [];
  const nodeIds: string[] = [];
  const vehicleIds = new Set<string>();
  for (const r of a.rows) {
    if (r.hub_id !== null && r.node_id !== null) {
      nodeHubs.push(r.hub_id);
      nodeIds.push(r.node_id);
    } else if (r.hub_id !== null) hubIds.add(r.hub_id);
    if (r.vehicle_id !== null) vehicleIds.add(r.vehicle_id);
  }
  const [hubs, nodes, vehicles] = await Promise.all([
    hubIds.size
      ? db.query<HubRow>(`${HUB_SELECT} WHERE hub_id = ANY($1::text[]) ORDER BY hub_id`, [[...hubIds]])
      : { rows: [] as HubRow[] },
    nodeIds.length
      ? db.query<NodeRow>(
          `${NODE_SELECT} WHERE (hub_id, node_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY hub_id, node_id`,
          [nodeHubs, nodeIds],
        )
      : { rows: [] as NodeRow[] },
    vehicleIds.size
      ? db.query<VehicleRow>(`${VEHICLE_SELECT} WHERE vehicle_id = ANY($1::text[]) ORDER BY vehicle_id`, [
          [...vehicleIds],
        ])
      : { rows: [] as VehicleRow[] },
  ]);
  // Deleted: named by a delete and without a row now (one created again since is not).
  const hubRows = new Set(hubs.rows.map((h) => h.hub_id));
  const nodeRows = new Set(nodes.rows.map((n) => JSON.stringify([n.hub_id, n.node_id])));
  const vehicleRows = new Set(vehicles.rows.map((v) => v.vehicle_id));
  const seen = new Set<string>();
  for (const r of a.rows) {
    const key = JSON.stringify([r.op, r.hub_id, r.node_id, r.vehicle_id]);
    if (seen.has(key)) continue;
    seen.add(key);
    if (r.op === 'hub-delete' && r.hub_id !== null && !hubRows.has(r.hub_id)) deleted.hubs.push(r.hub_id);
    else if (
      r.op === 'node-delete' &&
      r.hub_id !== null &&
      r.node_id !== null &&
      !nodeRows.has(JSON.stringify([r.hub_id, r.node_id]))
    )
      deleted.nodes.push({ hubId: r.hub_id, nodeId: r.node_id });
    else if (r.op === 'vehicle-delete' && r.vehicle_id !== null && !vehicleRows.has(r.vehicle_id))
      deleted.vehicles.push(r.vehicle_id);
  }
  return {
    lastId: Number(a.rows[a.rows.length - 1]!.id),
    hubs: hubs.rows,
    nodes: nodes.rows,
    vehicles: vehicles.rows,
    deleted,
  };
}

/** Entities deleted by operators (cluster mode: each instance removes them from its twin). */
export interface DeletedEntities {
  hubs: string[];
  nodes: Array<{ hubId: string; nodeId: string }>;
  vehicles: string[];
}

/** What operators changed after an audit record: the rows of what they changed, and what they deleted. */
export interface ControlsAfter {
  lastId: number;
  hubs: HubRow[];
  nodes: NodeRow[];
  vehicles: VehicleRow[];
  deleted: DeletedEntities;
}

/** A node's telemetry as stored (cluster mode: what the hub's owner heard last). */
export interface NodeTelemetryRow {
  hub_id: string;
  node_id: string;
  power_kw: number | null;
  power_limit_kw: number | null;
  current_vehicle_id: string | null;
  last_seen: Date | null;
}

/** The newest updated_at of rows read after `since`: the next `since`. */
function cursorOf(since: Date | null, rows: ReadonlyArray<{ updated_at: Date }>): Date | null {
  let until = since;
  for (const x of rows) if (until === null || x.updated_at > until) until = x.updated_at;
  return until;
}

/**
 * Node telemetry as stored of the nodes whose rows changed after `since` (all when null), but
 * not of `exceptHubs`; and the next `since` (cluster mode: the live values of hubs another
 * instance owns).
 */
export async function nodeTelemetryAfter(
  db: Queryable,
  since: Date | null,
  exceptHubs: readonly string[],
): Promise<{ until: Date | null; rows: NodeTelemetryRow[] }> {
  const r = await db.query<NodeTelemetryRow & { updated_at: Date }>(
    `SELECT hub_id, node_id, power_kw, power_limit_kw, current_vehicle_id, last_seen, updated_at FROM nodes
      WHERE ($1::timestamptz IS NULL OR updated_at > $1) AND hub_id <> ALL($2::text[]) AND last_seen IS NOT NULL`,
    [since, [...exceptHubs]],
  );
  return { until: cursorOf(since, r.rows), rows: r.rows };
}

/**
 * Vehicle rows changed after `since` (all when null) that have telemetry (last_seen), and the
 * newest updated_at read, the next `since` (cluster mode: vehicles other instances heard).
 */
export async function vehiclesAfter(
  db: Queryable,
  since: Date | null,
): Promise<{ until: Date | null; rows: VehicleRow[] }> {
  const r = await db.query<VehicleRow>(
    `${VEHICLE_SELECT} WHERE ($1::timestamptz IS NULL OR updated_at > $1) AND last_seen IS NOT NULL`,
    [since],
  );
  return { until: cursorOf(since, r.rows), rows: r.rows };
}

/**
 * The open sessions of these hubs and the rows of their nodes (for the last sample's power):
 * what the twin continues when this instance takes the hubs over (cluster mode).
 */
export async function loadOpenSessionsOfHubs(
  db: Queryable,
  hubIds: readonly string[],
): Promise<Pick<LoadedState, 'openSessions' | 'nodes'>> {
  if (!hubIds.length) return { openSessions: [], nodes: [] };
  const ids = [...hubIds];
  const [sessions, nodes] = await Promise.all([
    db.query<SessionRow>(
      `${SESSION_SELECT} WHERE end_time IS NULL AND hub_id = ANY($1::text[]) ORDER BY hub_id, node_id`,
      [ids],
    ),
    db.query<NodeRow>(`${NODE_SELECT} WHERE hub_id = ANY($1::text[]) ORDER BY hub_id, node_id`, [ids]),
  ]);
  return { openSessions: sessions.rows, nodes: nodes.rows };
}

function pageBounds(limit: number, offset: number): [number, number] {
  const l = Number.isFinite(limit) ? Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(limit))) : 100;
  const o = Number.isFinite(offset) ? Math.max(0, Math.floor(offset)) : 0;
  return [l, o];
}

/** WHERE clauses with numbered parameters, built one filter at a time. */
class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];
  /** Adds `sql` with its one `?` bound to `v`. */
  add(sql: string, v: unknown): void {
    this.params.push(v);
    this.clauses.push(sql.replace('?', `$${this.params.length}`));
  }
  sql(): string {
    return this.clauses.length ? ` WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

/** A page of `select` under `w` in `order`, and the total count of `table` under `w`. */
async function pageOf<R extends QueryResultRow>(
  db: Queryable,
  select: string,
  table: string,
  w: Where,
  order: string,
  f: { limit: number; offset: number },
): Promise<Page<R>> {
  const [limit, offset] = pageBounds(f.limit, f.offset);
  const n = w.params.length;
  const [items, count] = await Promise.all([
    db.query<R>(`${select}${w.sql()} ORDER BY ${order} LIMIT $${n + 1} OFFSET $${n + 2}`, [
      ...w.params,
      limit,
      offset,
    ]),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}${w.sql()}`, w.params),
  ]);
  return { items: items.rows, total: count.rows[0]?.n ?? 0 };
}

/** Newest first (start_time DESC, session_id). */
export async function listSessions(db: Queryable, f: SessionFilters): Promise<Page<SessionRow>> {
  const w = new Where();
  if (f.hubId !== undefined) w.add('hub_id = ?', f.hubId);
  if (f.nodeId !== undefined) w.add('node_id = ?', f.nodeId);
  if (f.vehicleId !== undefined) w.add('vehicle_id = ?', f.vehicleId);
  if (f.active === true) w.clauses.push('end_time IS NULL');
  if (f.active === false) w.clauses.push('end_time IS NOT NULL');
  if (f.from !== undefined)
    w.add('(end_time IS NULL OR end_time >= ?::timestamptz)', toTimestamp(f.from, 'from'));
  if (f.to !== undefined) w.add('start_time < ?::timestamptz', toTimestamp(f.to, 'to'));
  return pageOf<SessionRow>(db, SESSION_SELECT, 'charging_sessions', w, 'start_time DESC, session_id', f);
}

/** Newest first (ts DESC, id DESC). */
export async function listDlmEvents(db: Queryable, f: DlmEventFilters): Promise<Page<DlmEventRow>> {
  const w = new Where();
  if (f.hubId !== undefined) w.add('hub_id = ?', f.hubId);
  if (f.nodeId !== undefined) w.add('node_id = ?', f.nodeId);
  if (f.source !== undefined) w.add('source = ?', f.source);
  if (f.since !== undefined) w.add('ts >= ?::timestamptz', toTimestamp(f.since, 'since'));
  if (f.until !== undefined) w.add('ts < ?::timestamptz', toTimestamp(f.until, 'until'));
  const page = await pageOf<QueryResultRow>(db, DLM_SELECT, 'dlm_events', w, 'ts DESC, id DESC', f);
  return { items: page.items.map(toDlmRow), total: page.total };
}

/** Newest first (ts DESC, id DESC). */
export async function listAuditLog(db: Queryable, f: AuditFilters): Promise<Page<AuditRow>> {
  const w = new Where();
  if (f.hubId !== undefined) w.add('hub_id = ?', f.hubId);
  if (f.nodeId !== undefined) w.add('node_id = ?', f.nodeId);
  if (f.vehicleId !== undefined) w.add('vehicle_id = ?', f.vehicleId);
  if (f.actor !== undefined) w.add('actor = ?', f.actor);
  if (f.since !== undefined) w.add('ts >= ?::timestamptz', toTimestamp(f.since, 'since'));
  if (f.until !== undefined) w.add('ts < ?::timestamptz', toTimestamp(f.until, 'until'));
  const page = await pageOf<AuditRow>(db, AUDIT_SELECT, 'audit_log', w, 'ts DESC, id DESC', f);
  return { items: page.items.map((x) => ({ ...x, id: Number(x.id) })), total: page.total };
}
