// Query-string and path parameters of the REST API, parsed with field-precise errors.
import { isValidTopicId, parseTimestamp } from '../contract';

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

export function timeParam(q: Query, name: string, errors: string[]): number | undefined {
  const v = single(q, name, errors);
  if (v === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : parseTimestamp(v);
  if (!Number.isFinite(ms)) {
    errors.push(`${name}: must be an ISO-8601 date-time or epoch milliseconds`);
    return undefined;
  }
  return ms;
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
    source: idParam(q, 'source', errors),
    ...paging(q, errors),
  };
  return errors.length ? { ok: false, errors } : { ok: true, value };
}
