/** Builds the fleet's hubs, pads and vehicles from its options (random where not given). */
import { buildTopic } from '../core/contract';
import {
  DEFAULT_DEVICE,
  count,
  inRange,
  positive,
  resolveDevice,
  type FleetConfig,
  type NodeSpec,
} from './options';
import { chargeThreshold, KM_PER_DEG_LAT } from './rules';
import { sumOfLimits, type FleetState, type Hub, type Pad, type Vehicle } from './state';
import { padIndex, round } from './util';

/** A point uniformly distributed within `radiusKm` of the centre. */
function randomPoint(s: FleetState, radiusKm: number): { latitude: number; longitude: number } {
  const { center } = s.cfg;
  const r = radiusKm * Math.sqrt(s.rng.next());
  const a = s.rng.range(0, 2 * Math.PI);
  const kmPerDegLon = KM_PER_DEG_LAT * Math.cos((center.latitude * Math.PI) / 180);
  return {
    latitude: round(center.latitude + (r * Math.cos(a)) / KM_PER_DEG_LAT, 6),
    longitude: round(center.longitude + (r * Math.sin(a)) / kmPerDegLon, 6),
  };
}

function buildHubs(s: FleetState, cfg: FleetConfig): void {
  const fleetDevice = resolveDevice(DEFAULT_DEVICE, cfg.device);
  cfg.hubSpecs.forEach((spec, hi) => {
    const id = spec.id ?? `${cfg.idPrefix}hub_${padIndex(hi + 1, cfg.hubSpecs.length)}`;
    if (s.hubsById.has(id)) throw new RangeError(`duplicate hub id '${id}'`);
    buildTopic('hubInfo', { hubId: id }); // throws on an id that cannot be a topic level
    const nodeSpecs: readonly NodeSpec[] =
      typeof spec.nodes === 'object'
        ? spec.nodes
        : Array.from({ length: count('nodes', spec.nodes ?? cfg.nodesPerHub, 1) }, () => ({}));
    const location = spec.location
      ? {
          latitude: inRange('latitude', spec.location.latitude, -90, 90),
          longitude: inRange('longitude', spec.location.longitude, -180, 180),
          altitude: spec.location.altitude ?? 50,
        }
      : { ...randomPoint(s, cfg.spreadKm), altitude: 50 };
    const hub: Hub = {
      id,
      location,
      capacityKw: 0,
      ipAddress: spec.ipAddress ?? `10.0.${Math.floor(hi / 250)}.${(hi % 250) + 1}`,
      firmwareVersion: spec.firmwareVersion ?? '1.0.0',
      mode: 'online',
      device: resolveDevice(fleetDevice, spec.device, `hubs[${hi}].device`),
      pads: [],
      byId: new Map(),
      nextArrivalMs: Infinity,
      nextStatusMs: Infinity,
      peakSumKw: 0,
    };
    nodeSpecs.forEach((ns, ni) => {
      const nodeId = ns.id ?? `node_${padIndex(ni + 1, nodeSpecs.length)}`;
      if (hub.byId.has(nodeId)) throw new RangeError(`duplicate node id '${nodeId}' in hub '${id}'`);
      buildTopic('nodeInfo', { hubId: id, nodeId });
      const maxPowerKw = inRange(
        'maxPowerKw',
        ns.maxPowerKw ?? (cfg.maxPowers[ni % cfg.maxPowers.length] as number),
        0,
        350,
      );
      const bootLimitKw = inRange(
        'initialLimitKw',
        spec.initialLimitKw ?? cfg.initialLimitKw ?? maxPowerKw,
        0,
        350,
      );
      const pad: Pad = {
        hub,
        id: nodeId,
        name: ns.name ?? null,
        maxPowerKw,
        bootLimitKw,
        limitKw: bootLimitKw,
        state: 'idle',
        vehicle: null,
        errorCode: 0,
        ignoresLimit: null,
        drawFraction: null,
        departAtMs: null,
      };
      hub.pads.push(pad);
      hub.byId.set(nodeId, pad);
    });
    const total = hub.pads.reduce((sum, p) => sum + p.maxPowerKw, 0);
    hub.capacityKw = inRange(
      'capacityKw',
      spec.capacityKw ?? cfg.hubCapacityKw ?? Math.min(1000, Math.round(total * 0.6)),
      0,
      1000,
    );
    hub.peakSumKw = sumOfLimits(hub);
    s.hubs.push(hub);
    s.hubsById.set(id, hub);
  });
}

function buildVehicles(s: FleetState, cfg: FleetConfig): void {
  const { rng } = s;
  const [tMin, tMax] = cfg.targetSoc;
  const [sMin, sMax] = cfg.initialSoc;
  const n = cfg.vehicleSpecs.length;
  cfg.vehicleSpecs.forEach((spec, i) => {
    const id = spec.id ?? `${cfg.idPrefix}vehicle_${padIndex(i + 1, n)}`;
    if (s.vehiclesById.has(id)) throw new RangeError(`duplicate vehicle id '${id}'`);
    buildTopic('vehicleTelemetry', { vehicleId: id });
    // every draw is made even when the spec gives the value: the other vehicles stay the same
    const batteryKwh = positive('batteryKwh', rng.pick(cfg.batteries));
    const p = randomPoint(s, cfg.spreadKm + 2);
    const soc = round(rng.range(sMin, sMax), 1);
    const targetSoc = rng.int(Math.ceil(tMin), Math.floor(tMax));
    const priority = rng.chance(cfg.priorityShare);
    const battery = spec.batteryKwh === undefined ? batteryKwh : positive('batteryKwh', spec.batteryKwh);
    const v: Vehicle = {
      id,
      batteryKwh: battery,
      soc: spec.socPct === undefined ? soc : inRange(`vehicles[${i}].socPct`, spec.socPct, 0, 100),
      targetSoc:
        spec.targetSoc === undefined
          ? targetSoc
          : inRange(`vehicles[${i}].targetSoc`, spec.targetSoc, 1, 100),
      priority: spec.priority ?? priority,
      maxChargeKw: Math.min(250, battery * 2),
      latitude: p.latitude,
      longitude: p.longitude,
      altitude: 50,
      speedKmh: round(rng.range(20, 70), 1),
      heading: rng.range(0, 2 * Math.PI),
      mode: 'driving',
      pad: null,
      energyKwh: 0,
      guest: false,
      autoArrive: spec.autoArrive ?? true,
      chargeBelow: 0,
    };
    v.chargeBelow = chargeThreshold(rng, v);
    s.vehicles.push(v);
    s.vehiclesById.set(id, v);
  });
}

/** Fills `s` with the fleet of its config; throws a RangeError naming a bad spec. */
export function buildFleet(s: FleetState): void {
  buildHubs(s, s.cfg);
  buildVehicles(s, s.cfg);
}
