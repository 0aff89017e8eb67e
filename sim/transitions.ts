/** Pad and vehicle transitions: a vehicle connects, becomes full, leaves. */
import { emitPadStatus, emitRequest, emitVehicle } from './publish';
import { chargeThreshold } from './rules';
import type { FleetState, Pad, Vehicle } from './state';
import { round } from './util';

/** `v` connects to `pad` and charges; `publishRequest`: it sends its VehicleRequest. */
export function connect(s: FleetState, pad: Pad, v: Vehicle, t: number, publishRequest: boolean): void {
  pad.state = 'charging';
  pad.vehicle = v;
  pad.departAtMs = null;
  v.mode = 'charging';
  v.pad = pad;
  v.latitude = pad.hub.location.latitude;
  v.longitude = pad.hub.location.longitude;
  v.speedKmh = 0;
  s.stats.arrivals++;
  if (publishRequest) emitRequest(s, pad, v, t);
  emitPadStatus(s, pad, t);
  if (!v.guest) emitVehicle(s, v, t);
}

export function becomeFull(s: FleetState, pad: Pad, v: Vehicle, t: number): void {
  pad.state = 'full';
  pad.departAtMs = t + s.cfg.dwellAfterFullMs / s.cfg.speed;
  v.mode = 'full';
  s.stats.sessionsCompleted++;
  emitPadStatus(s, pad, t);
  if (!v.guest) emitVehicle(s, v, t);
}

/** The vehicle at `pad` leaves (the pad's state is the caller's). */
export function release(s: FleetState, pad: Pad, t: number): void {
  const v = pad.vehicle;
  pad.vehicle = null;
  pad.departAtMs = null;
  if (v === null) return;
  s.stats.departures++;
  v.pad = null;
  v.mode = 'driving';
  if (v.guest) {
    s.vehiclesById.delete(v.id);
    s.vehicles.splice(s.vehicles.indexOf(v), 1);
    return;
  }
  v.heading = s.rng.range(0, 2 * Math.PI);
  v.speedKmh = round(s.rng.range(30, 60), 1);
  v.chargeBelow = chargeThreshold(s.rng, v);
  emitVehicle(s, v, t);
}

/** The vehicle leaves after its dwell time; the pad goes idle. */
export function depart(s: FleetState, pad: Pad, t: number): void {
  release(s, pad, t);
  pad.state = 'idle';
  emitPadStatus(s, pad, t);
}
