/** How pads and vehicles behave at an instant: what a pad draws, when a vehicle wants to charge. */
import type { Prng } from './prng';
import type { Pad, Vehicle } from './state';

export const KM_PER_DEG_LAT = 111.32;
export const MIN_DRIVING_SOC = 3;
/** A vehicle comes to charge when its SoC falls below a threshold drawn from this range (%) per trip. */
export const CHARGE_BELOW_SOC: readonly [number, number] = [20, 70];

/** Share of its max power a vehicle accepts at a SoC: 1 up to 80 %, then linear down to 10 %. */
export function taper(socPct: number): number {
  return socPct < 80 ? 1 : Math.max(0.1, (100 - socPct) / 20);
}

/** Does the pad draw up to its max power whatever its limit? */
export function ignoresLimit(pad: Pad): boolean {
  return pad.ignoresLimit ?? pad.hub.device.ignoreLimit;
}

/** Share of its limit the pad draws while charging. */
export function drawFraction(pad: Pad): number {
  return pad.drawFraction ?? pad.hub.device.drawFraction;
}

/**
 * Power a pad draws now: min(min(limit in force, max power) × draw fraction, what the
 * vehicle accepts); a pad that ignores its limit takes its max power × draw fraction instead.
 */
export function drawOf(pad: Pad): number {
  const v = pad.vehicle;
  if (pad.state !== 'charging' || v === null) return 0;
  const accept = v.maxChargeKw * taper(v.soc);
  const f = drawFraction(pad);
  let cap = ignoresLimit(pad) ? pad.maxPowerKw : Math.min(pad.limitKw, pad.maxPowerKw);
  if (f !== 1) cap *= f;
  return Math.max(0, Math.min(cap, accept));
}

/** A new charge threshold for a vehicle's next trip (%). */
export function chargeThreshold(rng: Prng, v: Vehicle): number {
  return Math.min(rng.range(CHARGE_BELOW_SOC[0], CHARGE_BELOW_SOC[1]), v.targetSoc - 5);
}

/** A driving fleet vehicle that comes by itself and whose SoC fell below its threshold. */
export function needsCharge(v: Vehicle): boolean {
  return !v.guest && v.autoArrive && v.mode === 'driving' && v.soc < v.chargeBelow;
}

/** A vehicle `plugIn` may pick when nobody needs charge: driving, below its target, comes by itself. */
export function mayCharge(v: Vehicle): boolean {
  return !v.guest && v.autoArrive && v.mode === 'driving' && v.soc < v.targetSoc;
}
