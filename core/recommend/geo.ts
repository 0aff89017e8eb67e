// Reachability: great-circle distance and the vehicle's remaining range.
import type { RecConfig } from './types';

/** Mean Earth radius (IUGG), km. */
export const EARTH_RADIUS_KM = 6371.0088;

const DEG = Math.PI / 180;

/** Great-circle distance in km (haversine, Earth radius 6371.0088 km). */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * DEG;
  const dLon = (lon2 - lon1) * DEG;
  const s1 = Math.sin(dLat / 2);
  const s2 = Math.sin(dLon / 2);
  const a = s1 * s1 + Math.cos(lat1 * DEG) * Math.cos(lat2 * DEG) * s2 * s2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Remaining range in km with the safety margin applied. */
export function rangeKm(batteryLevel: number, capacityKwh: number, cfg: RecConfig): number {
  const margin = Math.min(1, Math.max(0, cfg.safetyMargin));
  return (((batteryLevel / 100) * capacityKwh) / cfg.consumptionKwhPerKm) * (1 - margin);
}
