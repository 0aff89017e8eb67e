/**
 * Validation of payloads against the schemas of `schemas.ts`, with Ajv (the JSON Schema
 * validator Node-RED itself ships), and Ajv's errors turned into the project's
 * field-precise messages: `HubInfo.location.latitude: must be >= -90`.
 *
 * Ajv is set up once, at module load: draft 2020-12, all errors reported, strict schema
 * checks (an unknown keyword or a keyword value of the wrong type fails at load), numbers
 * strictly finite (`strictNumbers`), string lengths in Unicode code points. The schemas are
 * not validated against the draft's meta-schema here (compiling the meta-schema would double
 * the load time): the tests do that. Formats are this project's own checks: `date-time` is
 * `parseTimestamp` (RFC 3339 plus, leniently, a missing zone read as UTC), `ipv4`/`ipv6`
 * are formats.ts. Each schema is compiled twice: with `timestamp` not required (inbound: a
 * missing timestamp means "now"), at load; as written (outbound checks), on first use.
 *
 * The translation keeps one error per broken rule: a value of the wrong type gets the type
 * error only (not also its enum or format); an `anyOf` of formats gets one error naming
 * them (not one per alternative); a non-finite number in a numeric field gets
 * `must be a finite number` (JSON cannot carry one, an already parsed object can).
 */
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import { isIPv4, isIPv6 } from './formats';
import { ID_PATTERN, schemas } from './schemas';
import type { PayloadName, PayloadTypes } from './schemas';
import { isTimestamp } from './time';

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

const ajv = new Ajv2020({
  allErrors: true,
  verbose: true, // errors carry the value and the schema (finite numbers, anyOf of formats)
  strict: true,
  validateSchema: false, // checked against the meta-schema by the tests
  allowUnionTypes: true, // `type: ['string', 'null']`
  formats: {
    'date-time': { type: 'string', validate: isTimestamp },
    ipv4: { type: 'string', validate: isIPv4 },
    ipv6: { type: 'string', validate: isIPv6 },
  },
});

/** Inbound (decode, the hot path): compiled now, with `timestamp` not required. */
const INBOUND = {} as Record<PayloadName, ValidateFunction>;
for (const name of Object.keys(schemas) as PayloadName[]) {
  const schema = schemas[name];
  INBOUND[name] = ajv.compile({ ...schema, required: schema.required.filter((k) => k !== 'timestamp') });
}

/** As written (outbound checks): compiled on first use, each compile takes a few ms. */
const STRICT: Partial<Record<PayloadName, ValidateFunction>> = {};

/**
 * The compiled Ajv function of a payload, or undefined for an unknown name. Exported for
 * measuring Ajv's own errors (bench/contract.ts); validate with `validatePayload`.
 */
export function compiledValidator(
  name: PayloadName,
  timestampOptional: boolean,
): ValidateFunction | undefined {
  if (!Object.hasOwn(schemas, name)) return undefined;
  return timestampOptional ? INBOUND[name] : (STRICT[name] ??= ajv.compile(schemas[name]));
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  null: 'null',
  object: 'an object',
  array: 'an array',
};

const FORMAT_RULES: Readonly<Record<string, string>> = {
  'date-time': 'must be an ISO-8601 date-time',
  ipv4: 'must be an IPv4 address',
  ipv6: 'must be an IPv6 address',
  'ipv4|ipv6': 'must be an IPv4 or IPv6 address',
};

function formatRule(formats: string): string {
  return FORMAT_RULES[formats] ?? `must match the format ${formats.split('|').join(' or ')}`;
}

/** `Payload` + JSON Pointer `/location/latitude` → `Payload.location.latitude`. */
function pathOf(name: string, instancePath: string): string {
  if (instancePath === '') return name;
  let path = name;
  for (const segment of instancePath.slice(1).split('/')) {
    path += '.' + (segment.includes('~') ? segment.replace(/~1/g, '/').replace(/~0/g, '~') : segment);
  }
  return path;
}

function typeRule(e: ErrorObject): string {
  const t: unknown = e.params.type;
  const types = Array.isArray(t) ? (t as string[]) : String(t).split(',');
  if (
    typeof e.data === 'number' &&
    !Number.isFinite(e.data) &&
    (types.includes('number') || types.includes('integer'))
  ) {
    return 'must be a finite number';
  }
  return 'must be ' + types.map((w) => TYPE_WORDS[w] ?? w).join(' or ');
}

/** The rule of one Ajv error in the project's words. */
function ruleOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return typeRule(e);
    case 'required':
      return 'is required';
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(p.comparison)} ${String(p.limit)}`;
    case 'minLength': {
      const n = Number(p.limit);
      return `must be at least ${n} character${n === 1 ? '' : 's'}`;
    }
    case 'maxLength':
      return `must be at most ${Number(p.limit)} characters`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => String(v)).join(', ')}`;
    case 'pattern':
      return p.pattern === ID_PATTERN
        ? 'must not contain control characters'
        : `must match the pattern ${String(p.pattern)}`;
    case 'format':
      return formatRule(String(p.format));
    case 'anyOf': {
      const alternatives = e.schema as readonly { format?: string }[];
      if (alternatives.every((a) => typeof a.format === 'string' && Object.keys(a).length === 1)) {
        return formatRule(alternatives.map((a) => a.format).join('|'));
      }
      return 'must match one of its alternatives';
    }
    default:
      return e.message ?? `must satisfy ${e.keyword}`;
  }
}

/** Minimal view of a schema node: its properties. */
interface SchemaNode {
  readonly properties?: { readonly [key: string]: SchemaNode };
}

/** Rank of every field path of a payload in schema order (depth first), for ordering errors. */
function fieldRanks(
  name: string,
  schema: SchemaNode,
  ranks = new Map<string, number>(),
): Map<string, number> {
  ranks.set(name, ranks.size);
  for (const [key, child] of Object.entries(schema.properties ?? {}))
    fieldRanks(`${name}.${key}`, child, ranks);
  return ranks;
}

const RANKS = {} as Record<PayloadName, Map<string, number>>;
for (const name of Object.keys(schemas) as PayloadName[])
  RANKS[name] = fieldRanks(name, schemas[name] as SchemaNode);

/**
 * Ajv's errors of payload `name` as the project's errors (see the module doc), in the
 * order of the fields in the schema (Ajv lists an object's missing properties first).
 */
function translate(name: PayloadName, errors: readonly ErrorObject[]): ValidationError[] {
  const out: ValidationError[] = [];
  let typeFailedAt: string | null = null;
  for (const e of errors) {
    if (e.schemaPath.includes('/anyOf/')) continue; // an alternative: reported by its anyOf
    if (e.keyword === 'type') typeFailedAt = e.instancePath;
    else if (e.instancePath === typeFailedAt && e.keyword !== 'required') continue;
    const path =
      e.keyword === 'required'
        ? `${pathOf(name, e.instancePath)}.${String((e.params as { missingProperty: string }).missingProperty)}`
        : pathOf(name, e.instancePath);
    out.push(validationError(path, ruleOf(e)));
  }
  const ranks = RANKS[name];
  const rank = (e: ValidationError): number => ranks.get(e.path) ?? ranks.size;
  return out.length > 1 ? out.sort((a, b) => rank(a) - rank(b)) : out; // stable: a field's rules keep Ajv's order
}

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
  const validate = compiledValidator(name, opts?.timestampOptional === true);
  if (validate === undefined) {
    return { ok: false, errors: [validationError(String(name), 'is not a known payload')] };
  }
  try {
    if (validate(value)) return { ok: true, value: value as PayloadTypes[N] };
    return { ok: false, errors: translate(name, validate.errors ?? []) };
  } catch (e) {
    return { ok: false, errors: [validationError(name, `could not be read (${describeThrown(e)})`)] };
  }
}
