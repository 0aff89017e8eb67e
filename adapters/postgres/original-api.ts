// Reads for the original system's API (ORIGINAL-API.md, served by wpt-original-api): sessions
// by their number (`charging_sessions.id`, migration 003) and DLM events by theirs, in the
// order of insertion as the original listed them, and when vehicles were first stored.
// Paging follows the original: `skip`/`limit` go to PostgreSQL as given (a negative one is
// PostgreSQL's error, as it was the original's); a filtered list is never paged.
import type { Queryable } from './values';
import { toTimestamp } from './values';

export interface NumberedSessionRow {
  id: number;
  session_id: string;
  hub_id: string;
  node_id: string;
  vehicle_id: string | null;
  start_time: Date;
  end_time: Date | null;
  energy_kwh: number;
  average_power_kw: number | null;
}

export interface NumberedDlmEventRow {
  id: number;
  hub_id: string;
  node_id: string;
  trigger_reason: string;
  original_limit: number | null;
  new_limit: number;
  total_grid_load: number | null;
  available_capacity: number | null;
  source: string;
  ts: Date;
}

/** A page as the original API counts it: `total` = every row matching (not just this page). */
export interface NumberedPage<T> {
  items: T[];
  total: number;
}

const SESSION_SELECT = `SELECT id, session_id, hub_id, node_id, vehicle_id, start_time, end_time, energy_kwh,
  average_power_kw FROM charging_sessions`;
const DLM_SELECT = `SELECT id, hub_id, node_id, trigger_reason, original_limit, new_limit, total_grid_load,
  available_capacity, source, ts FROM dlm_events`;

const numbered = <T extends { id: number }>(rows: Array<Record<string, unknown>>): T[] =>
  rows.map((r) => ({ ...(r as unknown as T), id: Number(r.id) }));

/**
 * Sessions in order of insertion. With `nodeId` (wins) or `vehicleId` every match, unpaged;
 * without a filter the page [skip, skip + limit) and the count of all sessions.
 */
export async function listNumberedSessions(
  db: Queryable,
  f: { nodeId?: string; vehicleId?: string; skip: number; limit: number },
): Promise<NumberedPage<NumberedSessionRow>> {
  if (f.nodeId !== undefined || f.vehicleId !== undefined) {
    const [col, v] = f.nodeId !== undefined ? ['node_id', f.nodeId] : ['vehicle_id', f.vehicleId];
    const r = await db.query(`${SESSION_SELECT} WHERE ${col} = $1 ORDER BY id`, [v]);
    return { items: numbered(r.rows), total: r.rows.length };
  }
  const [items, count] = await Promise.all([
    db.query(`${SESSION_SELECT} ORDER BY id LIMIT $1 OFFSET $2`, [f.limit, f.skip]),
    db.query<{ n: number }>('SELECT count(*)::int AS n FROM charging_sessions'),
  ]);
  return { items: numbered(items.rows), total: count.rows[0]?.n ?? 0 };
}

export async function numberedSession(db: Queryable, id: number): Promise<NumberedSessionRow | null> {
  const r = await db.query(`${SESSION_SELECT} WHERE id = $1`, [id]);
  return numbered<NumberedSessionRow>(r.rows)[0] ?? null;
}

/** The stored row of a session of the twin (by its text id), or null while not written yet. */
export async function numberedSessionByKey(
  db: Queryable,
  sessionId: string,
): Promise<NumberedSessionRow | null> {
  const r = await db.query(`${SESSION_SELECT} WHERE session_id = $1`, [sessionId]);
  return numbered<NumberedSessionRow>(r.rows)[0] ?? null;
}

/** Open sessions (of nodes with this id, in any hub), in order of insertion. */
export async function openNumberedSessions(db: Queryable, nodeId?: string): Promise<NumberedSessionRow[]> {
  const r =
    nodeId === undefined
      ? await db.query(`${SESSION_SELECT} WHERE end_time IS NULL ORDER BY id`)
      : await db.query(`${SESSION_SELECT} WHERE end_time IS NULL AND node_id = $1 ORDER BY id`, [nodeId]);
  return numbered(r.rows);
}

/**
 * DLM events (ours and the hubs') in order of insertion. With `hubId` (wins) or `nodeId`
 * every match, unpaged; without a filter the page and the count of all events.
 */
export async function listNumberedDlmEvents(
  db: Queryable,
  f: { hubId?: string; nodeId?: string; skip: number; limit: number },
): Promise<NumberedPage<NumberedDlmEventRow>> {
  if (f.hubId !== undefined || f.nodeId !== undefined) {
    const [col, v] = f.hubId !== undefined ? ['hub_id', f.hubId] : ['node_id', f.nodeId];
    const r = await db.query(`${DLM_SELECT} WHERE ${col} = $1 ORDER BY id`, [v]);
    return { items: numbered(r.rows), total: r.rows.length };
  }
  const [items, count] = await Promise.all([
    db.query(`${DLM_SELECT} ORDER BY id LIMIT $1 OFFSET $2`, [f.limit, f.skip]),
    db.query<{ n: number }>('SELECT count(*)::int AS n FROM dlm_events'),
  ]);
  return { items: numbered(items.rows), total: count.rows[0]?.n ?? 0 };
}

export async function numberedDlmEvent(db: Queryable, id: number): Promise<NumberedDlmEventRow | null> {
  const r = await db.query(`${DLM_SELECT} WHERE id = $1`, [id]);
  return numbered<NumberedDlmEventRow>(r.rows)[0] ?? null;
}

/** Events at or after `sinceMs`, newest first, at most `limit`. */
export async function recentNumberedDlmEvents(
  db: Queryable,
  sinceMs: number,
  limit: number,
): Promise<NumberedDlmEventRow[]> {
  const r = await db.query(`${DLM_SELECT} WHERE ts >= $1::timestamptz ORDER BY ts DESC, id DESC LIMIT $2`, [
    toTimestamp(
      Math.min(Date.parse('9999-12-31T23:59:59Z'), Math.max(Date.parse('0001-01-01T00:00:00Z'), sinceMs)),
      'since',
    ),
    limit,
  ]);
  return numbered(r.rows);
}

/** When each of these vehicles was first stored (vehicles not stored are left out). */
export async function vehiclesCreatedAt(db: Queryable, ids: readonly string[]): Promise<Map<string, Date>> {
  if (ids.length === 0) return new Map();
  const r = await db.query<{ vehicle_id: string; created_at: Date }>(
    'SELECT vehicle_id, created_at FROM vehicles WHERE vehicle_id = ANY($1::text[])',
    [ids],
  );
  return new Map(r.rows.map((x) => [x.vehicle_id, x.created_at]));
}

/** The reads above bound to one database. */
export interface OriginalApiStore {
  sessions(f: {
    nodeId?: string;
    vehicleId?: string;
    skip: number;
    limit: number;
  }): Promise<NumberedPage<NumberedSessionRow>>;
  session(id: number): Promise<NumberedSessionRow | null>;
  sessionByKey(sessionId: string): Promise<NumberedSessionRow | null>;
  openSessions(nodeId?: string): Promise<NumberedSessionRow[]>;
  dlmEvents(f: {
    hubId?: string;
    nodeId?: string;
    skip: number;
    limit: number;
  }): Promise<NumberedPage<NumberedDlmEventRow>>;
  dlmEvent(id: number): Promise<NumberedDlmEventRow | null>;
  recentDlmEvents(sinceMs: number, limit: number): Promise<NumberedDlmEventRow[]>;
  vehiclesCreatedAt(ids: readonly string[]): Promise<Map<string, Date>>;
}

export function originalApiStore(db: Queryable): OriginalApiStore {
  return {
    sessions: (f) => listNumberedSessions(db, f),
    session: (id) => numberedSession(db, id),
    sessionByKey: (k) => numberedSessionByKey(db, k),
    openSessions: (n) => openNumberedSessions(db, n),
    dlmEvents: (f) => listNumberedDlmEvents(db, f),
    dlmEvent: (id) => numberedDlmEvent(db, id),
    recentDlmEvents: (s, l) => recentNumberedDlmEvents(db, s, l),
    vehiclesCreatedAt: (ids) => vehiclesCreatedAt(db, ids),
  };
}
