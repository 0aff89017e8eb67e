// Vehicles: telemetry messages (position, motion, SoC). Profiles are operator commands (operator.ts).
import type { VehicleTelemetryMessage } from '../contract';
import { vehicleRefusal } from './bounds';
import type { TwinChange } from './changes';
import { geo, sameGeo } from './hubs';
import type { TwinState } from './state';
import { reportSoc } from './vehicle-soc';
import type { GeoPoint } from './view-types';
import { optNum } from './guards';

export function applyVehicleTelemetry(
  st: TwinState,
  msg: VehicleTelemetryMessage,
  nowMs: number,
  live: boolean,
  out: TwinChange[],
): void {
  const d = msg.data;
  const pos = geo(d.geo_location) as GeoPoint;
  const speed = optNum(d.speed_kmh);
  const temp = optNum(d.engine_temp_c);
  const charging = d.is_charging === true;
  const existing = st.vehicles.get(msg.vehicleId);
  if (!existing || st.config.registeredOnly) {
    const refused = vehicleRefusal(st, msg.vehicleId, existing);
    if (refused) throw refused;
  }
  if (existing && existing.telemetryTs !== null) {
    if (msg.ts < existing.telemetryTs) return; // out of order
    const same =
      sameGeo(existing.position, pos) &&
      existing.speedKmh === speed &&
      existing.engineTempC === temp &&
      existing.isCharging === charging &&
      existing.socReported === d.battery_level;
    if (msg.ts === existing.telemetryTs && same) return; // duplicate
  }
  const v = existing ?? st.ensureVehicle(msg.vehicleId, msg.ts, out);
  if (live) v.lastSeenMs = v.lastSeenMs === null ? nowMs : Math.max(v.lastSeenMs, nowMs);
  v.telemetryTs = msg.ts;
  v.position = pos;
  v.speedKmh = speed;
  v.engineTempC = temp;
  v.isCharging = charging;
  out.push({
    type: 'vehicle-telemetry',
    ts: msg.ts,
    vehicleId: v.vehicleId,
    position: pos,
    batteryLevel: d.battery_level,
    speedKmh: speed,
    engineTempC: temp,
    isCharging: charging,
  });
  reportSoc(st, v, d.battery_level, 'vehicle', msg.ts, out);
}
