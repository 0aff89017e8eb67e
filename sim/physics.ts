/** Time integration of the fleet: energy into charging vehicles, driving and its consumption. */
import { KM_PER_DEG_LAT, MIN_DRIVING_SOC, drawOf } from './rules';
import type { FleetState, Vehicle } from './state';
import { becomeFull } from './transitions';
import { clamp, round } from './util';

/** Integrate every vehicle from `t0` to `t1` (wall ms); a vehicle reaching its target becomes full. */
export function integrate(s: FleetState, t0: number, t1: number): void {
  const simHours = ((t1 - t0) * s.cfg.speed) / 3_600_000;
  if (simHours <= 0) return;
  for (const v of s.vehicles) {
    if (v.mode === 'driving') {
      if (!v.guest) drive(s, v, simHours);
      continue;
    }
    const pad = v.pad;
    if (v.mode !== 'charging' || pad === null) continue;
    const kw = drawOf(pad);
    if (kw <= 0) continue;
    const dSoc = ((kw * simHours) / v.batteryKwh) * 100;
    if (v.soc + dSoc >= v.targetSoc) {
      const f = Math.max(0, (v.targetSoc - v.soc) / dSoc);
      const e = kw * simHours * f;
      v.energyKwh += e;
      s.stats.energyDeliveredKwh += e;
      v.soc = Math.max(v.soc, v.targetSoc);
      becomeFull(s, pad, v, t0 + f * (t1 - t0));
    } else {
      const e = kw * simHours;
      v.energyKwh += e;
      s.stats.energyDeliveredKwh += e;
      v.soc += dSoc;
    }
  }
}

function drive(s: FleetState, v: Vehicle, simHours: number): void {
  const { rng, cfg } = s;
  if (rng.chance(Math.min(1, simHours * 60))) {
    // about once a simulated minute: a new heading and speed
    v.heading = rng.range(0, 2 * Math.PI);
    v.speedKmh = round(rng.range(20, 90), 1);
  }
  const km = v.speedKmh * simHours;
  const kmPerDegLon = KM_PER_DEG_LAT * Math.cos((v.latitude * Math.PI) / 180);
  v.latitude += (km * Math.cos(v.heading)) / KM_PER_DEG_LAT;
  v.longitude += (km * Math.sin(v.heading)) / kmPerDegLon;
  const dyKm = (v.latitude - cfg.center.latitude) * KM_PER_DEG_LAT;
  const dxKm = (v.longitude - cfg.center.longitude) * kmPerDegLon;
  if (Math.hypot(dxKm, dyKm) > cfg.spreadKm + 3) {
    // turn back towards the centre
    v.heading = Math.atan2(-dxKm, -dyKm);
  }
  v.latitude = clamp(v.latitude, -90, 90);
  v.longitude = clamp(v.longitude, -180, 180);
  v.soc = Math.max(MIN_DRIVING_SOC, v.soc - ((km * cfg.consumptionKwhPerKm) / v.batteryKwh) * 100);
}
