// JSON as the original API (FastAPI, Pydantic) writes it: a float prints as a float even when
// it is whole (`22.0`, which a client reading a Dart `double` needs), an int as an int, and
// datetimes as ISO-8601 UTC with microseconds only when they are not zero
// (`2026-01-15T10:31:07Z`, `2026-01-15T10:31:07.123000Z`).

/** A number the original declares as a float. */
export class Float {
  constructor(readonly value: number) {}
}

export const float = (v: number): Float => new Float(v);
export const floatOrNull = (v: number | null | undefined): Float | null =>
  typeof v === 'number' && Number.isFinite(v) ? new Float(v) : null;

/** A number as Python prints a float: always with a fraction or an exponent. */
function floatText(v: number): string {
  if (!Number.isFinite(v)) return 'null'; // JSON has no NaN/Infinity; Pydantic refuses them
  const s = Object.is(v, -0) ? '-0' : String(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** JSON text of a value built from plain data and Float. */
export function serialize(v: unknown): string {
  if (v instanceof Float) return floatText(v.value);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (v instanceof Date) return JSON.stringify(isoUtc(v));
  if (Array.isArray(v)) return `[${v.map(serialize).join(',')}]`;
  if (typeof v === 'object') {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x !== undefined) parts.push(`${JSON.stringify(k)}:${serialize(x)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return 'null';
}

/** ISO-8601 UTC, `Z`, microseconds only when not zero (as Pydantic prints an aware datetime). */
export function isoUtc(t: number | Date): string {
  const ms = t instanceof Date ? t.getTime() : t;
  const iso = new Date(Math.floor(ms)).toISOString(); // throws RangeError when invalid
  const frac = iso.slice(20, 23);
  return frac === '000' ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 19)}.${frac}000Z`;
}

export const isoOrNull = (t: number | Date | null | undefined): string | null =>
  t === null || t === undefined ? null : isoUtc(t);
