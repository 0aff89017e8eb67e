// State of charge: classification with hysteresis and estimation between reports.
// Pure functions, no clock.

/** Allocation class of a vehicle (DESIGN.md: critical first, then normal). */
export type SocClass = 'critical' | 'normal';

/** Where a SoC value came from. */
export type SocSource = 'vehicle' | 'node' | 'request' | 'estimate';

export interface SocClassOptions {
  /** A vehicle becomes critical below this SoC (percent). */
  readonly criticalSoc: number;
  /** A critical vehicle becomes normal again only at SoC ≥ criticalSoc + hysteresis. */
  readonly hysteresis: number;
}

export const DEFAULT_CRITICAL_SOC = 20;
export const DEFAULT_SOC_HYSTERESIS = 2;
export const DEFAULT_BATTERY_KWH = 60;

/**
 * Class of a vehicle. Priority vehicles are always critical. Otherwise a vehicle is
 * critical below `criticalSoc`; once critical it stays critical until its SoC reaches
 * `criticalSoc + hysteresis` (no flapping around the threshold). An unknown SoC keeps
 * the previous class (normal when there is none).
 */
export function classify(
  soc: number | null,
  priority: boolean,
  previous: SocClass | null | undefined,
  options: SocClassOptions,
): SocClass {
  if (priority) return 'critical';
  if (soc === null || !Number.isFinite(soc)) return previous ?? 'normal';
  if (previous === 'critical') {
    return soc < options.criticalSoc + Math.max(0, options.hysteresis) ? 'critical' : 'normal';
  }
  return soc < options.criticalSoc ? 'critical' : 'normal';
}

/**
 * SoC estimated from the last reported value plus the energy delivered since then
 * (kWh) over the battery capacity (kWh). Capped to 0..100. An unusable capacity
 * (≤ 0, not finite) or energy (not finite) gives back the reported value.
 */
export function estimateSoc(lastSoc: number, energyKwhSince: number, batteryKwh: number): number {
  const base = clampSoc(lastSoc);
  if (!Number.isFinite(batteryKwh) || batteryKwh <= 0 || !Number.isFinite(energyKwhSince)) return base;
  return clampSoc(base + (energyKwhSince / batteryKwh) * 100);
}

/** Energy (kWh) of one trapezoid between two power samples (kW) at t0Ms and t1Ms. */
export function trapezoidKwh(p0Kw: number, p1Kw: number, t0Ms: number, t1Ms: number): number {
  if (t1Ms <= t0Ms) return 0;
  return (((p0Kw + p1Kw) / 2) * (t1Ms - t0Ms)) / 3_600_000;
}

function clampSoc(v: number): number {
  if (!Number.isFinite(v)) return 0;
  return v < 0 ? 0 : v > 100 ? 100 : v;
}
