/**
 * Normalisation of an already validated payload (used by decode): a fresh object with only
 * the schema's properties (unknown extras dropped), `default`s applied, missing nullable
 * properties set to null, and one top-level property (the timestamp) left out.
 *
 * The plan is read from the schemas once, at module load. The input is never changed, and
 * every output of a payload has the same keys in the same order (one hidden class for V8).
 */
import { schemas } from './schemas';
import type { PayloadName } from './schemas';

/** Minimal view of a schema node: what normalisation reads. */
interface SchemaNode {
  readonly type?: string | readonly string[];
  readonly properties?: { readonly [key: string]: SchemaNode };
  readonly default?: unknown;
}

class Field {
  constructor(
    readonly key: string,
    /** Fields of a nested object, else null. */
    readonly nested: readonly Field[] | null,
    readonly hasDefault: boolean,
    readonly defaultValue: unknown,
    readonly nullable: boolean,
  ) {}
}

function fieldsOf(schema: SchemaNode): Field[] {
  const out: Field[] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const types = child.type === undefined ? [] : typeof child.type === 'string' ? [child.type] : child.type;
    out.push(
      new Field(
        key,
        child.properties === undefined ? null : fieldsOf(child),
        'default' in child,
        child.default,
        types.includes('null'),
      ),
    );
  }
  return out;
}

const PLANS = {} as Record<PayloadName, readonly Field[]>;
for (const name of Object.keys(schemas) as PayloadName[]) PLANS[name] = fieldsOf(schemas[name]);

function normaliseObject(
  fields: readonly Field[],
  obj: Record<string, unknown>,
  drop: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as Field;
    const key = f.key;
    if (key === drop) continue;
    const v = obj[key];
    if (v !== undefined) {
      out[key] =
        f.nested !== null && typeof v === 'object' && v !== null
          ? normaliseObject(f.nested, v as Record<string, unknown>, '')
          : v;
    } else if (f.hasDefault) {
      out[key] = f.defaultValue;
    } else if (f.nullable) {
      out[key] = null;
    }
  }
  return out;
}

/**
 * Copy of a payload that passed `validatePayload(name, …)`, normalised as described above;
 * `drop` (default `timestamp`) is the top-level property left out. Internal: used by decode.
 */
export function normaliseValidated(
  name: PayloadName,
  value: object,
  drop = 'timestamp',
): Record<string, unknown> {
  return normaliseObject(PLANS[name], value as Record<string, unknown>, drop);
}
