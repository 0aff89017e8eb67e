/**
 * Validator for the JSON Schema subset of `schemas.ts` (no Ajv).
 *
 * Each schema is compiled once, at module load, into a tree of `Rule` nodes that carry
 * their full field path and ready-made error texts, so validating allocates nothing but
 * the result (and the errors, when there are any).
 *
 * Supported keywords: type (name or array), properties, required, minimum, maximum,
 * exclusiveMinimum, exclusiveMaximum, minLength, maxLength (Unicode code points), enum,
 * pattern, format (date-time, ipv4, ipv6), anyOf of formats, default. JSON types are
 * strict: numbers must be finite numbers (not numeric strings), integers integral.
 */
import { ID_PATTERN, schemas } from './schemas';
import type { PayloadName, PayloadTypes } from './schemas';
import { parseTimestamp } from './time';

export interface ValidationError {
  /** `Payload.field.path`, or `topic` / `payload` for envelope errors. */
  path: string;
  /** The broken rule, e.g. `must be <= 350`. */
  rule: string;
  /** `path: rule`. */
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: ValidationError[] };

export interface ValidateOptions {
  /** Accept a missing `timestamp` even where the contract requires it (inbound: missing means "now"). */
  timestampOptional?: boolean;
}

/** A wire type with `timestamp` optional (what inbound validation guarantees). */
export type Inbound<T> = T extends { timestamp: string } ? Omit<T, 'timestamp'> & { timestamp?: string } : T;

export function validationError(path: string, rule: string): ValidationError {
  return { path, rule, message: `${path}: ${rule}` };
}

/** Minimal view of a schema node, for interpretation at run time. */
interface SchemaNode {
  readonly type?: string | readonly string[];
  readonly properties?: { readonly [key: string]: SchemaNode };
  readonly required?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly format?: string;
  readonly anyOf?: readonly SchemaNode[];
  readonly default?: unknown;
}

const T_STRING = 1;
const T_NUMBER = 2;
const T_INTEGER = 4;
const T_BOOLEAN = 8;
const T_NULL = 16;
const T_OBJECT = 32;

const TYPE_BITS: Readonly<Record<string, number>> = {
  string: T_STRING,
  number: T_NUMBER,
  integer: T_INTEGER,
  boolean: T_BOOLEAN,
  null: T_NULL,
  object: T_OBJECT,
};

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  null: 'null',
  object: 'an object',
};

const F_NONE = 0;
const F_DATE_TIME = 1;
const F_IPV4 = 2;
const F_IPV6 = 4;

const FORMAT_BITS: Readonly<Record<string, number>> = {
  'date-time': F_DATE_TIME,
  ipv4: F_IPV4,
  ipv6: F_IPV6,
};

/** One compiled schema node. All fields always set (one hidden class for V8). */
class Rule {
  readonly props: readonly Prop[] | null;
  constructor(
    readonly path: string,
    readonly types: number,
    readonly typeRule: string,
    readonly minimum: number,
    readonly maximum: number,
    readonly exclusiveMinimum: number,
    readonly exclusiveMaximum: number,
    readonly minLength: number,
    readonly maxLength: number,
    readonly enumValues: readonly unknown[] | null,
    readonly enumRule: string,
    readonly pattern: RegExp | null,
    readonly patternRule: string,
    readonly formats: number,
    readonly formatRule: string,
    readonly hasDefault: boolean,
    readonly defaultValue: unknown,
    props: readonly Prop[] | null,
  ) {
    this.props = props;
  }
}

class Prop {
  constructor(
    readonly key: string,
    readonly rule: Rule,
    readonly required: boolean,
    readonly requiredRule: string,
  ) {}
}

function formatRuleText(formats: number): string {
  if (formats === F_DATE_TIME) return 'must be an ISO-8601 date-time';
  if (formats === (F_IPV4 | F_IPV6)) return 'must be an IPv4 or IPv6 address';
  if (formats === F_IPV4) return 'must be an IPv4 address';
  if (formats === F_IPV6) return 'must be an IPv6 address';
  return 'must match its format';
}

function formatNumber(n: number): string {
  return String(n);
}

function compile(schema: SchemaNode, path: string, optional: ReadonlySet<string>): Rule {
  const typeNames =
    schema.type === undefined ? [] : typeof schema.type === 'string' ? [schema.type] : schema.type;
  let types = 0;
  for (const t of typeNames) {
    const bit = TYPE_BITS[t];
    if (bit === undefined) throw new Error(`schema ${path}: unsupported type '${t}'`);
    types |= bit;
  }
  if (types === 0) types = T_STRING | T_NUMBER | T_INTEGER | T_BOOLEAN | T_NULL | T_OBJECT;
  const typeRule = 'must be ' + typeNames.map((t) => TYPE_WORDS[t] ?? t).join(' or ');

  let formats = F_NONE;
  const addFormat = (f: string): void => {
    const bit = FORMAT_BITS[f];
    if (bit === undefined) throw new Error(`schema ${path}: unsupported format '${f}'`);
    formats |= bit;
  };
  if (schema.format !== undefined) addFormat(schema.format);
  if (schema.anyOf !== undefined) {
    for (const alt of schema.anyOf) {
      if (alt.format === undefined || Object.keys(alt).length !== 1) {
        throw new Error(`schema ${path}: anyOf supports only { format } alternatives`);
      }
      addFormat(alt.format);
    }
  }

  let props: Prop[] | null = null;
  if (schema.properties !== undefined) {
    props = [];
    const required = new Set(schema.required ?? []);
    for (const [key, child] of Object.entries(schema.properties)) {
      const childPath = `${path}.${key}`;
      props.push(
        new Prop(
          key,
          compile(child, childPath, optional),
          required.has(key) && !optional.has(key),
          'is required',
        ),
      );
    }
  }

  const pattern = schema.pattern === undefined ? null : new RegExp(schema.pattern, 'u');
  const patternRule =
    schema.pattern === undefined
      ? ''
      : schema.pattern === ID_PATTERN
        ? 'must not contain control characters'
        : `must match the pattern ${schema.pattern}`;

  const enumValues = schema.enum ?? null;
  return new Rule(
    path,
    types,
    typeRule,
    schema.minimum ?? -Infinity,
    schema.maximum ?? Infinity,
    schema.exclusiveMinimum ?? -Infinity,
    schema.exclusiveMaximum ?? Infinity,
    schema.minLength ?? 0,
    schema.maxLength ?? Infinity,
    enumValues,
    enumValues === null ? '' : 'must be one of ' + enumValues.map((v) => String(v)).join(', '),
    pattern,
    patternRule,
    formats,
    formatRuleText(formats),
    'default' in schema,
    schema.default,
    props,
  );
}

/** Number of Unicode code points of `s`. */
function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Dotted-quad IPv4 in s[from, to): four decimal octets 0–255, no leading zeros. */
function isIPv4Range(s: string, from: number, to: number): boolean {
  let parts = 0;
  let i = from;
  while (i <= to) {
    let value = 0;
    let len = 0;
    const start = i;
    while (i < to && isDigitCode(s.charCodeAt(i))) {
      value = value * 10 + (s.charCodeAt(i) - 48);
      len++;
      i++;
      if (len > 3) return false;
    }
    if (len === 0 || value > 255 || (len > 1 && s.charCodeAt(start) === 48)) return false;
    parts++;
    if (i === to) break;
    if (s.charCodeAt(i) !== 46 || parts === 4) return false;
    i++;
  }
  return parts === 4;
}

export function isIPv4(s: string): boolean {
  return s.length >= 7 && s.length <= 15 && isIPv4Range(s, 0, s.length);
}

/** RFC 4291 text form: 8 groups of 1–4 hex digits, one `::`, optional trailing IPv4. No zone id. */
export function isIPv6(s: string): boolean {
  const n = s.length;
  if (n < 2 || n > 45) return false;
  let groups = 0;
  let doubleColon = false;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    doubleColon = true;
    i = 2;
    if (i === n) return true; // "::"
  }
  while (i < n) {
    const start = i;
    while (i < n && isHexCode(s.charCodeAt(i)) && i - start < 5) i++;
    const len = i - start;
    if (i < n && s.charCodeAt(i) === 46) {
      // trailing IPv4, counts as two groups
      if (!isIPv4Range(s, start, n)) return false;
      groups += 2;
      break;
    }
    if (len === 0 || len > 4) return false;
    groups++;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (doubleColon) return false;
      doubleColon = true;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return false; // trailing single colon
    }
  }
  return doubleColon ? groups <= 7 : groups === 8;
}

function formatOk(formats: number, s: string): boolean {
  if (formats & F_DATE_TIME && !Number.isNaN(parseTimestamp(s))) return true;
  if (formats & F_IPV4 && isIPv4(s)) return true;
  if (formats & F_IPV6 && isIPv6(s)) return true;
  return false;
}

function check(rule: Rule, v: unknown, errors: ValidationError[]): void {
  const types = rule.types;
  switch (typeof v) {
    case 'string': {
      if ((types & T_STRING) === 0) break;
      if (rule.enumValues !== null && !rule.enumValues.includes(v)) {
        errors.push(validationError(rule.path, rule.enumRule));
      }
      if (v.length < rule.minLength * 2 || v.length > rule.maxLength) {
        const len = codePointLength(v);
        if (len < rule.minLength) {
          errors.push(
            validationError(
              rule.path,
              `must be at least ${rule.minLength} character${rule.minLength === 1 ? '' : 's'}`,
            ),
          );
        } else if (len > rule.maxLength) {
          errors.push(validationError(rule.path, `must be at most ${rule.maxLength} characters`));
        }
      }
      if (rule.pattern !== null && !rule.pattern.test(v)) {
        errors.push(validationError(rule.path, rule.patternRule));
      }
      if (rule.formats !== F_NONE && !formatOk(rule.formats, v)) {
        errors.push(validationError(rule.path, rule.formatRule));
      }
      return;
    }
    case 'number': {
      if ((types & (T_NUMBER | T_INTEGER)) === 0) break;
      if (!Number.isFinite(v)) {
        errors.push(validationError(rule.path, 'must be a finite number'));
        return;
      }
      if ((types & T_NUMBER) === 0 && !Number.isInteger(v)) break;
      if (rule.enumValues !== null && !rule.enumValues.includes(v)) {
        errors.push(validationError(rule.path, rule.enumRule));
      }
      if (v < rule.minimum)
        errors.push(validationError(rule.path, `must be >= ${formatNumber(rule.minimum)}`));
      else if (v > rule.maximum)
        errors.push(validationError(rule.path, `must be <= ${formatNumber(rule.maximum)}`));
      if (v <= rule.exclusiveMinimum) {
        errors.push(validationError(rule.path, `must be > ${formatNumber(rule.exclusiveMinimum)}`));
      } else if (v >= rule.exclusiveMaximum) {
        errors.push(validationError(rule.path, `must be < ${formatNumber(rule.exclusiveMaximum)}`));
      }
      return;
    }
    case 'boolean':
      if ((types & T_BOOLEAN) === 0) break;
      if (rule.enumValues !== null && !rule.enumValues.includes(v)) {
        errors.push(validationError(rule.path, rule.enumRule));
      }
      return;
    case 'object': {
      if (v === null) {
        if ((types & T_NULL) === 0) break;
        return;
      }
      if ((types & T_OBJECT) === 0 || Array.isArray(v)) break;
      const props = rule.props;
      if (props === null) return;
      const obj = v as Record<string, unknown>;
      for (let i = 0; i < props.length; i++) {
        const p = props[i] as Prop;
        const pv = obj[p.key];
        if (pv === undefined) {
          if (p.required) errors.push(validationError(p.rule.path, p.requiredRule));
        } else {
          check(p.rule, pv, errors);
        }
      }
      return;
    }
    default:
      break;
  }
  errors.push(validationError(rule.path, rule.typeRule));
}

const NO_OPTIONAL: ReadonlySet<string> = new Set();
const TIMESTAMP_OPTIONAL: ReadonlySet<string> = new Set(['timestamp']);

function compileAll(optional: ReadonlySet<string>): Record<PayloadName, Rule> {
  const out = {} as Record<PayloadName, Rule>;
  for (const name of Object.keys(schemas) as PayloadName[]) {
    out[name] = compile(schemas[name] as SchemaNode, name, optional);
  }
  return out;
}

const STRICT = compileAll(NO_OPTIONAL);
const INBOUND = compileAll(TIMESTAMP_OPTIONAL);

function describeThrown(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.length > 200 ? text.slice(0, 200) + '…' : text;
}

/** Validate `value` against the schema of payload `name`; all errors are reported. */
export function validatePayload<N extends PayloadName>(
  name: N,
  value: unknown,
): ValidationResult<PayloadTypes[N]>;
export function validatePayload<N extends PayloadName>(
  name: N,
  value: unknown,
  opts: ValidateOptions & { timestampOptional: true },
): ValidationResult<Inbound<PayloadTypes[N]>>;
export function validatePayload<N extends PayloadName>(
  name: N,
  value: unknown,
  opts?: ValidateOptions,
): ValidationResult<PayloadTypes[N]> | ValidationResult<Inbound<PayloadTypes[N]>>;
export function validatePayload<N extends PayloadName>(
  name: N,
  value: unknown,
  opts?: ValidateOptions,
): ValidationResult<PayloadTypes[N]> {
  const rule = (opts?.timestampOptional === true ? INBOUND : STRICT)[name];
  if (rule === undefined) {
    return { ok: false, errors: [validationError(String(name), 'is not a known payload')] };
  }
  const errors: ValidationError[] = [];
  try {
    check(rule, value, errors);
  } catch (e) {
    errors.push(validationError(name, `could not be read (${describeThrown(e)})`));
  }
  return errors.length === 0 ? { ok: true, value: value as PayloadTypes[N] } : { ok: false, errors };
}

function normaliseObject(rule: Rule, obj: Record<string, unknown>, drop: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const props = rule.props as readonly Prop[];
  for (let i = 0; i < props.length; i++) {
    const p = props[i] as Prop;
    const key = p.key;
    if (key === drop) continue;
    const v = obj[key];
    if (v !== undefined) {
      out[key] =
        p.rule.props !== null && typeof v === 'object' && v !== null
          ? normaliseObject(p.rule, v as Record<string, unknown>, '')
          : v;
    } else if (p.rule.hasDefault) {
      out[key] = p.rule.defaultValue;
    } else if ((p.rule.types & T_NULL) !== 0) {
      out[key] = null;
    }
  }
  return out;
}

/**
 * Copy of an already validated payload with only the schema's properties (extras
 * dropped), defaults applied, missing nullable properties set to null and the top-level
 * property `drop` (the timestamp) left out. Internal: used by decode.
 */
export function normaliseValidated(
  name: PayloadName,
  value: object,
  drop = 'timestamp',
): Record<string, unknown> {
  return normaliseObject(INBOUND[name], value as Record<string, unknown>, drop);
}
