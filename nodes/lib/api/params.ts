// Query-string and path parameters of the REST API, parsed with field-precise errors.
import { isValidTopicId, parseTimestamp } from '../../../core/contract';

export type Query = Record<string, unknown>;

export interface Paging {
  limit: number;
  offset: number;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** A single string value of a query parameter (repeated parameters are an error). */
function single(q: Query, name: string, errors: string[]): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    errors.push(`${name}: must be given once`);
    return undefined;
  }
  return v;
}

export function idParam(q: Query, name: string, errors: string[]): string | undefined {
  const v = single(q, name, errors);
  if (v === undefined) return undefined;
  if (!isValidTopicId(v)) {
    errors.push(`${name}: must be 1-50 characters without '/', '+', '#' or control characters`);
    return undefined;
  }
  return v;
}

export function boolParam(q: Query, name: string, errors: string[]): boolean | undefined {
  const v = single(q, name, errors);
  if (v === undefined) return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  errors.push(`${name}: must be true or false`);
  return undefined;
}

/** Times the API accepts: what PostgreSQL stores and people mean (1970-01-01 … 9999-12-31, UTC). */
export const MIN_TIME_MS = 0;
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** An ISO-8601 date-time, an ISO-8601 date (its midnight, UTC) or epoch milliseconds. */
export function timeParam(q: Query, name: string, errors: string[]): number | undefined {
  const v = single(q, name, errors);
  if (v === undefined) return undefined;
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  const ms = /^\d{1,15}$/.test(v)
    ? Number(v)
    : date
      ? Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]))
      : parseTimestamp(v);
  if (date && new Date(ms).toISOString().slice(0, 10) !== v) {
    errors.push(`${name}: ${v} is not a calendar date`);
    return undefined;
  }
  if (!Number.isFinite(ms)) {
    errors.push(
      `${name}: must be an ISO-8601 date or date-time (e.g. 2026-11-30 or 2026-11-30T08:00:00Z) or epoch milliseconds`,
    );
    return undefined;
  }
  if (ms < MIN_TIME_MS || ms > MAX_TIME_MS) {
    errors.push(`${name}: must be between 1970-01-01 and 9999-12-31`);
    return undefined;
  }
  return ms;
}

/** One of a fixed set of values. */
export function oneOf<T extends string>(
  q: Query,
  name: string,
  values: readonly T[],
  errors: string[],
): T | undefined {
  const v = single(q, name, errors);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) {
    errors.push(`${name}: must be one of ${values.join(', ')}`);
    return undefined;
  }
  return v as T;
}

function intParam(q: Query, name: string, min: number, max: number, dflt: number, errors: string[]): number {
  const v = single(q, name, errors);
  if (v === undefined) return dflt;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) {
    errors.push(`${name}: must be an integer from ${min} to ${max}`);
    return dflt;
  }
  return Number(v);
}

export function paging(q: Query, errors: string[]): Paging {
  return {
    limit: intParam(q, 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT, errors),
    offset: intParam(q, 'offset', 0, 1_000_000_000, 0, errors),
  };
}

/** Rejects parameters the route does not know (a typo should not silently widen a query). */
export function unknownParams(q: Query, known: readonly string[], errors: string[]): void {
  for (const k of Object.keys(q))
    if (!known.includes(k)) errors.push(`${k}: unknown query parameter (known: ${known.join(', ')})`);
}

export interface SessionQuery extends Paging {
  hubId?: string;
  nodeId?: string;
  vehicleId?: string;
  active?: boolean;
  from?: number;
  to?: number;
}

export function parseSessionQuery(
  q: Query,
): { ok: true; value: SessionQuery } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  unknownParams(q, ['hub_id', 'node_id', 'vehicle_id', 'active', 'from', 'to', 'limit', 'offset'], errors);
  const value: SessionQuery = {
    hubId: idParam(q, 'hub_id', errors),
    nodeId: idParam(q, 'node_id', errors),
    vehicleId: idParam(q, 'vehicle_id', errors),
    active: boolParam(q, 'active', errors),
    from: timeParam(q, 'from', errors),
    to: timeParam(q, 'to', errors),
    ...paging(q, errors),
  };
  if (value.from !== undefined && value.to !== undefined && value.to <= value.from)
    errors.push('to: must be after from');
  return errors.length ? { ok: false, errors } : { ok: true, value };
}

/** Who sent a stored DLM event: this orchestrator, or a hub's own DLM. */
export const DLM_EVENT_SOURCES = ['orchestrator', 'hub'] as const;

export interface DlmEventQuery extends Paging {
  hubId?: string;
  nodeId?: string;
  since?: number;
  until?: number;
  source?: string;
}

export function parseDlmEventQuery(
  q: Query,
): { ok: true; value: DlmEventQuery } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  unknownParams(q, ['hub_id', 'node_id', 'since', 'until', 'source', 'limit', 'offset'], errors);
  const value: DlmEventQuery = {
    hubId: idParam(q, 'hub_id', errors),
    nodeId: idParam(q, 'node_id', errors),
    since: timeParam(q, 'since', errors),
    until: timeParam(q, 'until', errors),
    source: oneOf(q, 'source', DLM_EVENT_SOURCES, errors),
    ...paging(q, errors),
  };
  return errors.length ? { ok: false, errors } : { ok: true, value };
}

export interface AuditQuery extends Paging {
  hubId?: string;
  nodeId?: string;
  vehicleId?: string;
  actor?: string;
  since?: number;
  until?: number;
}

export function parseAuditQuery(q: Query): { ok: true; value: AuditQuery } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  unknownParams(q, ['hub_id', 'node_id', 'vehicle_id', 'actor', 'since', 'until', 'limit', 'offset'], errors);
  const actor = single(q, 'actor', errors);
  if (actor !== undefined && (actor.length < 1 || actor.length > 100))
    errors.push('actor: must be 1-100 characters');
  const value: AuditQuery = {
    hubId: idParam(q, 'hub_id', errors),
    nodeId: idParam(q, 'node_id', errors),
    vehicleId: idParam(q, 'vehicle_id', errors),
    ...(actor !== undefined ? { actor } : {}),
    since: timeParam(q, 'since', errors),
    until: timeParam(q, 'until', errors),
    ...paging(q, errors),
  };
  if (value.since !== undefined && value.until !== undefined && value.until <= value.since)
    errors.push('until: must be after since');
  return errors.length ? { ok: false, errors } : { ok: true, value };
}
