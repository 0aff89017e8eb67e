/**
 * Wire resolution of power limits. A limit goes on the wire as a decimal with at most three
 * places (0.001 kW) and the hub echoes it in telemetry; so the DLM plans with limits that are
 * already at that resolution, rounded **down**: what is counted is exactly what is sent, an
 * echo of it confirms it, and Σ limits never rounds up past the capacity.
 *
 * A value at the resolution is the double nearest to k / 1000 for an integer k — the same
 * double `JSON.parse` gives for the decimal text — so it survives a JSON round trip exactly.
 */

/** Resolution of the limits the DLM sends (kW), also the tolerance of a confirmation. */
export const WIRE_RESOLUTION_KW = 0.001;

/** Number of resolution steps of the largest multiple of `res` that is ≤ x (0 for x ≤ 0 or non-finite). */
export function stepsDown(x: number, res: number): number {
  if (!(Number.isFinite(x) && x > 0) || !(res > 0)) return 0;
  const inv = Math.round(1 / res);
  return inv * res === 1 ? stepsOf(x, inv) : Math.floor(x / res);
}

/** stepsDown for res = 1 / inv: k such that k / inv is the largest such decimal ≤ x (x > 0). */
function stepsOf(x: number, inv: number): number {
  let k = Math.round(x * inv);
  while (k > 0 && k / inv > x) k -= 1;
  return k;
}

/** The value of k steps of `res` (for res = 10^-n, k / 10^n: the double nearest to the decimal). */
export function toKw(k: number, res: number): number {
  const inv = Math.round(1 / res);
  return inv * res === 1 ? k / inv : k * res;
}

/** Largest multiple of `res` that is ≤ x; 0 for negative / non-finite values. */
export function floorToResolution(x: number, res = WIRE_RESOLUTION_KW): number {
  if (!(res > 0)) return Number.isFinite(x) && x > 0 ? x : 0;
  return toKw(stepsDown(x, res), res);
}

/**
 * Rounds every limit down to the resolution, then gives the steps lost by rounding back — one
 * step at a time to the nodes that got power and can take more, critical ones first, then in
 * input order — so that Σ = min(⌊capacity⌋, Σ ⌊demand⌋) whenever the exact allocation used all
 * of one of them. Works in integer steps: Σ never exceeds ⌊capacity⌋. Writes into `limits`.
 */
export function quantizeLimits(
  limits: Float64Array,
  demands: ArrayLike<number>,
  critical: ArrayLike<boolean>,
  capacityKw: number,
  res: number,
): void {
  const n = limits.length;
  const steps = new Float64Array(n);
  const room = new Float64Array(n);
  let used = 0;
  let exact = 0;
  let rooms = 0;
  for (let i = 0; i < n; i++) {
    const x = limits[i] as number;
    const s = stepsDown(x, res);
    steps[i] = s;
    used += s;
    if (x > 0) {
      exact += x;
      const r = Math.max(0, stepsDown(demands[i] as number, res) - s);
      room[i] = r;
      rooms += r;
    }
  }
  // Steps the exact allocation used beyond the rounded one, never past ⌊capacity⌋.
  let left = Math.min(stepsDown(capacityKw, res), stepsDown(exact + res / 2, res), used + rooms) - used;
  while (left > 0) {
    for (const pass of [true, false]) {
      for (let i = 0; i < n && left > 0; i++) {
        if ((room[i] as number) > 0 && (critical[i] as boolean) === pass) {
          steps[i] = (steps[i] as number) + 1;
          room[i] = (room[i] as number) - 1;
          left -= 1;
        }
      }
    }
  }
  for (let i = 0; i < n; i++) limits[i] = toKw(steps[i] as number, res);
}
