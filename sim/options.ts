/**
 * Options of the fleet simulator, their defaults and their checks. `resolveOptions` turns
 * FleetOptions into a FleetConfig with every default filled in, or throws a RangeError that
 * names the option. Hub, node and vehicle specs are checked where they are built (build.ts).
 */

export interface LatLon {
  latitude: number;
  longitude: number;
  altitude?: number;
}

/** How a hub applies a limit: to `decimals` decimals, rounded to the nearest, up or down. */
export interface LimitRounding {
  /** 0..6 */
  decimals: number;
  /** Default 'nearest'. */
  mode?: 'nearest' | 'up' | 'down';
}

/**
 * How a hub behaves as a device. Every field has a default that is the behaviour of the
 * original simulator (exact limits, echo in the periodic telemetry only, draws its limit).
 */
export interface DeviceBehaviour {
  /** The hub applies (and so echoes) limits at this resolution; null: exactly as sent. Default null. */
  limitRounding?: LimitRounding | null;
  /**
   * After applying a DLM event the hub publishes that pad's telemetry (`power_limit_kw` = the
   * limit it applied) this many ms later; null: only in the periodic telemetry. Default null.
   */
  echoDelayMs?: number | null;
  /** Share of its limit a charging pad draws, 0..1 (e.g. 0.6, 0.97). Default 1. */
  drawFraction?: number;
  /** Pads draw up to their max power whatever their limit (they still echo it). Default false. */
  ignoreLimit?: boolean;
  /** The hub drops DLM events: its limits stay as they are (a hub that ignores commands). Default false. */
  ignoreEvents?: boolean;
  /**
   * MQTT session of the hub's client (runner, one client per hub): 'clean' loses what is
   * published to it while it is disconnected; 'persistent' (fixed client id, clean: false,
   * QoS 1) gets it from the broker when it reconnects. Read whenever the runner connects the
   * hub (start, after a drop or a restart); the broker keeps messages only for a session that
   * was already persistent when the connection dropped. Default 'clean'.
   */
  session?: 'clean' | 'persistent';
  /** On reconnecting after a drop the hub republishes its status (retained `online`). Default true. */
  announceOnReconnect?: boolean;
}

/** DeviceBehaviour with every field set. */
export interface HubDevice {
  limitRounding: Required<LimitRounding> | null;
  echoDelayMs: number | null;
  drawFraction: number;
  ignoreLimit: boolean;
  ignoreEvents: boolean;
  session: 'clean' | 'persistent';
  announceOnReconnect: boolean;
}

export interface NodeSpec {
  /** Default `node_01`, `node_02`, … (unique inside the hub). */
  id?: string;
  name?: string | null;
  /** 0..350, default `FleetOptions.nodeMaxPowerKw`. */
  maxPowerKw?: number;
}

export interface HubSpec {
  /** Default `{idPrefix}hub_01`, … */
  id?: string;
  /** Default: random within `spreadKm` of `center`. */
  location?: LatLon;
  /** 0..1000, default `FleetOptions.hubCapacityKw`, else 60 % of the nodes' total (max 1000). */
  capacityKw?: number;
  /** Count or specs, default `FleetOptions.nodesPerHub`. */
  nodes?: number | readonly NodeSpec[];
  ipAddress?: string;
  firmwareVersion?: string;
  /** Limit in force at every pad on boot (kW); default `FleetOptions.initialLimitKw`, else the pad's max power. */
  initialLimitKw?: number;
  /** This hub's behaviour, field by field over `FleetOptions.device`. */
  device?: DeviceBehaviour;
}

export interface VehicleSpec {
  /** Default `{idPrefix}vehicle_01`, … */
  id?: string;
  /** Default: one of `FleetOptions.batteryKwh`. */
  batteryKwh?: number;
  /** Initial SoC (%), default within `FleetOptions.initialSoc`. */
  socPct?: number;
  /** Target SoC (integer %), default within `FleetOptions.targetSoc`. */
  targetSoc?: number;
  /** Default: drawn with `FleetOptions.priorityShare`. */
  priority?: boolean;
  /** Comes to charge by itself; false: only by `plugIn` or a script step naming it. Default true. */
  autoArrive?: boolean;
}

/**
 * A scripted event at `atMs` after the fleet's start (the first `step`), run in order with
 * the fleet's own events (departures before, Poisson arrivals after).
 * - `plugIn`: a vehicle arrives (default: the first idle pad; the vehicle named, or the one
 *   `plugIn` would pick) and publishes its VehicleRequest;
 * - `capacity`: the hub's grid capacity changes (info republished);
 * - `fault` / `clearFault`: a pad faults / is repaired.
 */
export type ScriptStep =
  | { atMs: number; action: 'plugIn'; hubId: string; nodeId?: string; vehicleId?: string }
  | { atMs: number; action: 'capacity'; hubId: string; kw: number }
  | { atMs: number; action: 'fault'; hubId: string; nodeId: string; errorCode?: number }
  | { atMs: number; action: 'clearFault'; hubId: string; nodeId: string };

export interface FleetOptions {
  /** PRNG seed, default 1. */
  seed?: number;
  /** Number of hubs or their specs, default 1. */
  hubs?: number | readonly HubSpec[];
  /** Nodes per generated hub, default 4. */
  nodesPerHub?: number;
  /** Fleet size or the vehicles' specs (vehicles that drive around and come to charge), default 10. */
  vehicles?: number | readonly VehicleSpec[];
  /** Prefix of generated hub and vehicle ids (node ids are only unique per hub), default ''. */
  idPrefix?: string;
  /** Centre of the area, default Modena (44.6469, 10.9252). */
  center?: LatLon;
  /** Hubs are placed, and vehicles drive, within about this distance of the centre (km), default 5. */
  spreadKm?: number;
  /** Node max power (kW); an array is cycled over the nodes of a hub. Default 78. */
  nodeMaxPowerKw?: number | readonly number[];
  /** Capacity of generated hubs (kW); default 60 % of the sum of their nodes' max power. */
  hubCapacityKw?: number;
  /** Limit in force at every node on start (and after a restart); default the node's max power. */
  initialLimitKw?: number;
  /** Node telemetry period (wall ms), default 2000. */
  telemetryPeriodMs?: number;
  /** Vehicle telemetry period (wall ms), default 5000. */
  vehicleTelemetryPeriodMs?: number;
  /** Hub status heartbeat period (wall ms), default 30000. */
  hubStatusPeriodMs?: number;
  /** Poisson arrival rate per hub (vehicles per simulated hour); 0 = only explicit `plugIn`. Default 12. */
  arrivalsPerHour?: number;
  /** Poisson arrivals begin this long after the start (wall ms), e.g. after a script's opening; default 0. */
  firstArrivalAfterMs?: number;
  /** Fleet time multiplier (charging, driving, arrivals, dwell), default 1. */
  speed?: number;
  /** How long a full vehicle stays connected before it leaves (simulated ms), default 60000. */
  dwellAfterFullMs?: number;
  /** Share of vehicles with the priority flag, default 0.1. */
  priorityShare?: number;
  /** Battery sizes to draw from (kWh), default [40, 60, 75, 100]. */
  batteryKwh?: readonly number[];
  /** Target SoC range `[min, max]` (integer %), default [80, 90]. */
  targetSoc?: readonly [number, number];
  /** Initial SoC range `[min, max]` (%), default [10, 70]. */
  initialSoc?: readonly [number, number];
  /** What a driving vehicle uses (kWh per km), default 0.18 (a car; a van uses more). */
  consumptionKwhPerKm?: number;
  /** Reported `power_kw` jitter amplitude (± kW) while drawing, like the real devices; default 0 (off). */
  noiseKw?: number;
  /** Behaviour of every hub as a device (per hub: `HubSpec.device`). */
  device?: DeviceBehaviour;
  /** Scripted events (e.g. the demo's), in wall ms after the start. */
  script?: readonly ScriptStep[];
}

/** FleetOptions with the defaults filled in and the fleet-wide values checked. */
export interface FleetConfig {
  seed: number;
  telemetryPeriodMs: number;
  vehicleTelemetryPeriodMs: number;
  hubStatusPeriodMs: number;
  arrivalsPerHour: number;
  firstArrivalAfterMs: number;
  speed: number;
  dwellAfterFullMs: number;
  noiseKw: number;
  consumptionKwhPerKm: number;
  spreadKm: number;
  center: { latitude: number; longitude: number };
  idPrefix: string;
  maxPowers: readonly number[];
  nodesPerHub: number;
  hubSpecs: readonly HubSpec[];
  hubCapacityKw: number | undefined;
  initialLimitKw: number | undefined;
  batteries: readonly number[];
  targetSoc: readonly [number, number];
  initialSoc: readonly [number, number];
  priorityShare: number;
  vehicleSpecs: readonly VehicleSpec[];
  device: DeviceBehaviour;
  script: readonly ScriptStep[];
}

export function positive(name: string, v: number, allowZero = false): number {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new RangeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${v}`);
  }
  return v;
}

export function inRange(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isFinite(v) || v < lo || v > hi) throw new RangeError(`${name} must be ${lo}..${hi}, got ${v}`);
  return v;
}

export function count(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

export const DEFAULT_DEVICE: Readonly<HubDevice> = Object.freeze({
  limitRounding: null,
  echoDelayMs: null,
  drawFraction: 1,
  ignoreLimit: false,
  ignoreEvents: false,
  session: 'clean',
  announceOnReconnect: true,
});

/** `patch` over `base`, checked (a RangeError names the field). */
export function resolveDevice(
  base: HubDevice,
  patch: DeviceBehaviour | undefined,
  where = 'device',
): HubDevice {
  const d: HubDevice = { ...base };
  if (!patch) return d;
  if (patch.limitRounding !== undefined) {
    const r = patch.limitRounding;
    if (r === null) d.limitRounding = null;
    else {
      const mode = r.mode ?? 'nearest';
      if (mode !== 'nearest' && mode !== 'up' && mode !== 'down') {
        throw new RangeError(`${where}.limitRounding.mode must be nearest, up or down, got ${String(mode)}`);
      }
      d.limitRounding = { decimals: count(`${where}.limitRounding.decimals`, r.decimals, 0), mode };
      inRange(`${where}.limitRounding.decimals`, r.decimals, 0, 6);
    }
  }
  if (patch.echoDelayMs !== undefined) {
    d.echoDelayMs =
      patch.echoDelayMs === null ? null : positive(`${where}.echoDelayMs`, patch.echoDelayMs, true);
  }
  if (patch.drawFraction !== undefined)
    d.drawFraction = inRange(`${where}.drawFraction`, patch.drawFraction, 0, 1);
  if (patch.ignoreLimit !== undefined) d.ignoreLimit = patch.ignoreLimit === true;
  if (patch.ignoreEvents !== undefined) d.ignoreEvents = patch.ignoreEvents === true;
  if (patch.session !== undefined) {
    if (patch.session !== 'clean' && patch.session !== 'persistent') {
      throw new RangeError(`${where}.session must be clean or persistent, got ${String(patch.session)}`);
    }
    d.session = patch.session;
  }
  if (patch.announceOnReconnect !== undefined) d.announceOnReconnect = patch.announceOnReconnect === true;
  return d;
}

function checkScript(script: readonly ScriptStep[]): ScriptStep[] {
  const steps = script.map((s, i) => {
    positive(`script[${i}].atMs`, s.atMs, true);
    if (!['plugIn', 'capacity', 'fault', 'clearFault'].includes(s.action)) {
      throw new RangeError(`script[${i}].action must be plugIn, capacity, fault or clearFault`);
    }
    if (s.action === 'capacity') inRange(`script[${i}].kw`, s.kw, 0, 1000);
    return s;
  });
  // stable: steps at the same time run in the order given
  return steps
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.atMs - b.s.atMs || a.i - b.i)
    .map((x) => x.s);
}

export function resolveOptions(opts: FleetOptions): FleetConfig {
  const c = opts.center ?? { latitude: 44.6469, longitude: 10.9252 };
  const config: FleetConfig = {
    seed: opts.seed ?? 1,
    telemetryPeriodMs: positive('telemetryPeriodMs', opts.telemetryPeriodMs ?? 2000),
    vehicleTelemetryPeriodMs: positive('vehicleTelemetryPeriodMs', opts.vehicleTelemetryPeriodMs ?? 5000),
    hubStatusPeriodMs: positive('hubStatusPeriodMs', opts.hubStatusPeriodMs ?? 30000),
    arrivalsPerHour: positive('arrivalsPerHour', opts.arrivalsPerHour ?? 12, true),
    firstArrivalAfterMs: positive('firstArrivalAfterMs', opts.firstArrivalAfterMs ?? 0, true),
    speed: positive('speed', opts.speed ?? 1),
    dwellAfterFullMs: positive('dwellAfterFullMs', opts.dwellAfterFullMs ?? 60000, true),
    noiseKw: positive('noiseKw', opts.noiseKw ?? 0, true),
    consumptionKwhPerKm: positive('consumptionKwhPerKm', opts.consumptionKwhPerKm ?? 0.18),
    spreadKm: positive('spreadKm', opts.spreadKm ?? 5, true),
    center: {
      latitude: inRange('center.latitude', c.latitude, -85, 85),
      longitude: inRange('center.longitude', c.longitude, -180, 180),
    },
    idPrefix: opts.idPrefix ?? '',
    maxPowers:
      typeof opts.nodeMaxPowerKw === 'number' || opts.nodeMaxPowerKw === undefined
        ? [opts.nodeMaxPowerKw ?? 78]
        : opts.nodeMaxPowerKw,
    nodesPerHub: 0,
    hubSpecs: [],
    hubCapacityKw: opts.hubCapacityKw,
    initialLimitKw: opts.initialLimitKw,
    batteries: opts.batteryKwh ?? [40, 60, 75, 100],
    targetSoc: opts.targetSoc ?? [80, 90],
    initialSoc: opts.initialSoc ?? [10, 70],
    priorityShare: 0,
    vehicleSpecs: [],
    device: opts.device ?? {},
    script: checkScript(opts.script ?? []),
  };
  if (config.maxPowers.length === 0) throw new RangeError('nodeMaxPowerKw must not be empty');
  config.nodesPerHub = count('nodesPerHub', opts.nodesPerHub ?? 4, 1);
  config.hubSpecs =
    typeof opts.hubs === 'object'
      ? opts.hubs
      : Array.from({ length: count('hubs', opts.hubs ?? 1, 1) }, () => ({}));
  if (config.hubSpecs.length === 0) throw new RangeError('hubs must not be empty');
  if (config.batteries.length === 0) throw new RangeError('batteryKwh must not be empty');
  const [tMin, tMax] = config.targetSoc;
  const [sMin, sMax] = config.initialSoc;
  inRange('targetSoc', tMin, 1, 100);
  inRange('targetSoc', tMax, tMin, 100);
  inRange('initialSoc', sMin, 0, 100);
  inRange('initialSoc', sMax, sMin, 100);
  config.priorityShare = inRange('priorityShare', opts.priorityShare ?? 0.1, 0, 1);
  config.vehicleSpecs =
    typeof opts.vehicles === 'object'
      ? opts.vehicles
      : Array.from({ length: count('vehicles', opts.vehicles ?? 10, 0) }, () => ({}));
  resolveDevice(DEFAULT_DEVICE, config.device); // checked once here
  return config;
}
