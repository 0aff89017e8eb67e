/**
 * Type-level mapper from the JSON Schema literals of `schemas.ts` to TypeScript types.
 *
 * Handles only the subset the contract uses: `type` (one name or an array of names),
 * `enum`, `object` with `properties` / `required` (nested objects included). Every other
 * keyword (ranges, lengths, formats, patterns, `anyOf` of formats, annotations) narrows
 * values but not their TypeScript type and is ignored here.
 */

/** Flattens an intersection into one object type (for readable hover types). */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

type PrimitiveOf<T> = T extends 'string'
  ? string
  : T extends 'number' | 'integer'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : never;

type RequiredKeysOf<S> = S extends { required: readonly (infer R)[] } ? R : never;

type ObjectFrom<P, R> = Simplify<
  { -readonly [K in keyof P as K extends R ? K : never]: FromSchema<P[K]> } & {
    -readonly [K in keyof P as K extends R ? never : K]?: FromSchema<P[K]>;
  }
>;

/** The TypeScript type of the values a schema (of the supported subset) accepts. */
export type FromSchema<S> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { type: 'object'; properties: infer P }
    ? ObjectFrom<P, RequiredKeysOf<S>>
    : S extends { type: readonly (infer T)[] }
      ? PrimitiveOf<T>
      : S extends { type: infer T }
        ? PrimitiveOf<T>
        : unknown;

/** Keys of `properties` whose schema has a `default`. */
export type DefaultedKeys<P> = { [K in keyof P]-?: P[K] extends { default: unknown } ? K : never }[keyof P];

/** Keys of `properties` whose schema admits `null`. */
export type NullableKeys<P> = {
  [K in keyof P]-?: P[K] extends { type: readonly (infer T)[] } ? ('null' extends T ? K : never) : never;
}[keyof P];

type NormalisedValue<S> = S extends { type: 'object'; properties: unknown }
  ? NormalisedFromSchema<S>
  : FromSchema<S>;

/**
 * The shape of a payload after `decode` normalised it: the property named `Drop`
 * (the `timestamp`, which becomes the message's `ts`) removed; properties with a
 * `default` and nullable optional properties always present (missing → default / null);
 * other optional properties stay optional. Applies recursively to nested objects.
 */
export type NormalisedFromSchema<S, Drop extends PropertyKey = never> = S extends {
  type: 'object';
  properties: infer P;
}
  ? Simplify<
      {
        -readonly [
          K in keyof P as K extends Drop
            ? never
            : K extends RequiredKeysOf<S> | DefaultedKeys<P> | NullableKeys<P>
              ? K
              : never
        ]-?: NormalisedValue<P[K]>;
      } & {
        -readonly [
          K in keyof P as K extends Drop
            ? never
            : K extends RequiredKeysOf<S> | DefaultedKeys<P> | NullableKeys<P>
              ? never
              : K
        ]?: NormalisedValue<P[K]>;
      }
    >
  : FromSchema<S>;
