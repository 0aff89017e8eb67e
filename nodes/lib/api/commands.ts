// Operator commands from REST requests: which route asks wpt-twin to do what. This only puts
// the route's path parameters and the JSON body together into the twin's OperatorCommand
// (snake_case, as the body); the twin checks every field of it (one place for the rules) and a
// refusal names the field the caller sent. Times of a capacity window are given as ISO-8601
// (`from`, `until`) and travel as epoch milliseconds.
import type { OperatorCommand } from '../../../core/twin';
import { parseTimestamp } from '../../../core/contract';

/** The REST commands, by the operation name of a wpt-command node. */
export const COMMAND_OPS = [
  'hub-upsert',
  'hub-delete',
  'hub-activate',
  'hub-deactivate',
  'hub-capacity-override',
  'hub-capacity-override-clear',
  'node-upsert',
  'node-delete',
  'node-maintenance',
  'node-max-power-override',
  'node-max-power-override-clear',
  'vehicle-upsert',
  'vehicle-delete',
  'session-end',
] as const;
export type CommandOp = (typeof COMMAND_OPS)[number];

export interface HttpRequestParts {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
}

type Parsed = { ok: true; command: OperatorCommand } | { ok: false; errors: string[] };

/** The JSON body as an object ({} when empty), or why it is not one. */
function bodyOf(body: unknown): Record<string, unknown> | string {
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body))
    return 'body: must be a JSON object';
  return body as Record<string, unknown>;
}

/** A time of a capacity window: ISO-8601 text, epoch ms, or null/absent (open). */
function timeOf(v: unknown, field: string, errors: string[]): number | null | undefined {
  if (v === undefined || v === null) return v as null | undefined;
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? parseTimestamp(v) : NaN;
  if (!Number.isFinite(ms)) {
    errors.push(`${field}: must be an ISO-8601 date-time such as 2026-12-01T06:00:00Z, or null`);
    return undefined;
  }
  return ms;
}

/**
 * The command a route asks for. Path parameters win over the body (a body cannot move a
 * command to another hub); ids a route takes from its path are not read from the body.
 */
export function parseCommand(op: CommandOp, http: HttpRequestParts): Parsed {
  const b = bodyOf(http.body);
  if (typeof b === 'string') return { ok: false, errors: [b] };
  const p = http.params;
  const ids: Record<string, unknown> = {};
  for (const k of ['hub_id', 'node_id', 'vehicle_id'] as const) if (p[k] !== undefined) ids[k] = p[k];
  const with_ = (o: Record<string, unknown>) => ({
    ok: true as const,
    command: o as unknown as OperatorCommand,
  });
  switch (op) {
    case 'hub-upsert':
    case 'node-upsert':
    case 'vehicle-upsert':
      return with_({ ...b, ...ids, op });
    case 'hub-delete':
    case 'node-delete':
    case 'vehicle-delete':
      return with_({ ...ids, op, ...(b.note !== undefined ? { note: b.note } : {}) });
    case 'hub-activate':
    case 'hub-deactivate':
      return with_({
        ...ids,
        op: 'hub-active',
        active: op === 'hub-activate',
        ...(b.note !== undefined ? { note: b.note } : {}),
      });
    case 'hub-capacity-override': {
      const errors: string[] = [];
      const { from, until, note, ...rest } = b;
      const override: Record<string, unknown> = { ...rest };
      const f = timeOf(from, 'from', errors);
      const u = timeOf(until, 'until', errors);
      if (f !== undefined) override.from_ms = f;
      if (u !== undefined) override.until_ms = u;
      if (errors.length) return { ok: false, errors };
      return with_({ ...ids, op, override, ...(note !== undefined ? { note } : {}) });
    }
    case 'hub-capacity-override-clear':
      return with_({
        ...ids,
        op: 'hub-capacity-override',
        override: null,
        ...(b.note !== undefined ? { note: b.note } : {}),
      });
    case 'node-maintenance':
      return with_({ ...b, ...ids, op });
    case 'node-max-power-override':
      return with_({ ...b, ...ids, op });
    case 'node-max-power-override-clear':
      return with_({
        ...ids,
        op: 'node-max-power-override',
        kw: null,
        ...(b.note !== undefined ? { note: b.note } : {}),
      });
    case 'session-end':
      return with_({ ...ids, op, ...(b.note !== undefined ? { note: b.note } : {}) });
  }
}

/** Is this an operator command as wpt-command sends it (msg.command)? Checks the shape only. */
export function isOperatorCommand(v: unknown): v is OperatorCommand {
  return typeof v === 'object' && v !== null && typeof (v as { op?: unknown }).op === 'string';
}

/** Longest caller name kept in the audit log (after the `api:` prefix). */
export const MAX_CALLER_LENGTH = 80;

/**
 * Who made a REST request, for the audit log: `api`, or `api:<name>` when the caller names
 * itself in the X-WPT-Actor header (every caller holds the same token, so the name is what the
 * caller says, recorded as given). A name that cannot be recorded is a 400 naming the header.
 */
export function apiActorOf(
  headers: Record<string, unknown> | undefined,
): { ok: true; actor: string } | { ok: false; error: string } {
  const raw = headers?.['x-wpt-actor'];
  if (raw === undefined) return { ok: true, actor: 'api' };
  const name = typeof raw === 'string' ? raw.trim() : '';
  // eslint-disable-next-line no-control-regex
  if (!name || name.length > MAX_CALLER_LENGTH || /[\u0000-\u001f\u007f-\u009f]/.test(name))
    return {
      ok: false,
      error: `X-WPT-Actor: must be a name of 1-${MAX_CALLER_LENGTH} characters without control characters`,
    };
  return { ok: true, actor: `api:${name}` };
}
