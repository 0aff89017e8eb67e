// The check of an operator command as it arrives from outside (raw JSON values): every field
// of every op, with a field-precise message per broken rule. Nothing reaches the twin (or
// PostgreSQL, through it) that the contract or the database could not take: ids by
// CONTRACT.md, finite numbers in range, strings without NUL or other control characters.
import { isIPv4, isIPv6, topicIdProblem } from '../contract';
import type { OperatorCommand, OperatorOp } from './commands';
import { TwinInputError, type FieldProblem } from './errors';

type Check = (v: unknown, field: string, problems: FieldProblem[]) => void;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function controlIn(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** A text field: a string of at most `max` characters without control characters. */
function textProblem(v: unknown, max: number): string | null {
  if (typeof v !== 'string') return `must be a string of at most ${max} characters`;
  if (v.length > max) return `must be at most ${max} characters (got ${v.length})`;
  if (controlIn(v)) return 'must not contain NUL or other control characters';
  return null;
}

const id: Check = (v, field, p) => {
  const problem = topicIdProblem(`${field}:`, v);
  if (problem) p.push({ field, message: problem.slice(field.length + 2) });
};

const text =
  (max: number, nullable: boolean): Check =>
  (v, field, p) => {
    if (v === null && nullable) return;
    const problem = textProblem(v, max);
    if (problem) p.push({ field, message: nullable ? `${problem}, or null` : problem });
  };

const num =
  (min: number, max: number, nullable: boolean, minExclusive = false): Check =>
  (v, field, p) => {
    if (v === null && nullable) return;
    if (!isNum(v) || v > max || (minExclusive ? v <= min : v < min)) {
      const range = minExclusive ? `above ${min} and at most ${max}` : `in ${min}..${max}`;
      p.push({ field, message: `must be a number ${range}${nullable ? ', or null' : ''}` });
    }
  };

const bool: Check = (v, field, p) => {
  if (typeof v !== 'boolean') p.push({ field, message: 'must be true or false' });
};

const ip: Check = (v, field, p) => {
  if (v === null) return;
  if (typeof v !== 'string' || !(isIPv4(v) || isIPv6(v)))
    p.push({ field, message: 'must be an IPv4 or IPv6 address, or null' });
};

/** An epoch-ms time PostgreSQL can store (years 1970..9999), or null. */
const time: Check = (v, field, p) => {
  if (v === null) return;
  if (!isNum(v) || !Number.isInteger(v) || v < 0 || v > 253_402_300_799_999)
    p.push({ field, message: 'must be a time in epoch milliseconds (1970..9999), or null' });
};

function object(
  fields: Readonly<Record<string, Check>>,
  required: readonly string[],
  nullable: boolean,
  extra?: (o: Record<string, unknown>, field: string, p: FieldProblem[]) => void,
): Check {
  return (v, field, p) => {
    if (v === null && nullable) return;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      p.push({ field, message: `must be an object${nullable ? ', or null' : ''}` });
      return;
    }
    const o = v as Record<string, unknown>;
    const before = p.length;
    checkFields(o, fields, required, p, `${field}.`);
    if (p.length === before) extra?.(o, field, p);
  };
}

const location = object(
  { latitude: num(-90, 90, false), longitude: num(-180, 180, false), altitude: num(-500, 10_000, false) },
  ['latitude', 'longitude'],
  true,
);

const capacityOverride = object(
  { kw: num(0, 1000, false), from_ms: time, until_ms: time },
  ['kw'],
  true,
  (o, field, p) => {
    if (isNum(o.from_ms) && isNum(o.until_ms) && o.until_ms <= o.from_ms)
      p.push({ field: `${field}.until_ms`, message: 'must be after from_ms' });
  },
);

const note = text(500, false);

const FIELDS: Readonly<Record<OperatorOp, { fields: Record<string, Check>; required: string[] }>> = {
  'hub-upsert': {
    fields: {
      hub_id: id,
      location,
      max_grid_capacity_kw: num(0, 1000, true),
      ip_address: ip,
      firmware_version: text(20, true),
    },
    required: ['hub_id'],
  },
  'hub-delete': { fields: { hub_id: id }, required: ['hub_id'] },
  'hub-active': { fields: { hub_id: id, active: bool }, required: ['hub_id', 'active'] },
  'hub-capacity-override': {
    fields: { hub_id: id, override: capacityOverride },
    required: ['hub_id', 'override'],
  },
  'node-upsert': {
    fields: { hub_id: id, node_id: id, name: text(100, true), max_power_kw: num(0, 350, true) },
    required: ['hub_id', 'node_id'],
  },
  'node-delete': { fields: { hub_id: id, node_id: id }, required: ['hub_id', 'node_id'] },
  'node-maintenance': {
    fields: { hub_id: id, node_id: id, maintenance: bool },
    required: ['hub_id', 'node_id', 'maintenance'],
  },
  'node-max-power-override': {
    fields: { hub_id: id, node_id: id, kw: num(0, 350, true) },
    required: ['hub_id', 'node_id', 'kw'],
  },
  'vehicle-upsert': {
    fields: {
      vehicle_id: id,
      battery_capacity_kwh: num(0, 1000, true, true),
      priority: bool,
      model: text(100, true),
      manufacturer: text(100, true),
      driver: text(100, true),
    },
    required: ['vehicle_id'],
  },
  'vehicle-delete': { fields: { vehicle_id: id }, required: ['vehicle_id'] },
  'session-end': { fields: { hub_id: id, node_id: id }, required: ['hub_id', 'node_id'] },
};

function checkFields(
  o: Record<string, unknown>,
  fields: Readonly<Record<string, Check>>,
  required: readonly string[],
  p: FieldProblem[],
  prefix = '',
): void {
  for (const k of required) if (o[k] === undefined) p.push({ field: prefix + k, message: 'is required' });
  for (const [k, v] of Object.entries(o)) {
    const check = fields[k];
    if (!check) p.push({ field: prefix + k, message: 'is not a field of this command' });
    else if (v !== undefined) check(v, prefix + k, p);
  }
}

/** Throws TwinInputError (every problem, field by field) unless `raw` is a valid command. */
export function parseCommand(raw: unknown): OperatorCommand {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw TwinInputError.of([{ field: 'command', message: 'must be an object with an op' }]);
  const o = raw as Record<string, unknown>;
  const spec = typeof o.op === 'string' && Object.hasOwn(FIELDS, o.op) ? FIELDS[o.op as OperatorOp] : null;
  if (!spec)
    throw TwinInputError.of([{ field: 'op', message: `must be one of ${Object.keys(FIELDS).join(', ')}` }]);
  const p: FieldProblem[] = [];
  const { op: _op, ...rest } = o;
  checkFields(rest, { ...spec.fields, note }, spec.required, p);
  if (p.length) throw TwinInputError.of(p);
  return raw as OperatorCommand;
}

/** Throws TwinInputError unless `actor` is a usable name for the audit log. */
export function checkActor(actor: unknown): string {
  const problem = textProblem(actor, 100);
  if (problem || (actor as string).length === 0)
    throw TwinInputError.of([{ field: 'actor', message: problem ?? 'must not be empty' }]);
  return actor as string;
}
