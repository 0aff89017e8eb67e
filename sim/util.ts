/** Small number helpers of the simulator. */

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** `i` zero-padded to at least 2 digits and to the width of `count` (`node_01`, `vehicle_007`). */
export function padIndex(i: number, count: number): string {
  return String(i).padStart(Math.max(2, String(count).length), '0');
}
