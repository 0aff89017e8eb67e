/** Vehicles arriving at hubs: Poisson arrivals, and arrivals asked for (plugIn, the script). */
import { mayCharge, needsCharge } from './rules';
import { padOf, vehicleOf, type FleetState, type Hub, type Pad, type Vehicle } from './state';
import { connect } from './transitions';

/** Time to the next Poisson arrival at a hub (wall ms); Infinity when arrivals are off. */
export function interArrivalMs(s: FleetState): number {
  if (s.cfg.arrivalsPerHour === 0) return Infinity;
  return s.rng.exponential(3_600_000 / s.cfg.arrivalsPerHour) / s.cfg.speed;
}

/** A Poisson arrival: a vehicle in need of charge at a random idle pad of the hub, if any. */
export function poissonArrival(s: FleetState, hub: Hub, t: number): void {
  if (hub.mode !== 'online') {
    s.stats.missedArrivals++;
    return;
  }
  const free = hub.pads.filter((p) => p.state === 'idle');
  const needy = s.vehicles.filter((v) => needsCharge(v));
  if (free.length === 0 || needy.length === 0) {
    s.stats.missedArrivals++;
    return;
  }
  connect(s, s.rng.pick(free), s.rng.pick(needy), t, true);
}

/** The driving vehicle with the lowest SoC below its target that comes by itself. */
function lowestSoc(s: FleetState): Vehicle | undefined {
  let v: Vehicle | undefined;
  for (const x of s.vehicles) {
    if (!mayCharge(x)) continue;
    if (!v || x.soc < v.soc) v = x;
  }
  return v;
}

/**
 * A vehicle arrives at `hub` now and publishes its VehicleRequest. Defaults: the first idle
 * pad; the first driving vehicle below its charge threshold, else the driving vehicle with
 * the lowest SoC below its target. Null when no pad or vehicle fits.
 */
export function arrive(
  s: FleetState,
  hub: Hub,
  opts: { nodeId?: string; vehicleId?: string },
  t: number,
): { hubId: string; nodeId: string; vehicleId: string } | null {
  if (hub.mode !== 'online') return null;
  const pad: Pad | undefined =
    opts.nodeId !== undefined ? padOf(s, hub.id, opts.nodeId) : hub.pads.find((p) => p.state === 'idle');
  if (!pad || pad.state !== 'idle') return null;
  let v: Vehicle | undefined;
  if (opts.vehicleId !== undefined) {
    v = vehicleOf(s, opts.vehicleId);
    if (v.mode !== 'driving') return null;
  } else {
    // nobody below its threshold: the driving vehicle with the lowest SoC below its target
    v = s.vehicles.find((x) => needsCharge(x)) ?? lowestSoc(s);
  }
  if (!v) return null;
  connect(s, pad, v, t, true);
  return { hubId: hub.id, nodeId: pad.id, vehicleId: v.id };
}
