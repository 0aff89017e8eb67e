// Timing of a trip to one hub: drive, wait, charge and total minutes, the SoC on arrival and
// the energy still needed. The lower bounds of the pruning use the very same operations
// (monotone in each input), so a bound is never above the value it bounds, not even by
// rounding.
import type { Ctx } from './context';

export function waitMin(untilFreeMin: number, driveMin: number): number {
  return Math.max(0, untilFreeMin - driveMin);
}
export function chargeMin(needKwh: number, powerKw: number): number {
  return (needKwh / powerKw) * 60;
}
export function totalMin(driveMin: number, wait: number, charge: number): number {
  return driveMin + wait + charge;
}

export function driveMinOf(d: number, c: Ctx): number {
  return (d / c.cfg.averageSpeedKmh) * 60;
}
export function arrivalSocOf(d: number, c: Ctx): number {
  return c.q.battery - ((d * c.cfg.consumptionKwhPerKm) / c.q.capacityKwh) * 100;
}
export function needKwhOf(arrivalSoc: number, c: Ctx): number {
  return (Math.max(0, c.q.target - arrivalSoc) / 100) * c.q.capacityKwh;
}
