// History rows: charging sessions, DLM events and the audit log (batched, idempotent), and
// the deletes of entities an operator removed.
import {
  InvalidRowError,
  type AuditInsert,
  type DlmEventInsert,
  type EntityDelete,
  type SessionUpsert,
} from './rows';
import {
  auditKey,
  convert,
  dedupeBy,
  dlmEventKey,
  mergeDlmEvent,
  mergeSession,
  ownerEpochOf,
  sessionKey,
  type Queryable,
} from './values';
import type { Col } from './upserts';

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
  { name: 'claimed_source', type: 'text' },
  { name: 'allocation_id', type: 'text' },
  { name: 'policy', type: 'text' },
  { name: 'owner_epoch', type: 'int8' },
  { name: 'ts', type: 'timestamptz' },
];

// An orchestrator row replaces a hub row of the same key (the broker's echo of our own event
// stored first); a hub row never replaces anything.
const SQL_INSERT_DLM = `
INSERT INTO dlm_events AS t (${DLM_COLS.map((c) => c.name).join(', ')})
SELECT event_key, hub_id, node_id, trigger_reason, original_limit, new_limit, total_grid_load,
       available_capacity, COALESCE(source, 'orchestrator'), claimed_source, allocation_id, policy,
       owner_epoch, ts
FROM unnest(${DLM_COLS.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')}) WITH ORDINALITY
  AS s(${DLM_COLS.map((c) => c.name).join(', ')}, _ord)
ORDER BY s._ord
ON CONFLICT (event_key) DO UPDATE SET
  ${DLM_COLS.filter((c) => c.name !== 'event_key')
    .map((c) => `${c.name} = EXCLUDED.${c.name}`)
    .join(', ')}
WHERE EXCLUDED.source = 'orchestrator' AND t.source <> 'orchestrator'`;

/**
 * Inserts events; one whose event_key exists is ignored, except an orchestrator row over a
 * hub row (see DlmEventInsert). Returns how many rows were written.
 */
export async function insertDlmEvents(db: Queryable, rows: readonly DlmEventInsert[]): Promise<number> {
  if (rows.length === 0) return 0;
  const list = dedupeBy(rows, dlmEventKey, mergeDlmEvent);
  const arrays: unknown[][] = DLM_COLS.map(() => []);
  for (const row of list) {
    // A junk owner_epoch (a hub's payload, a caller's cast) is NULL, never an error for the batch.
    const r = { ...row, owner_epoch: ownerEpochOf(row.owner_epoch) } as Record<string, unknown>;
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
// Audit log

const AUDIT_COLS: Col[] = [
  { name: 'event_key', type: 'text' },
  { name: 'ts', type: 'timestamptz' },
  { name: 'actor', type: 'text' },
  { name: 'op', type: 'text' },
  { name: 'hub_id', type: 'text' },
  { name: 'node_id', type: 'text' },
  { name: 'vehicle_id', type: 'text' },
  { name: 'session_id', type: 'text' },
  { name: 'before', type: 'jsonb' },
  { name: 'after', type: 'jsonb' },
  { name: 'note', type: 'text' },
];

const SQL_INSERT_AUDIT = `
INSERT INTO audit_log (${AUDIT_COLS.map((c) => c.name).join(', ')})
SELECT ${AUDIT_COLS.map((c) => c.name).join(', ')}
FROM unnest(${AUDIT_COLS.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')}) WITH ORDINALITY
  AS s(${AUDIT_COLS.map((c) => c.name).join(', ')}, _ord)
ORDER BY s._ord
ON CONFLICT (event_key) DO NOTHING`;

/** Inserts audit records; one whose event_key exists is ignored. Returns how many were new. */
export async function insertAuditLog(db: Queryable, rows: readonly AuditInsert[]): Promise<number> {
  if (rows.length === 0) return 0;
  const list = dedupeBy(rows, auditKey, (first) => first);
  const arrays: unknown[][] = AUDIT_COLS.map(() => []);
  for (const row of list) {
    for (const k of ['event_key', 'actor', 'op'] as const) {
      if (typeof row[k] !== 'string' || row[k].length === 0)
        throw new InvalidRowError(`audit_log.${k}: a non-empty string is required`);
    }
    if (row.ts === undefined || row.ts === null) throw new InvalidRowError('audit_log.ts is required');
    const r = row as unknown as Record<string, unknown>;
    AUDIT_COLS.forEach((c, i) => arrays[i]?.push(convert(c.type, r[c.name], `audit_log.${c.name}`)));
  }
  const r = await db.query(SQL_INSERT_AUDIT, arrays);
  return r.rowCount ?? 0;
}

// ---------------------------------------------------------------------------------------
// Deletes (an operator removed a hub, node or vehicle)

const SQL_DELETE_NODES = `DELETE FROM nodes WHERE (hub_id, node_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;
const SQL_DELETE_HUBS = `DELETE FROM hubs WHERE hub_id = ANY($1::text[])`;
const SQL_DELETE_VEHICLES = `DELETE FROM vehicles WHERE vehicle_id = ANY($1::text[])`;

/**
 * Deletes hubs (their nodes with them: ON DELETE CASCADE), nodes and vehicles. Sessions,
 * DLM events and the audit log are history and stay. Idempotent. Returns the rows deleted.
 */
export async function deleteEntities(db: Queryable, rows: readonly EntityDelete[]): Promise<number> {
  const hubs: string[] = [];
  const nodeHubs: string[] = [];
  const nodes: string[] = [];
  const vehicles: string[] = [];
  for (const r of rows) {
    const ids =
      r.entity === 'hub' ? [r.hub_id] : r.entity === 'node' ? [r.hub_id, r.node_id] : [r.vehicle_id];
    for (const id of ids) convert('text', id, `delete ${r.entity}`);
    if (ids.some((id) => typeof id !== 'string' || id.length === 0))
      throw new InvalidRowError(`delete ${r.entity}: a non-empty id is required`);
    if (r.entity === 'hub') hubs.push(r.hub_id);
    else if (r.entity === 'node') {
      nodeHubs.push(r.hub_id);
      nodes.push(r.node_id);
    } else vehicles.push(r.vehicle_id);
  }
  let n = 0;
  if (nodes.length) n += (await db.query(SQL_DELETE_NODES, [nodeHubs, nodes])).rowCount ?? 0;
  if (hubs.length) n += (await db.query(SQL_DELETE_HUBS, [hubs])).rowCount ?? 0;
  if (vehicles.length) n += (await db.query(SQL_DELETE_VEHICLES, [vehicles])).rowCount ?? 0;
  return n;
}
