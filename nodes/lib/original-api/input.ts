// Input checked as the original's Pydantic models checked it (lax mode): JSON bodies, query
// strings and path parameters, with Pydantic's error types and messages. Unknown body fields
// and query parameters are ignored, as the original ignored them.
import type { PyError } from './errors';

export type FieldSpec =
  | { kind: 'str'; min?: number; max?: number; nullable?: boolean; default?: unknown; required?: boolean }
  | {
      kind: 'int' | 'float';
      gt?: number;
      ge?: number;
      le?: number;
      nullable?: boolean;
      default?: unknown;
      required?: boolean;
    }
  | { kind: 'bool'; nullable?: boolean; default?: unknown; required?: boolean };

export type Spec = Readonly<Record<string, FieldSpec>>;
export type Where = 'body' | 'query' | 'path';

const INT_TEXT = /^\s*[+-]?\d+\s*$/;
const FLOAT_TEXT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(inf|infinity|nan)\s*$/i;
const TRUE = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

type Checked = { ok: true; value: unknown } | { ok: false; error: Omit<PyError, 'loc'> };
const fail = (type: string, msg: string, input: unknown): Checked => ({
  ok: false,
  error: { type, msg, input },
});

function checkBool(v: unknown): Checked {
  if (typeof v === 'boolean') return { ok: true, value: v };
  if (v === 0 || v === 1) return { ok: true, value: v === 1 };
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (TRUE.has(s)) return { ok: true, value: true };
    if (FALSE.has(s)) return { ok: true, value: false };
    return fail('bool_parsing', 'Input should be a valid boolean, unable to interpret input', v);
  }
  return fail('bool_type', 'Input should be a valid boolean', v);
}

function checkNumber(kind: 'int' | 'float', v: unknown): Checked {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    if (kind === 'int' && !INT_TEXT.test(v))
      return fail('int_parsing', 'Input should be a valid integer, unable to parse string as an integer', v);
    if (kind === 'float' && !FLOAT_TEXT.test(v))
      return fail('float_parsing', 'Input should be a valid number, unable to parse string as a number', v);
    n = Number(v.trim());
  } else {
    return kind === 'int'
      ? fail('int_type', 'Input should be a valid integer', v)
      : fail('float_type', 'Input should be a valid number', v);
  }
  if (!Number.isFinite(n)) return fail('finite_number', 'Input should be a finite number', v);
  if (kind === 'int' && !Number.isInteger(n))
    return fail('int_from_float', 'Input should be a valid integer, got a number with a fractional part', v);
  return { ok: true, value: n };
}

function constrain(spec: FieldSpec, v: unknown, raw: unknown): Checked {
  if (spec.kind === 'str') {
    const s = v as string;
    const len = [...s].length;
    if (spec.min !== undefined && len < spec.min)
      return fail(
        'string_too_short',
        `String should have at least ${spec.min} character${spec.min === 1 ? '' : 's'}`,
        raw,
      );
    if (spec.max !== undefined && len > spec.max)
      return fail(
        'string_too_long',
        `String should have at most ${spec.max} character${spec.max === 1 ? '' : 's'}`,
        raw,
      );
  } else if (spec.kind === 'int' || spec.kind === 'float') {
    const n = v as number;
    if (spec.gt !== undefined && !(n > spec.gt))
      return fail('greater_than', `Input should be greater than ${spec.gt}`, raw);
    if (spec.ge !== undefined && !(n >= spec.ge))
      return fail('greater_than_equal', `Input should be greater than or equal to ${spec.ge}`, raw);
    if (spec.le !== undefined && !(n <= spec.le))
      return fail('less_than_equal', `Input should be less than or equal to ${spec.le}`, raw);
  }
  return { ok: true, value: v };
}

/** One value against its spec (present, not undefined). */
export function checkValue(spec: FieldSpec, v: unknown): Checked {
  if (v === null) {
    if (spec.nullable) return { ok: true, value: null };
    const type = { str: 'string_type', int: 'int_type', float: 'float_type', bool: 'bool_type' }[spec.kind];
    const msg = {
      str: 'Input should be a valid string',
      int: 'Input should be a valid integer',
      float: 'Input should be a valid number',
      bool: 'Input should be a valid boolean',
    }[spec.kind];
    return fail(type, msg, v);
  }
  let r: Checked;
  if (spec.kind === 'str')
    r =
      typeof v === 'string'
        ? { ok: true, value: v }
        : fail('string_type', 'Input should be a valid string', v);
  else if (spec.kind === 'bool') r = checkBool(v);
  else r = checkNumber(spec.kind, v);
  return r.ok ? constrain(spec, r.value, v) : r;
}

export type Parsed<T = Record<string, unknown>> = { ok: true; value: T } | { ok: false; errors: PyError[] };

/**
 * The fields of `spec` from `source`: defaults for absent optional fields, every problem with
 * its location. Keys not in `spec` are ignored. `present` lists the keys the source had.
 */
export function checkFields(
  source: Record<string, unknown>,
  spec: Spec,
  where: Where,
): Parsed & { present?: Set<string> } {
  const errors: PyError[] = [];
  const value: Record<string, unknown> = {};
  const present = new Set<string>();
  for (const [name, s] of Object.entries(spec)) {
    const raw = Object.hasOwn(source, name) ? source[name] : undefined;
    if (raw === undefined) {
      if (s.required)
        errors.push({ type: 'missing', loc: [where, name], msg: 'Field required', input: null });
      else if (s.default !== undefined) value[name] = s.default;
      continue;
    }
    present.add(name);
    const r = checkValue(s, raw);
    if (r.ok) value[name] = r.value;
    else errors.push({ ...r.error, loc: [where, name] });
  }
  return errors.length ? { ok: false, errors } : { ok: true, value, present };
}

/** A JSON body (undefined when none was sent) against a model. */
export function checkBody(
  body: unknown,
  spec: Spec,
): { ok: true; value: Record<string, unknown>; present: Set<string> } | { ok: false; errors: PyError[] } {
  if (body === undefined)
    return { ok: false, errors: [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }] };
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return {
      ok: false,
      errors: [
        {
          type: 'model_attributes_type',
          loc: ['body'],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          input: body,
        },
      ],
    };
  const r = checkFields(body as Record<string, unknown>, spec, 'body');
  return r.ok ? { ok: true, value: r.value, present: r.present ?? new Set() } : r;
}

/** Query parameters (the last value of a repeated one, as Starlette gives it). */
export function checkQuery(query: URLSearchParams, spec: Spec): Parsed {
  const source: Record<string, unknown> = {};
  for (const k of Object.keys(spec)) {
    const all = query.getAll(k);
    if (all.length) source[k] = all[all.length - 1];
  }
  return checkFields(source, spec, 'query');
}

/** An integer path parameter. */
export function pathInt(name: string, raw: string): Parsed<number> {
  const r = checkValue({ kind: 'int' }, raw);
  return r.ok
    ? { ok: true, value: r.value as number }
    : { ok: false, errors: [{ ...r.error, loc: ['path', name] }] };
}

/** The JSON decode error of a body that is not JSON (position: where parsing stopped). */
export function jsonInvalid(position: number): PyError {
  return { type: 'json_invalid', loc: ['body', position], msg: 'JSON decode error', input: {} };
}
