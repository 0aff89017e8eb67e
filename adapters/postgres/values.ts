// Values between TypeScript and PostgreSQL: times, typed parameters, merging partial rows
// and the keys rows are deduplicated by (in a batch and in the write queue).
import type pg from 'pg';
import {
  InvalidRowError,
  type DlmEventInsert,
  type EntityDelete,
  type SessionUpsert,
  type TimeInput,
} from './rows';

/** Anything that runs a query: a pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

export type PgType = 'text' | 'float8' | 'int4' | 'int8' | 'bool' | 'timestamptz' | 'jsonb';

/** Times stored here: years 1..9999 (PostgreSQL refuses year 0 and JavaScript's signed years). */
const MIN_TIME_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * ISO string for PostgreSQL, or null. Throws InvalidRowError, before any SQL, for an
 * unusable time or one outside the years 1..9999.
 */
export function toTimestamp(v: TimeInput | null | undefined, field = 'time'): string | null {
  if (v === null || v === undefined) return null;
  const ms = timeMs(v);
  if (Number.isNaN(ms))
    throw new InvalidRowError(`${field}: not a time${typeof v === 'string' ? `: ${JSON.stringify(v)}` : ''}`);
  if (ms < MIN_TIME_MS || ms > MAX_TIME_MS)
    throw new InvalidRowError(`${field}: outside the years 1 to 9999`);
  return typeof v === 'string' ? v : new Date(ms).toISOString();
}

/** Replaces NUL (which PostgreSQL text and jsonb cannot hold) by U+FFFD in a device's free text. */
export function pgText<T extends string | null>(s: T): T {
  return (s !== null && s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s) as T;
}

/** Epoch milliseconds of a time (NaN when unparsable). */
export function timeMs(v: TimeInput): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Date.parse(v);
  return v.getTime();
}

export function convert(type: PgType, v: unknown, field: string): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'timestamptz':
      return toTimestamp(v as TimeInput, field);
    case 'text':
      if (typeof v !== 'string') throw new InvalidRowError(`${field}: expected a string`);
      if (v.includes('\u0000'))
        throw new InvalidRowError(`${field}: contains NUL, which PostgreSQL cannot store`);
      return v;
    case 'jsonb': {
      // JSON text; a NUL inside a string becomes U+FFFD (jsonb refuses \u0000).
      const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' ? pgText(x) : x));
      if (text === undefined) throw new InvalidRowError(`${field}: not JSON-serialisable`);
      return text;
    }
    case 'bool':
      if (typeof v !== 'boolean') throw new InvalidRowError(`${field}: expected a boolean`);
      return v;
    case 'float8':
    case 'int4':
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new InvalidRowError(`${field}: expected a finite number`);
      if (type === 'int4' && !Number.isInteger(v)) throw new InvalidRowError(`${field}: expected an integer`);
      return v;
    case 'int8':
      if (typeof v !== 'number' || !Number.isSafeInteger(v))
        throw new InvalidRowError(`${field}: expected a safe integer`);
      return v;
  }
}

/**
 * The owner's lease epoch of a DLM event payload (`owner_epoch`, cluster mode) as stored: a
 * non-negative safe integer, or null for anything else (absent, null, text, negative,
 * fractional, beyond 2^53 - 1). Never throws: a junk value is just not an epoch.
 */
export function ownerEpochOf(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
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
export const auditKey = (r: { event_key: string }): string => r.event_key;
export const deleteKey = (r: EntityDelete): string =>
  r.entity === 'hub'
    ? `hub\u0000${r.hub_id}`
    : r.entity === 'node'
      ? `node\u0000${r.hub_id}\u0000${r.node_id}`
      : `vehicle\u0000${r.vehicle_id}`;

/** Two rows of one DLM event key: the first wins, but an orchestrator row wins over a hub row. */
export function mergeDlmEvent(prev: DlmEventInsert, next: DlmEventInsert): DlmEventInsert {
  const ours = (r: DlmEventInsert): boolean => (r.source ?? 'orchestrator') === 'orchestrator';
  return ours(next) && !ours(prev) ? next : prev;
}

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
