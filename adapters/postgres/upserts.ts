// Partial-row upserts (hubs, nodes, vehicles): one statement per batch, arrays unnested
// server-side; per row a bit mask tells which columns were given. Identifiers come only from
// the specs below; every value is a parameter.
import {
  InvalidRowError,
  type HubControlUpsert,
  type HubUpsert,
  type NodeControlUpsert,
  type NodeUpsert,
  type VehicleProfile,
  type VehicleRow,
  type VehicleTelemetryUpsert,
} from './rows';
import { convert, dedupeBy, hubKey, nodeKey, vehicleKey, type PgType, type Queryable } from './values';
import { getVehicle } from './reads';

// given; an absent column keeps the stored value (or gets the column default on insert).

export interface Col {
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

const PARENT_HUBS = `parents AS (INSERT INTO hubs (hub_id) SELECT DISTINCT hub_id FROM s ON CONFLICT (hub_id) DO NOTHING)`;

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
    { name: 'available', type: 'bool' },
    { name: 'last_seen', type: 'timestamptz' },
  ],
  lastSeenGuard: true,
};

/** The operator's settings of a hub (no last_seen guard: never skipped as stale). */
const HUB_CONTROL: UpsertSpec = {
  table: 'hubs',
  keys: [{ name: 'hub_id', type: 'text' }],
  cols: [
    { name: 'is_active', type: 'bool', insertDefault: 'true' },
    { name: 'capacity_override_kw', type: 'float8' },
    { name: 'capacity_override_from', type: 'timestamptz' },
    { name: 'capacity_override_until', type: 'timestamptz' },
    { name: 'registered', type: 'bool', insertDefault: 'false' },
  ],
  lastSeenGuard: false,
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
  preludeCtes: [PARENT_HUBS],
  lastSeenGuard: true,
};

/** The operator's settings and the pending request assignment of a node (no last_seen guard). */
const NODE_CONTROL: UpsertSpec = {
  table: 'nodes',
  keys: [
    { name: 'hub_id', type: 'text' },
    { name: 'node_id', type: 'text' },
  ],
  cols: [
    { name: 'operator_maintenance', type: 'bool', insertDefault: 'false' },
    { name: 'max_power_override_kw', type: 'float8' },
    { name: 'registered', type: 'bool', insertDefault: 'false' },
    { name: 'assigned_vehicle_id', type: 'text' },
    { name: 'assigned_at', type: 'timestamptz' },
    { name: 'assigned_ts', type: 'timestamptz' },
    { name: 'assigned_soc', type: 'float8' },
    { name: 'operator_ended_vehicle_id', type: 'text' },
  ],
  preludeCtes: [PARENT_HUBS],
  lastSeenGuard: false,
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
    { name: 'registered', type: 'bool', insertDefault: 'false' },
  ],
  lastSeenGuard: false,
};

const SQL_UPSERT_HUBS = buildUpsertSql(HUBS);
const SQL_UPSERT_HUB_CONTROL = buildUpsertSql(HUB_CONTROL);
const SQL_UPSERT_NODES = buildUpsertSql(NODES);
const SQL_UPSERT_NODE_CONTROL = buildUpsertSql(NODE_CONTROL);
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

/** The operator's settings of hubs (creates unknown hubs). */
export function upsertHubControls(db: Queryable, rows: readonly HubControlUpsert[]): Promise<number> {
  return runUpsert(db, HUB_CONTROL, SQL_UPSERT_HUB_CONTROL, rows, hubKey);
}

/** The operator's settings and request assignments of nodes (creates unknown nodes and hubs). */
export function upsertNodeControls(db: Queryable, rows: readonly NodeControlUpsert[]): Promise<number> {
  return runUpsert(db, NODE_CONTROL, SQL_UPSERT_NODE_CONTROL, rows, nodeKey);
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
