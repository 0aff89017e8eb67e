// PostgreSQL repository: batched, idempotent writes and the reads needed at restart and by
// the REST API. Every value is a query parameter; identifiers come only from the constants
// below. A batch is one statement per table (arrays unnested server-side), deduplicated by
// key first (PostgreSQL rejects an ON CONFLICT DO UPDATE that touches one row twice).
import type pg from 'pg';
import {
  InvalidRowError,
  type DlmEventFilters,
  type DlmEventInsert,
  type DlmEventRow,
  type HubRow,
  type HubUpsert,
  type LastLimit,
  type LoadedState,
  type NodeRow,
  type NodeUpsert,
  type Page,
  type SessionFilters,
  type SessionRow,
  type SessionUpsert,
  type TimeInput,
  type VehicleProfile,
  type VehicleRow,
  type VehicleTelemetryUpsert,
} from './rows';

/** Anything that runs a query: a pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

export const MAX_PAGE_SIZE = 1000;

// ---------------------------------------------------------------------------------------
// Value conversion

type PgType = 'text' | 'float8' | 'int4' | 'bool' | 'timestamptz';

/** ISO string for PostgreSQL, or null. Throws InvalidRowError for an unusable time. */
export function toTimestamp(v: TimeInput | null | undefined, field = 'time'): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    if (Number.isNaN(Date.parse(v))) throw new InvalidRowError(`${field}: not a time: ${JSON.stringify(v)}`);
    return v;
  }
  const d = typeof v === 'number' ? new Date(v) : v;
  if (Number.isNaN(d.getTime())) throw new InvalidRowError(`${field}: not a time`);
  return d.toISOString();
}

/** Epoch milliseconds of a time (NaN when unparsable). */
export function timeMs(v: TimeInput): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Date.parse(v);
  return v.getTime();
}

function convert(type: PgType, v: unknown, field: string): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'timestamptz':
      return toTimestamp(v as TimeInput, field);
    case 'text':
      if (typeof v !== 'string') throw new InvalidRowError(`${field}: expected a string`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new InvalidRowError(`${field}: expected a boolean`);
      return v;
    case 'float8':
    case 'int4':
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new InvalidRowError(`${field}: expected a finite number`);
      if (type === 'int4' && !Number.isInteger(v)) throw new InvalidRowError(`${field}: expected an integer`);
      return v;
  }
}

/** Merges partial rows: fields defined in `next` override those of `prev`. */
export function mergeDefined<T extends object>(prev: T, next: T): T {
  const out: Record<string, unknown> = { ...(prev as Record<string, unknown>) };
  for (const [k, v] of Object.entries(next)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** Last write wins per key; partial rows of one key are merged in order. Keeps first-seen order. */
export function dedupeBy<T extends object>(
  rows: readonly T[],
  key: (r: T) => string,
  merge = mergeDefined<T>,
): T[] {
  const m = new Map<string, T>();
  for (const r of rows) {
    const k = key(r);
    const prev = m.get(k);
    m.set(k, prev ? merge(prev, r) : r);
  }
  return [...m.values()];
}

export const hubKey = (r: { hub_id: string }): string => r.hub_id;
export const nodeKey = (r: { hub_id: string; node_id: string }): string => `${r.hub_id}\u0000${r.node_id}`;
export const vehicleKey = (r: { vehicle_id: string }): string => r.vehicle_id;
export const sessionKey = (r: { session_id: string }): string => r.session_id;
export const dlmEventKey = (r: { event_key: string }): string => r.event_key;

/**
 * What the database keeps when `next` arrives for a session already at `prev` (the same rules
 * as the SQL): a closed session is not reopened, an older sample is ignored, energy and peak
 * never go backwards, identity and start fields keep their first value.
 */
export function mergeSession(prev: SessionUpsert, next: SessionUpsert): SessionUpsert {
  const prevClosed = prev.end_time !== undefined && prev.end_time !== null;
  const nextClosed = next.end_time !== undefined && next.end_time !== null;
  if (prevClosed && !nextClosed) return prev;
  if (prev.last_sample_at != null && next.last_sample_at != null) {
    if (timeMs(next.last_sample_at) < timeMs(prev.last_sample_at)) return prev;
  }
  const merged = mergeDefined(prev, next);
  merged.hub_id = prev.hub_id;
  merged.node_id = prev.node_id;
  merged.start_time = prev.start_time;
  if (prev.start_soc != null) merged.start_soc = prev.start_soc;
  const maxOf = (a: number | null | undefined, b: number | null | undefined): number | null | undefined =>
    a == null ? b : b == null ? a : Math.max(a, b);
  merged.energy_kwh = maxOf(prev.energy_kwh, next.energy_kwh) ?? undefined;
  merged.peak_power_kw = maxOf(prev.peak_power_kw, next.peak_power_kw);
  return merged;
}

// ---------------------------------------------------------------------------------------
// Partial-row upserts (hubs, nodes, vehicles): per row a bit mask tells which columns were
// given; an absent column keeps the stored value (or gets the column default on insert).

interface Col {
  name: string;
  type: PgType;
  /** SQL constant used on insert when the column is not given. */
  insertDefault?: string;
}

interface UpsertSpec {
  table: string;
  keys: Col[];
  cols: Col[];
  /** Statements run first in the same statement (CTEs over `s`), e.g. creating parents. */
  preludeCtes?: string[];
  /** Skip updates older than the stored last_seen; last_seen never moves backwards. */
  lastSeenGuard: boolean;
}

function buildUpsertSql(spec: UpsertSpec): string {
  const all = [...spec.keys, ...spec.cols];
  const unnestArgs = all.map((c, i) => `$${i + 1}::${c.type}[]`);
  unnestArgs.push(`$${all.length + 1}::int4[]`);
  const alias = [...all.map((c) => c.name), '_mask', '_ord'].join(', ');
  const join = spec.keys.map((k) => `e.${k.name} = s.${k.name}`).join(' AND ');
  const firstKey = spec.keys[0]?.name ?? '';
  const selects = [
    ...spec.keys.map((k) => `s.${k.name}`),
    ...spec.cols.map(
      (c, i) =>
        `CASE WHEN (s._mask & ${1 << i}) <> 0 THEN s.${c.name} WHEN e.${firstKey} IS NOT NULL THEN e.${c.name} ELSE ${c.insertDefault ?? 'NULL'} END`,
    ),
  ];
  const sets = spec.cols.map((c) =>
    c.name === 'last_seen' && spec.lastSeenGuard
      ? `last_seen = GREATEST(t.last_seen, EXCLUDED.last_seen)`
      : `${c.name} = EXCLUDED.${c.name}`,
  );
  sets.push('updated_at = now()');
  const ctes = [`s AS (SELECT * FROM unnest(${unnestArgs.join(', ')}) WITH ORDINALITY AS s(${alias}))`];
  for (const p of spec.preludeCtes ?? []) ctes.push(p);
  return (
    `WITH ${ctes.join(',\n')}\n` +
    `INSERT INTO ${spec.table} AS t (${all.map((c) => c.name).join(', ')})\n` +
    `SELECT ${selects.join(',\n  ')}\n` +
    `FROM s LEFT JOIN ${spec.table} e ON ${join}\n` +
    `ORDER BY s._ord\n` +
    `ON CONFLICT (${spec.keys.map((k) => k.name).join(', ')}) DO UPDATE SET ${sets.join(', ')}` +
    (spec.lastSeenGuard
      ? `\nWHERE t.last_seen IS NULL OR EXCLUDED.last_seen IS NULL OR EXCLUDED.last_seen >= t.last_seen`
      : '')
  );
}

function upsertParams(spec: UpsertSpec, rows: readonly object[]): unknown[][] {
  const all = [...spec.keys, ...spec.cols];
  const arrays: unknown[][] = all.map(() => []);
  const masks: number[] = [];
  for (const row of rows) {
    const r = row as Record<string, unknown>;
    let mask = 0;
    all.forEach((c, i) => {
      const v = r[c.name];
      const isKey = i < spec.keys.length;
      if (isKey && (typeof v !== 'string' || v.length === 0)) {
        throw new InvalidRowError(`${spec.table}.${c.name}: a non-empty string is required`);
      }
      if (!isKey && v !== undefined) mask |= 1 << (i - spec.keys.length);
      arrays[i]?.push(convert(c.type, v, `${spec.table}.${c.name}`));
    });
    masks.push(mask);
  }
  return [...arrays, masks];
}

const HUBS: UpsertSpec = {
  table: 'hubs',
  keys: [{ name: 'hub_id', type: 'text' }],
  cols: [
    { name: 'latitude', type: 'float8' },
    { name: 'longitude', type: 'float8' },
    { name: 'altitude', type: 'float8' },
    { name: 'max_grid_capacity_kw', type: 'float8' },
    { name: 'ip_address', type: 'text' },
    { name: 'firmware_version', type: 'text' },
    { name: 'state', type: 'text' },
    { name: 'cpu_temp', type: 'float8' },
    { name: 'is_active', type: 'bool', insertDefault: 'true' },
    { name: 'last_seen', type: 'timestamptz' },
  ],
  lastSeenGuard: true,
};

const NODES: UpsertSpec = {
  table: 'nodes',
  keys: [
    { name: 'hub_id', type: 'text' },
    { name: 'node_id', type: 'text' },
  ],
  cols: [
    { name: 'name', type: 'text' },
    { name: 'max_power_kw', type: 'float8' },
    { name: 'state', type: 'text' },
    { name: 'error_code', type: 'int4', insertDefault: '0' },
    { name: 'current_vehicle_id', type: 'text' },
    { name: 'is_maintenance', type: 'bool', insertDefault: 'false' },
    { name: 'power_kw', type: 'float8' },
    { name: 'power_limit_kw', type: 'float8' },
    { name: 'last_seen', type: 'timestamptz' },
  ],
  // Node info may arrive before its hub's: create the hub row so the foreign key holds.
  preludeCtes: [
    `parents AS (INSERT INTO hubs (hub_id) SELECT DISTINCT hub_id FROM s ON CONFLICT (hub_id) DO NOTHING)`,
  ],
  lastSeenGuard: true,
};

const VEHICLE_TELEMETRY: UpsertSpec = {
  table: 'vehicles',
  keys: [{ name: 'vehicle_id', type: 'text' }],
  cols: [
    { name: 'soc', type: 'float8' },
    { name: 'soc_source', type: 'text' },
    { name: 'soc_class', type: 'text' },
    { name: 'latitude', type: 'float8' },
    { name: 'longitude', type: 'float8' },
    { name: 'last_seen', type: 'timestamptz' },
  ],
  lastSeenGuard: true,
};

const VEHICLE_PROFILE: UpsertSpec = {
  table: 'vehicles',
  keys: [{ name: 'vehicle_id', type: 'text' }],
  cols: [
    { name: 'model', type: 'text' },
    { name: 'manufacturer', type: 'text' },
    { name: 'driver', type: 'text' },
    { name: 'battery_capacity_kwh', type: 'float8' },
    { name: 'priority', type: 'bool', insertDefault: 'false' },
  ],
  lastSeenGuard: false,
};

const SQL_UPSERT_HUBS = buildUpsertSql(HUBS);
const SQL_UPSERT_NODES = buildUpsertSql(NODES);
const SQL_UPSERT_VEHICLES = buildUpsertSql(VEHICLE_TELEMETRY);
const SQL_UPSERT_PROFILES = buildUpsertSql(VEHICLE_PROFILE);

/** One batched upsert: rows deduplicated by key (latest fields win), one statement. */
async function runUpsert<R extends object>(
  db: Queryable,
  spec: UpsertSpec,
  sql: string,
  rows: readonly R[],
  key: (r: R) => string,
): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await db.query(sql, upsertParams(spec, dedupeBy(rows, key)));
  return r.rowCount ?? 0;
}

/** Rows written (inserted or updated; stale rows that were ignored are not counted). */
export function upsertHubs(db: Queryable, rows: readonly HubUpsert[]): Promise<number> {
  return runUpsert(db, HUBS, SQL_UPSERT_HUBS, rows, hubKey);
}

export function upsertNodes(db: Queryable, rows: readonly NodeUpsert[]): Promise<number> {
  return runUpsert(db, NODES, SQL_UPSERT_NODES, rows, nodeKey);
}

/** Telemetry fields only (auto-registers unknown vehicles); the profile is never touched. */
export function upsertVehicles(db: Queryable, rows: readonly VehicleTelemetryUpsert[]): Promise<number> {
  return runUpsert(db, VEHICLE_TELEMETRY, SQL_UPSERT_VEHICLES, rows, vehicleKey);
}

export function upsertVehicleProfiles(db: Queryable, rows: readonly VehicleProfile[]): Promise<number> {
  return runUpsert(db, VEHICLE_PROFILE, SQL_UPSERT_PROFILES, rows, vehicleKey);
}

/** Registers or edits one vehicle's profile and returns the stored vehicle. */
export async function upsertVehicleProfile(db: Queryable, profile: VehicleProfile): Promise<VehicleRow> {
  await upsertVehicleProfiles(db, [profile]);
  const v = await getVehicle(db, profile.vehicle_id);
  if (!v) throw new Error(`vehicle ${profile.vehicle_id} vanished after upsert`);
  return v;
}

// ---------------------------------------------------------------------------------------
// Sessions

const SESSION_COLS: Col[] = [
  { name: 'session_id', type: 'text' },
  { name: 'hub_id', type: 'text' },
  { name: 'node_id', type: 'text' },
  { name: 'vehicle_id', type: 'text' },
  { name: 'start_time', type: 'timestamptz' },
  { name: 'end_time', type: 'timestamptz' },
  { name: 'energy_kwh', type: 'float8' },
  { name: 'average_power_kw', type: 'float8' },
  { name: 'peak_power_kw', type: 'float8' },
  { name: 'start_soc', type: 'float8' },
  { name: 'end_soc', type: 'float8' },
  { name: 'close_reason', type: 'text' },
  { name: 'last_sample_at', type: 'timestamptz' },
];

const SQL_UPSERT_SESSIONS = `
INSERT INTO charging_sessions AS t (${SESSION_COLS.map((c) => c.name).join(', ')})
SELECT session_id, hub_id, node_id, vehicle_id, start_time, end_time, COALESCE(energy_kwh, 0),
       average_power_kw, peak_power_kw, start_soc, end_soc, close_reason, last_sample_at
FROM unnest(${SESSION_COLS.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')}) WITH ORDINALITY
  AS s(${SESSION_COLS.map((c) => c.name).join(', ')}, _ord)
-- closes first, so a node's next session can open in the same batch
ORDER BY (s.end_time IS NULL), s._ord
ON CONFLICT (session_id) DO UPDATE SET
  vehicle_id       = COALESCE(EXCLUDED.vehicle_id, t.vehicle_id),
  end_time         = COALESCE(EXCLUDED.end_time, t.end_time),
  energy_kwh       = GREATEST(t.energy_kwh, EXCLUDED.energy_kwh),
  average_power_kw = COALESCE(EXCLUDED.average_power_kw, t.average_power_kw),
  peak_power_kw    = GREATEST(t.peak_power_kw, EXCLUDED.peak_power_kw),
  start_soc        = COALESCE(t.start_soc, EXCLUDED.start_soc),
  end_soc          = COALESCE(EXCLUDED.end_soc, t.end_soc),
  close_reason     = COALESCE(EXCLUDED.close_reason, t.close_reason),
  last_sample_at   = GREATEST(t.last_sample_at, EXCLUDED.last_sample_at),
  updated_at       = now()
WHERE NOT (t.end_time IS NOT NULL AND EXCLUDED.end_time IS NULL)
  AND (t.last_sample_at IS NULL OR EXCLUDED.last_sample_at IS NULL OR EXCLUDED.last_sample_at >= t.last_sample_at)`;

/**
 * Insert or update by session_id (see SessionUpsert for the rules). Fails with a unique
 * violation (23505) when a row would open a second session on a node that has one open.
 */
export async function upsertSessions(db: Queryable, rows: readonly SessionUpsert[]): Promise<number> {
  if (rows.length === 0) return 0;
  const list = dedupeBy(rows, sessionKey, mergeSession);
  const arrays: unknown[][] = SESSION_COLS.map(() => []);
  for (const row of list) {
    const r = row as unknown as Record<string, unknown>;
    for (const k of ['session_id', 'hub_id', 'node_id'] as const) {
      if (typeof row[k] !== 'string' || row[k].length === 0) {
        throw new InvalidRowError(`charging_sessions.${k}: a non-empty string is required`);
      }
    }
    if (row.start_time === undefined || row.start_time === null) {
      throw new InvalidRowError('charging_sessions.start_time is required');
    }
    SESSION_COLS.forEach((c, i) =>
      arrays[i]?.push(convert(c.type, r[c.name], `charging_sessions.${c.name}`)),
    );
  }
  const r = await db.query(SQL_UPSERT_SESSIONS, arrays);
  return r.rowCount ?? 0;
}

// ---------------------------------------------------------------------------------------
// DLM events

const DLM_COLS: Col[] = [
  { name: 'event_key', type: 'text' },
  { name: 'hub_id', type: 'text' },
  { name: 'node_id', type: 'text' },
  { name: 'trigger_reason', type: 'text' },
  { name: 'original_limit', type: 'float8' },
  { name: 'new_limit', type: 'float8' },
  { name: 'total_grid_load', type: 'float8' },
  { name: 'available_capacity', type: 'float8' },
  { name: 'source', type: 'text' },
  { name: 'allocation_id', type: 'text' },
  { name: 'policy', type: 'text' },
  { name: 'ts', type: 'timestamptz' },
];

const SQL_INSERT_DLM = `
INSERT INTO dlm_events (${DLM_COLS.map((c) => c.name).join(', ')})
SELECT event_key, hub_id, node_id, trigger_reason, original_limit, new_limit, total_grid_load,
       available_capacity, COALESCE(source, 'orchestrator'), allocation_id, policy, ts
FROM unnest(${DLM_COLS.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')}) WITH ORDINALITY
  AS s(${DLM_COLS.map((c) => c.name).join(', ')}, _ord)
ORDER BY s._ord
ON CONFLICT (event_key) DO NOTHING`;

/** Inserts events; ones whose event_key exists are ignored. Returns how many were new. */
export async function insertDlmEvents(db: Queryable, rows: readonly DlmEventInsert[]): Promise<number> {
  if (rows.length === 0) return 0;
  const list = dedupeBy(rows, dlmEventKey, (first) => first); // insert-only: first wins
  const arrays: unknown[][] = DLM_COLS.map(() => []);
  for (const row of list) {
    const r = row as unknown as Record<string, unknown>;
    for (const k of ['event_key', 'hub_id', 'node_id', 'trigger_reason'] as const) {
      if (typeof row[k] !== 'string' || row[k].length === 0) {
        throw new InvalidRowError(`dlm_events.${k}: a non-empty string is required`);
      }
    }
    if (typeof row.new_limit !== 'number') throw new InvalidRowError('dlm_events.new_limit is required');
    if (row.ts === undefined || row.ts === null) throw new InvalidRowError('dlm_events.ts is required');
    DLM_COLS.forEach((c, i) => arrays[i]?.push(convert(c.type, r[c.name], `dlm_events.${c.name}`)));
  }
  const r = await db.query(SQL_INSERT_DLM, arrays);
  return r.rowCount ?? 0;
}

// ---------------------------------------------------------------------------------------
// Reads

const HUB_SELECT = `SELECT hub_id, latitude, longitude, altitude, max_grid_capacity_kw, ip_address,
  firmware_version, state, cpu_temp, is_active, last_seen, created_at, updated_at FROM hubs`;
const NODE_SELECT = `SELECT hub_id, node_id, name, max_power_kw, state, error_code, current_vehicle_id,
  is_maintenance, power_kw, power_limit_kw, last_seen, updated_at FROM nodes`;
const VEHICLE_SELECT = `SELECT vehicle_id, model, manufacturer, driver, battery_capacity_kwh, priority, soc,
  soc_source, soc_class, latitude, longitude, last_seen, created_at, updated_at FROM vehicles`;
const SESSION_SELECT = `SELECT session_id, hub_id, node_id, vehicle_id, start_time, end_time, energy_kwh,
  average_power_kw, peak_power_kw, start_soc, end_soc, close_reason, last_sample_at, updated_at
  FROM charging_sessions`;
const DLM_SELECT = `SELECT id, event_key, hub_id, node_id, trigger_reason, original_limit, new_limit,
  total_grid_load, available_capacity, source, allocation_id, policy, ts FROM dlm_events`;

function toDlmRow(r: Record<string, unknown>): DlmEventRow {
  return { ...(r as unknown as DlmEventRow), id: Number(r.id) };
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

function pageBounds(limit: number, offset: number): [number, number] {
  const l = Number.isFinite(limit) ? Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(limit))) : 100;
  const o = Number.isFinite(offset) ? Math.max(0, Math.floor(offset)) : 0;
  return [l, o];
}

/** Newest first (start_time DESC, session_id). */
export async function listSessions(db: Queryable, f: SessionFilters): Promise<Page<SessionRow>> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown): void => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (f.hubId !== undefined) add('hub_id = ?', f.hubId);
  if (f.nodeId !== undefined) add('node_id = ?', f.nodeId);
  if (f.vehicleId !== undefined) add('vehicle_id = ?', f.vehicleId);
  if (f.active === true) where.push('end_time IS NULL');
  if (f.active === false) where.push('end_time IS NOT NULL');
  if (f.from !== undefined)
    add('(end_time IS NULL OR end_time >= ?::timestamptz)', toTimestamp(f.from, 'from'));
  if (f.to !== undefined) add('start_time < ?::timestamptz', toTimestamp(f.to, 'to'));
  const w = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  const [limit, offset] = pageBounds(f.limit, f.offset);
  const [items, count] = await Promise.all([
    db.query<SessionRow>(
      `${SESSION_SELECT}${w} ORDER BY start_time DESC, session_id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, limit, offset],
    ),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM charging_sessions${w}`, params),
  ]);
  return { items: items.rows, total: count.rows[0]?.n ?? 0 };
}

/** Newest first (ts DESC, id DESC). */
export async function listDlmEvents(db: Queryable, f: DlmEventFilters): Promise<Page<DlmEventRow>> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown): void => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (f.hubId !== undefined) add('hub_id = ?', f.hubId);
  if (f.nodeId !== undefined) add('node_id = ?', f.nodeId);
  if (f.source !== undefined) add('source = ?', f.source);
  if (f.since !== undefined) add('ts >= ?::timestamptz', toTimestamp(f.since, 'since'));
  if (f.until !== undefined) add('ts < ?::timestamptz', toTimestamp(f.until, 'until'));
  const w = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  const [limit, offset] = pageBounds(f.limit, f.offset);
  const [items, count] = await Promise.all([
    db.query(
      `${DLM_SELECT}${w} ORDER BY ts DESC, id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, limit, offset],
    ),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM dlm_events${w}`, params),
  ]);
  return { items: items.rows.map(toDlmRow), total: count.rows[0]?.n ?? 0 };
}

// ---------------------------------------------------------------------------------------
// Bound repository (what the write queue and the nodes use)

export interface RepositoryWriter {
  upsertHubs(rows: readonly HubUpsert[]): Promise<number>;
  upsertNodes(rows: readonly NodeUpsert[]): Promise<number>;
  upsertVehicles(rows: readonly VehicleTelemetryUpsert[]): Promise<number>;
  upsertVehicleProfiles(rows: readonly VehicleProfile[]): Promise<number>;
  upsertSessions(rows: readonly SessionUpsert[]): Promise<number>;
  insertDlmEvents(rows: readonly DlmEventInsert[]): Promise<number>;
}

export interface Repository extends RepositoryWriter {
  upsertVehicleProfile(profile: VehicleProfile): Promise<VehicleRow>;
  loadState(): Promise<LoadedState>;
  listHubs(): Promise<HubRow[]>;
  listNodes(hubId?: string): Promise<NodeRow[]>;
  listVehicles(): Promise<VehicleRow[]>;
  getVehicle(vehicleId: string): Promise<VehicleRow | null>;
  getSession(sessionId: string): Promise<SessionRow | null>;
  listSessions(filters: SessionFilters): Promise<Page<SessionRow>>;
  listDlmEvents(filters: DlmEventFilters): Promise<Page<DlmEventRow>>;
}

export function createRepository(db: Queryable): Repository {
  return {
    upsertHubs: (rows) => upsertHubs(db, rows),
    upsertNodes: (rows) => upsertNodes(db, rows),
    upsertVehicles: (rows) => upsertVehicles(db, rows),
    upsertVehicleProfiles: (rows) => upsertVehicleProfiles(db, rows),
    upsertVehicleProfile: (p) => upsertVehicleProfile(db, p),
    upsertSessions: (rows) => upsertSessions(db, rows),
    insertDlmEvents: (rows) => insertDlmEvents(db, rows),
    loadState: () => loadState(db),
    listHubs: () => listHubs(db),
    listNodes: (hubId) => listNodes(db, hubId),
    listVehicles: () => listVehicles(db),
    getVehicle: (id) => getVehicle(db, id),
    getSession: (id) => getSession(db, id),
    listSessions: (f) => listSessions(db, f),
    listDlmEvents: (f) => listDlmEvents(db, f),
  };
}
