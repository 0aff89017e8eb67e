// Numbers and names as people and the REST API read them: snake_case keys, kW and kWh to 0.001,
// percentages to 0.1, times as ISO-8601. One place for the rule, used by the REST views, the
// live feed and the dashboard.

/** kW and kWh: 0.001. */
export function kw(v: number): number {
  return Math.round(v * 1000) / 1000;
}
export const kwh = kw;
/** Percentages (SoC, utilisation in %): 0.1. */
export function pct(v: number): number {
  return Math.round(v * 10) / 10;
}

/** camelCase → snake_case (`maxGridCapacityKw` → `max_grid_capacity_kw`). */
export function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The rounding of a value by its (camelCase) name: …Kw/…Kwh → 0.001, soc… → 0.1. */
function roundByName(key: string, v: number): number {
  if (/(Kw|Kwh)$/.test(key)) return kw(v);
  if (/^soc$|Soc$|^socReported$/.test(key)) return pct(v);
  return v;
}

/** The name of a time key for people: `ts` → timestamp, `startTs` → start_time, `lastSeenMs` → last_seen. */
function timeKey(key: string): string | null {
  if (key === 'ts') return 'timestamp';
  if (key.endsWith('Ts')) return snake(key.slice(0, -2)) + '_time';
  if (key.endsWith('Ms')) return snake(key.slice(0, -2));
  return null;
}

/**
 * A plain object (a twin change or view) as JSON for people: snake_case keys at every level,
 * numbers rounded by their names, epoch-ms times (`ts`, `…Ts`, `…Ms`) as ISO-8601 strings.
 */
export function toPeopleJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => toPeopleJson(x));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const t = timeKey(k);
    if (t !== null && (typeof x === 'number' || x === null)) {
      out[t] = typeof x === 'number' && Number.isFinite(x) ? new Date(x).toISOString() : null;
    } else if (typeof x === 'number' && Number.isFinite(x)) {
      out[snake(k)] = roundByName(k, x);
    } else {
      out[snake(k)] = toPeopleJson(x);
    }
  }
  return out;
}
