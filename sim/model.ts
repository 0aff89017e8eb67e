/**
 * Fleet model of the simulator: hubs with charging nodes, and vehicles that drive, arrive,
 * charge and leave. Pure: no I/O, no timers, no clock, no Math.random — time is always a
 * parameter (`nowMs`, epoch ms) and randomness comes from a seeded PRNG, so the same seed
 * and the same calls give the same messages.
 *
 * It speaks CONTRACT.md like the original hub simulator:
 * - on start, per hub: `info` (retained), `status` (retained), then per node `info`
 *   (retained) and `status` (retained);
 * - node telemetry every `telemetryPeriodMs` per node (`connected_vehicle_id: "n/a"` and
 *   `current_vehicle_soc: 0` when no vehicle is connected), vehicle telemetry every
 *   `vehicleTelemetryPeriodMs`, hub status as a heartbeat every `hubStatusPeriodMs`;
 * - a vehicle arriving publishes a VehicleRequest (QoS 1) on `iot/hubs/{hub}/requests`,
 *   its node goes `charging`, at the target SoC `full`, and after `dwellAfterFullMs` the
 *   vehicle leaves and the node goes `idle`;
 * - `apply` takes inbound DLMNotifications (`new_limit` for `affected_node_id` becomes the
 *   node's limit in force, echoed by the next telemetry in `power_limit_kw`) and
 *   VehicleRequests sent by others (the app/cloud asking a node to charge a vehicle).
 *
 * Time: every time is wall-clock epoch ms, and so are the payload timestamps. `speed`
 * accelerates the fleet — energy, driving, arrivals and dwell run `speed` times faster —
 * but not the publishing cadence (telemetry stays every `telemetryPeriodMs` of wall time).
 */
import { buildTopic, decode, formatTimestamp } from '../core/contract';
import type {
  HubInfo,
  HubStatus,
  NodeInfo,
  NodeStatus,
  NodeTelemetry,
  VehicleRequest,
  VehicleTelemetry,
} from '../core/contract';
import { mulberry32, type Prng } from './prng';

// ---------------------------------------------------------------------------------------
// Public types

/** Every payload the model publishes (wire types of core/contract). */
export type SimPayload =
  HubInfo | HubStatus | NodeInfo | NodeStatus | NodeTelemetry | VehicleTelemetry | VehicleRequest;

/** One outgoing MQTT message. */
export interface SimMessage {
  topic: string;
  payload: SimPayload;
  retain: boolean;
  qos: 0 | 1;
}

export interface LatLon {
  latitude: number;
  longitude: number;
  altitude?: number;
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
}

export interface FleetOptions {
  /** PRNG seed, default 1. */
  seed?: number;
  /** Number of hubs or their specs, default 1. */
  hubs?: number | readonly HubSpec[];
  /** Nodes per generated hub, default 4. */
  nodesPerHub?: number;
  /** Fleet size (vehicles that drive around and come to charge), default 10. */
  vehicles?: number;
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
  /** Limit in force at every node on start; default the node's max power. */
  initialLimitKw?: number;
  /** Node telemetry period (wall ms), default 2000. */
  telemetryPeriodMs?: number;
  /** Vehicle telemetry period (wall ms), default 5000. */
  vehicleTelemetryPeriodMs?: number;
  /** Hub status heartbeat period (wall ms), default 30000. */
  hubStatusPeriodMs?: number;
  /** Poisson arrival rate per hub (vehicles per simulated hour); 0 = only explicit `plugIn`. Default 12. */
  arrivalsPerHour?: number;
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
  /** Reported `power_kw` jitter amplitude (± kW) while drawing, like the real devices; default 0 (off). */
  noiseKw?: number;
}

export type NodeState = 'idle' | 'charging' | 'full' | 'faulted';
/** `online` publishes; `offline` announced itself offline and is silent; `silent` just stopped. */
export type HubMode = 'online' | 'offline' | 'silent';
export type VehicleMode = 'driving' | 'charging' | 'full';

export interface HubSnapshot {
  id: string;
  location: { latitude: number; longitude: number; altitude: number };
  capacityKw: number;
  mode: HubMode;
  nodeIds: string[];
}

export interface NodeSnapshot {
  hubId: string;
  id: string;
  maxPowerKw: number;
  /** Limit in force (kW), echoed as `power_limit_kw`. */
  limitKw: number;
  state: NodeState;
  vehicleId: string | null;
  errorCode: number;
  /** Power the node draws now (kW, without noise). */
  drawKw: number;
  ignoresLimit: boolean;
}

export interface VehicleSnapshot {
  id: string;
  batteryKwh: number;
  /** State of charge in % (not rounded). */
  socPct: number;
  targetSoc: number;
  priority: boolean;
  /** Max power the vehicle accepts below 80 % SoC (kW); tapers above. */
  maxChargeKw: number;
  latitude: number;
  longitude: number;
  speedKmh: number;
  mode: VehicleMode;
  hubId: string | null;
  nodeId: string | null;
  /** Total energy charged since the start (kWh). */
  energyChargedKwh: number;
  /** Created by an external VehicleRequest for an unknown vehicle; publishes no telemetry. */
  guest: boolean;
}

export interface FleetCounters {
  arrivals: number;
  /** Poisson arrivals that found no free node or no vehicle in need of charge. */
  missedArrivals: number;
  /** Vehicles that reached their target SoC. */
  sessionsCompleted: number;
  departures: number;
  energyDeliveredKwh: number;
  dlmApplied: number;
  dlmIgnored: number;
  requestsAccepted: number;
  requestsIgnored: number;
  rejected: number;
  messages: number;
}

export type ApplyResult =
  | {
      status: 'applied';
      kind: 'dlmEvent';
      hubId: string;
      nodeId: string;
      previousKw: number;
      limitKw: number;
    }
  | { status: 'applied'; kind: 'vehicleRequest'; hubId: string; nodeId: string; vehicleId: string }
  | { status: 'ignored'; reason: string }
  | { status: 'rejected'; reason: string };

// ---------------------------------------------------------------------------------------
// Internal state

interface Hub {
  id: string;
  location: { latitude: number; longitude: number; altitude: number };
  capacityKw: number;
  ipAddress: string;
  firmwareVersion: string;
  mode: HubMode;
  nodes: Node[];
  byId: Map<string, Node>;
  nextArrivalMs: number;
  nextStatusMs: number;
  peakSumKw: number;
}

interface Node {
  hub: Hub;
  id: string;
  name: string | null;
  maxPowerKw: number;
  limitKw: number;
  state: NodeState;
  vehicle: Vehicle | null;
  errorCode: number;
  ignoresLimit: boolean;
  departAtMs: number | null;
}

interface Vehicle {
  id: string;
  batteryKwh: number;
  soc: number;
  targetSoc: number;
  priority: boolean;
  maxChargeKw: number;
  latitude: number;
  longitude: number;
  altitude: number;
  speedKmh: number;
  heading: number;
  mode: VehicleMode;
  node: Node | null;
  energyKwh: number;
  guest: boolean;
  /** Comes to charge below this SoC (%). */
  chargeBelow: number;
}

const KM_PER_DEG_LAT = 111.32;
const CONSUMPTION_KWH_PER_KM = 0.18;
/** Longest simulated interval integrated in one piece (ms). */
const MAX_SUBSTEP_SIM_MS = 5000;
const MIN_DRIVING_SOC = 3;
/** A vehicle comes to charge when its SoC falls below a threshold drawn from this range (%) per trip. */
const CHARGE_BELOW_SOC: readonly [number, number] = [20, 70];

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function pad(i: number, count: number): string {
  return String(i).padStart(Math.max(2, String(count).length), '0');
}

function positive(name: string, v: number, allowZero = false): number {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new RangeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${v}`);
  }
  return v;
}

function inRange(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isFinite(v) || v < lo || v > hi) throw new RangeError(`${name} must be ${lo}..${hi}, got ${v}`);
  return v;
}

function count(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/** Share of its max power a vehicle accepts at a SoC: 1 up to 80 %, then linear down to 10 %. */
export function taper(socPct: number): number {
  return socPct < 80 ? 1 : Math.max(0.1, (100 - socPct) / 20);
}

// ---------------------------------------------------------------------------------------

export class FleetModel {
  private readonly rng: Prng;
  private readonly hubList: Hub[] = [];
  private readonly hubsById = new Map<string, Hub>();
  private readonly vehicleList: Vehicle[] = [];
  private readonly vehiclesById = new Map<string, Vehicle>();
  private readonly outbox: SimMessage[] = [];

  private readonly telemetryPeriodMs: number;
  private readonly vehicleTelemetryPeriodMs: number;
  private readonly hubStatusPeriodMs: number;
  private readonly arrivalsPerHour: number;
  private readonly speed: number;
  private readonly dwellAfterFullMs: number;
  private readonly noiseKw: number;
  private readonly center: { latitude: number; longitude: number };
  private readonly spreadKm: number;

  private started = false;
  private lastMs = 0;
  private nextNodeTelemetryMs = 0;
  private nextVehicleTelemetryMs = 0;
  private readonly stats: FleetCounters = {
    arrivals: 0,
    missedArrivals: 0,
    sessionsCompleted: 0,
    departures: 0,
    energyDeliveredKwh: 0,
    dlmApplied: 0,
    dlmIgnored: 0,
    requestsAccepted: 0,
    requestsIgnored: 0,
    rejected: 0,
    messages: 0,
  };

  constructor(opts: FleetOptions = {}) {
    this.rng = mulberry32(opts.seed ?? 1);
    this.telemetryPeriodMs = positive('telemetryPeriodMs', opts.telemetryPeriodMs ?? 2000);
    this.vehicleTelemetryPeriodMs = positive(
      'vehicleTelemetryPeriodMs',
      opts.vehicleTelemetryPeriodMs ?? 5000,
    );
    this.hubStatusPeriodMs = positive('hubStatusPeriodMs', opts.hubStatusPeriodMs ?? 30000);
    this.arrivalsPerHour = positive('arrivalsPerHour', opts.arrivalsPerHour ?? 12, true);
    this.speed = positive('speed', opts.speed ?? 1);
    this.dwellAfterFullMs = positive('dwellAfterFullMs', opts.dwellAfterFullMs ?? 60000, true);
    this.noiseKw = positive('noiseKw', opts.noiseKw ?? 0, true);
    this.spreadKm = positive('spreadKm', opts.spreadKm ?? 5, true);
    const c = opts.center ?? { latitude: 44.6469, longitude: 10.9252 };
    this.center = {
      latitude: inRange('center.latitude', c.latitude, -85, 85),
      longitude: inRange('center.longitude', c.longitude, -180, 180),
    };
    const prefix = opts.idPrefix ?? '';
    const maxPowers =
      typeof opts.nodeMaxPowerKw === 'number' || opts.nodeMaxPowerKw === undefined
        ? [opts.nodeMaxPowerKw ?? 78]
        : opts.nodeMaxPowerKw;
    if (maxPowers.length === 0) throw new RangeError('nodeMaxPowerKw must not be empty');
    const nodesPerHub = count('nodesPerHub', opts.nodesPerHub ?? 4, 1);
    const hubSpecs: readonly HubSpec[] =
      typeof opts.hubs === 'object'
        ? opts.hubs
        : Array.from({ length: count('hubs', opts.hubs ?? 1, 1) }, () => ({}));
    if (hubSpecs.length === 0) throw new RangeError('hubs must not be empty');

    hubSpecs.forEach((spec, hi) => {
      const id = spec.id ?? `${prefix}hub_${pad(hi + 1, hubSpecs.length)}`;
      if (this.hubsById.has(id)) throw new RangeError(`duplicate hub id '${id}'`);
      buildTopic('hubInfo', { hubId: id }); // throws on an id that cannot be a topic level
      const nodeSpecs: readonly NodeSpec[] =
        typeof spec.nodes === 'object'
          ? spec.nodes
          : Array.from({ length: count('nodes', spec.nodes ?? nodesPerHub, 1) }, () => ({}));
      const location = spec.location
        ? {
            latitude: inRange('latitude', spec.location.latitude, -90, 90),
            longitude: inRange('longitude', spec.location.longitude, -180, 180),
            altitude: spec.location.altitude ?? 50,
          }
        : { ...this.randomPoint(this.spreadKm), altitude: 50 };
      const hub: Hub = {
        id,
        location,
        capacityKw: 0,
        ipAddress: spec.ipAddress ?? `10.0.${Math.floor(hi / 250)}.${(hi % 250) + 1}`,
        firmwareVersion: spec.firmwareVersion ?? '1.0.0',
        mode: 'online',
        nodes: [],
        byId: new Map(),
        nextArrivalMs: Infinity,
        nextStatusMs: Infinity,
        peakSumKw: 0,
      };
      nodeSpecs.forEach((ns, ni) => {
        const nodeId = ns.id ?? `node_${pad(ni + 1, nodeSpecs.length)}`;
        if (hub.byId.has(nodeId)) throw new RangeError(`duplicate node id '${nodeId}' in hub '${id}'`);
        buildTopic('nodeInfo', { hubId: id, nodeId });
        const maxPowerKw = inRange(
          'maxPowerKw',
          ns.maxPowerKw ?? (maxPowers[ni % maxPowers.length] as number),
          0,
          350,
        );
        const node: Node = {
          hub,
          id: nodeId,
          name: ns.name ?? null,
          maxPowerKw,
          limitKw: inRange('initialLimitKw', opts.initialLimitKw ?? maxPowerKw, 0, 350),
          state: 'idle',
          vehicle: null,
          errorCode: 0,
          ignoresLimit: false,
          departAtMs: null,
        };
        hub.nodes.push(node);
        hub.byId.set(nodeId, node);
      });
      const total = hub.nodes.reduce((s, n) => s + n.maxPowerKw, 0);
      hub.capacityKw = inRange(
        'capacityKw',
        spec.capacityKw ?? opts.hubCapacityKw ?? Math.min(1000, Math.round(total * 0.6)),
        0,
        1000,
      );
      hub.peakSumKw = this.sumOf(hub);
      this.hubList.push(hub);
      this.hubsById.set(id, hub);
    });

    const batteries = opts.batteryKwh ?? [40, 60, 75, 100];
    if (batteries.length === 0) throw new RangeError('batteryKwh must not be empty');
    const [tMin, tMax] = opts.targetSoc ?? [80, 90];
    const [sMin, sMax] = opts.initialSoc ?? [10, 70];
    inRange('targetSoc', tMin, 1, 100);
    inRange('targetSoc', tMax, tMin, 100);
    inRange('initialSoc', sMin, 0, 100);
    inRange('initialSoc', sMax, sMin, 100);
    const priorityShare = inRange('priorityShare', opts.priorityShare ?? 0.1, 0, 1);
    const nVehicles = count('vehicles', opts.vehicles ?? 10, 0);
    for (let i = 1; i <= nVehicles; i++) {
      const id = `${prefix}vehicle_${pad(i, nVehicles)}`;
      buildTopic('vehicleTelemetry', { vehicleId: id });
      const batteryKwh = positive('batteryKwh', this.rng.pick(batteries));
      const p = this.randomPoint(this.spreadKm + 2);
      const v: Vehicle = {
        id,
        batteryKwh,
        soc: round(this.rng.range(sMin, sMax), 1),
        targetSoc: this.rng.int(Math.ceil(tMin), Math.floor(tMax)),
        priority: this.rng.chance(priorityShare),
        maxChargeKw: Math.min(250, batteryKwh * 2),
        latitude: p.latitude,
        longitude: p.longitude,
        altitude: 50,
        speedKmh: round(this.rng.range(20, 70), 1),
        heading: this.rng.range(0, 2 * Math.PI),
        mode: 'driving',
        node: null,
        energyKwh: 0,
        guest: false,
        chargeBelow: 0,
      };
      v.chargeBelow = this.chargeThreshold(v);
      this.vehicleList.push(v);
      this.vehiclesById.set(id, v);
    }
  }

  /** A point uniformly distributed within `radiusKm` of the centre. */
  private randomPoint(radiusKm: number): { latitude: number; longitude: number } {
    const r = radiusKm * Math.sqrt(this.rng.next());
    const a = this.rng.range(0, 2 * Math.PI);
    const kmPerDegLon = KM_PER_DEG_LAT * Math.cos((this.center.latitude * Math.PI) / 180);
    return {
      latitude: round(this.center.latitude + (r * Math.cos(a)) / KM_PER_DEG_LAT, 6),
      longitude: round(this.center.longitude + (r * Math.sin(a)) / kmPerDegLon, 6),
    };
  }

  // -------------------------------------------------------------------------------------
  // Time

  /**
   * Advance the fleet to `nowMs` and return the messages to publish, in order. The first
   * call starts the fleet (info/status of every hub and node). Times before the last
   * call are treated as the last call's time.
   */
  step(nowMs: number): SimMessage[] {
    if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs must be finite, got ${nowMs}`);
    if (!this.started) {
      this.started = true;
      this.lastMs = nowMs;
      this.nextNodeTelemetryMs = nowMs + this.telemetryPeriodMs;
      this.nextVehicleTelemetryMs = nowMs + this.vehicleTelemetryPeriodMs;
      for (const hub of this.hubList) {
        hub.nextArrivalMs = nowMs + this.interArrivalMs();
        hub.nextStatusMs = nowMs + this.hubStatusPeriodMs;
        if (hub.mode === 'online') this.emitStart(hub, nowMs);
      }
      for (const v of this.vehicleList) if (!v.guest) this.emitVehicle(v, nowMs);
    } else {
      this.advance(nowMs);
    }
    const t = this.lastMs;
    if (t >= this.nextNodeTelemetryMs) {
      for (const hub of this.hubList) {
        if (hub.mode !== 'online') continue;
        for (const node of hub.nodes) this.emitTelemetry(node, t);
      }
      this.nextNodeTelemetryMs = this.nextAfter(this.nextNodeTelemetryMs, this.telemetryPeriodMs, t);
    }
    if (t >= this.nextVehicleTelemetryMs) {
      for (const v of this.vehicleList) if (!v.guest) this.emitVehicle(v, t);
      this.nextVehicleTelemetryMs = this.nextAfter(
        this.nextVehicleTelemetryMs,
        this.vehicleTelemetryPeriodMs,
        t,
      );
    }
    for (const hub of this.hubList) {
      if (t >= hub.nextStatusMs) {
        if (hub.mode === 'online') this.emitHubStatus(hub, 'online', t);
        hub.nextStatusMs = this.nextAfter(hub.nextStatusMs, this.hubStatusPeriodMs, t);
      }
    }
    const out = this.outbox.splice(0);
    this.stats.messages += out.length;
    return out;
  }

  /** Time of the last `step`/`apply` (epoch ms), or null before the first `step`. */
  get nowMs(): number | null {
    return this.started ? this.lastMs : null;
  }

  get isStarted(): boolean {
    return this.started;
  }

  private nextAfter(prev: number, period: number, now: number): number {
    const next = prev + period;
    return next > now ? next : now + period;
  }

  private interArrivalMs(): number {
    if (this.arrivalsPerHour === 0) return Infinity;
    return this.rng.exponential(3_600_000 / this.arrivalsPerHour) / this.speed;
  }

  /** Integrate physics and run due events up to `toMs`. */
  private advance(toMs: number): void {
    const maxWall = MAX_SUBSTEP_SIM_MS / this.speed;
    while (this.lastMs < toMs) {
      let t1 = Math.min(toMs, this.lastMs + maxWall);
      for (const hub of this.hubList) {
        if (hub.nextArrivalMs > this.lastMs && hub.nextArrivalMs < t1) t1 = hub.nextArrivalMs;
        for (const node of hub.nodes) {
          if (node.departAtMs !== null && node.departAtMs > this.lastMs && node.departAtMs < t1)
            t1 = node.departAtMs;
        }
      }
      this.integrate(this.lastMs, t1);
      this.lastMs = t1;
      this.runDueEvents(t1);
    }
  }

  private integrate(t0: number, t1: number): void {
    const simHours = ((t1 - t0) * this.speed) / 3_600_000;
    if (simHours <= 0) return;
    for (const v of this.vehicleList) {
      if (v.mode === 'driving') {
        if (!v.guest) this.drive(v, simHours);
        continue;
      }
      const node = v.node;
      if (v.mode !== 'charging' || node === null) continue;
      const kw = this.drawOf(node);
      if (kw <= 0) continue;
      const dSoc = ((kw * simHours) / v.batteryKwh) * 100;
      if (v.soc + dSoc >= v.targetSoc) {
        const f = Math.max(0, (v.targetSoc - v.soc) / dSoc);
        const e = kw * simHours * f;
        v.energyKwh += e;
        this.stats.energyDeliveredKwh += e;
        v.soc = Math.max(v.soc, v.targetSoc);
        this.becomeFull(node, v, t0 + f * (t1 - t0));
      } else {
        const e = kw * simHours;
        v.energyKwh += e;
        this.stats.energyDeliveredKwh += e;
        v.soc += dSoc;
      }
    }
  }

  private drive(v: Vehicle, simHours: number): void {
    if (this.rng.chance(Math.min(1, simHours * 60))) {
      // about once a simulated minute: a new heading and speed
      v.heading = this.rng.range(0, 2 * Math.PI);
      v.speedKmh = round(this.rng.range(20, 90), 1);
    }
    const km = v.speedKmh * simHours;
    const kmPerDegLon = KM_PER_DEG_LAT * Math.cos((v.latitude * Math.PI) / 180);
    v.latitude += (km * Math.cos(v.heading)) / KM_PER_DEG_LAT;
    v.longitude += (km * Math.sin(v.heading)) / kmPerDegLon;
    const dyKm = (v.latitude - this.center.latitude) * KM_PER_DEG_LAT;
    const dxKm = (v.longitude - this.center.longitude) * kmPerDegLon;
    if (Math.hypot(dxKm, dyKm) > this.spreadKm + 3) {
      // turn back towards the centre
      v.heading = Math.atan2(-dxKm, -dyKm);
    }
    v.latitude = clamp(v.latitude, -90, 90);
    v.longitude = clamp(v.longitude, -180, 180);
    v.soc = Math.max(MIN_DRIVING_SOC, v.soc - ((km * CONSUMPTION_KWH_PER_KM) / v.batteryKwh) * 100);
  }

  private runDueEvents(t: number): void {
    for (const hub of this.hubList) {
      for (const node of hub.nodes) {
        if (node.departAtMs !== null && node.departAtMs <= t) this.depart(node, t);
      }
    }
    for (const hub of this.hubList) {
      while (hub.nextArrivalMs <= t) {
        this.poissonArrival(hub, t);
        hub.nextArrivalMs += this.interArrivalMs();
      }
    }
  }

  private poissonArrival(hub: Hub, t: number): void {
    if (hub.mode !== 'online') {
      this.stats.missedArrivals++;
      return;
    }
    const free = hub.nodes.filter((n) => n.state === 'idle');
    const needy = this.vehicleList.filter((v) => this.needsCharge(v));
    if (free.length === 0 || needy.length === 0) {
      this.stats.missedArrivals++;
      return;
    }
    this.connect(this.rng.pick(free), this.rng.pick(needy), t, true);
  }

  private chargeThreshold(v: Vehicle): number {
    return Math.min(this.rng.range(CHARGE_BELOW_SOC[0], CHARGE_BELOW_SOC[1]), v.targetSoc - 5);
  }

  /** A driving fleet vehicle whose SoC fell below its threshold. */
  private needsCharge(v: Vehicle): boolean {
    return !v.guest && v.mode === 'driving' && v.soc < v.chargeBelow;
  }

  // -------------------------------------------------------------------------------------
  // Node / vehicle transitions

  /** Power a node draws now: min(limit in force, max power, what the vehicle accepts). */
  private drawOf(node: Node): number {
    const v = node.vehicle;
    if (node.state !== 'charging' || v === null) return 0;
    const accept = v.maxChargeKw * taper(v.soc);
    const cap = node.ignoresLimit ? node.maxPowerKw : Math.min(node.limitKw, node.maxPowerKw);
    return Math.max(0, Math.min(cap, accept));
  }

  private connect(node: Node, v: Vehicle, t: number, publishRequest: boolean): void {
    node.state = 'charging';
    node.vehicle = v;
    node.departAtMs = null;
    v.mode = 'charging';
    v.node = node;
    v.latitude = node.hub.location.latitude;
    v.longitude = node.hub.location.longitude;
    v.speedKmh = 0;
    this.stats.arrivals++;
    if (publishRequest) {
      const req: VehicleRequest = {
        vehicle_id: v.id,
        node_id: node.id,
        soc_percent: clamp(Math.floor(v.soc), 0, 100),
        timestamp: formatTimestamp(t),
      };
      this.push(buildTopic('vehicleRequest', { hubId: node.hub.id }), req, false, 1, node.hub);
    }
    this.emitNodeStatus(node, t);
    if (!v.guest) this.emitVehicle(v, t);
  }

  private becomeFull(node: Node, v: Vehicle, t: number): void {
    node.state = 'full';
    node.departAtMs = t + this.dwellAfterFullMs / this.speed;
    v.mode = 'full';
    this.stats.sessionsCompleted++;
    this.emitNodeStatus(node, t);
    if (!v.guest) this.emitVehicle(v, t);
  }

  /** The vehicle at `node` leaves; the node goes idle (unless faulted). */
  private release(node: Node, t: number): void {
    const v = node.vehicle;
    node.vehicle = null;
    node.departAtMs = null;
    if (v === null) return;
    this.stats.departures++;
    v.node = null;
    v.mode = 'driving';
    if (v.guest) {
      this.vehiclesById.delete(v.id);
      this.vehicleList.splice(this.vehicleList.indexOf(v), 1);
      return;
    }
    v.heading = this.rng.range(0, 2 * Math.PI);
    v.speedKmh = round(this.rng.range(30, 60), 1);
    v.chargeBelow = this.chargeThreshold(v);
    this.emitVehicle(v, t);
  }

  private depart(node: Node, t: number): void {
    this.release(node, t);
    node.state = 'idle';
    this.emitNodeStatus(node, t);
  }

  // -------------------------------------------------------------------------------------
  // Inbound

  /**
   * Apply an inbound message at `nowMs`: a DLMNotification on `iot/hubs/{hub}/dlm/events`
   * sets `new_limit` as the limit in force of `affected_node_id`; a VehicleRequest on
   * `iot/hubs/{hub}/requests` from someone else connects that vehicle to that node when
   * the node is idle (an echo of the model's own request is ignored). `payload`: Buffer,
   * JSON text or object. Silent hubs and offline hubs do not listen.
   */
  apply(topic: string, payload: unknown, nowMs: number): ApplyResult {
    const d = decode(topic, payload, nowMs);
    if (!d.ok) {
      this.stats.rejected++;
      return { status: 'rejected', reason: d.errors.map((e) => e.message).join('; ') };
    }
    const msg = d.msg;
    if (msg.kind !== 'dlmEvent' && msg.kind !== 'vehicleRequest') {
      this.stats.rejected++;
      return { status: 'rejected', reason: `not an inbound topic for hubs: ${topic}` };
    }
    const ignore = (reason: string): ApplyResult => {
      if (msg.kind === 'dlmEvent') this.stats.dlmIgnored++;
      else this.stats.requestsIgnored++;
      return { status: 'ignored', reason };
    };
    if (!this.started) return ignore('the fleet is not started');
    this.advance(nowMs);
    const t = this.lastMs;
    const hub = this.hubsById.get(msg.hubId);
    if (!hub) return ignore(`unknown hub '${msg.hubId}'`);
    if (hub.mode !== 'online') return ignore(`hub '${hub.id}' is ${hub.mode}`);

    if (msg.kind === 'dlmEvent') {
      const node = hub.byId.get(msg.data.affected_node_id);
      if (!node) return ignore(`unknown node '${msg.data.affected_node_id}' in hub '${hub.id}'`);
      const previousKw = node.limitKw;
      node.limitKw = msg.data.new_limit;
      hub.peakSumKw = Math.max(hub.peakSumKw, this.sumOf(hub));
      this.stats.dlmApplied++;
      return {
        status: 'applied',
        kind: 'dlmEvent',
        hubId: hub.id,
        nodeId: node.id,
        previousKw,
        limitKw: node.limitKw,
      };
    }

    const { vehicle_id: vehicleId, node_id: nodeId, soc_percent: socPct } = msg.data;
    const node = hub.byId.get(nodeId);
    if (!node) return ignore(`unknown node '${nodeId}' in hub '${hub.id}'`);
    if (node.vehicle?.id === vehicleId)
      return ignore(`vehicle '${vehicleId}' is already at node '${nodeId}'`);
    if (node.state !== 'idle') return ignore(`node '${nodeId}' is ${node.state}`);
    let v = this.vehiclesById.get(vehicleId);
    if (v && v.mode !== 'driving') return ignore(`vehicle '${vehicleId}' is already at another node`);
    if (!v) {
      v = {
        id: vehicleId,
        batteryKwh: 60,
        soc: socPct,
        targetSoc: socPct < 80 ? 80 : 100,
        priority: false,
        maxChargeKw: 120,
        latitude: hub.location.latitude,
        longitude: hub.location.longitude,
        altitude: hub.location.altitude,
        speedKmh: 0,
        heading: 0,
        mode: 'driving',
        node: null,
        energyKwh: 0,
        guest: true,
        chargeBelow: 0,
      };
      this.vehicleList.push(v);
      this.vehiclesById.set(vehicleId, v);
    }
    this.stats.requestsAccepted++;
    this.connect(node, v, t, false);
    return { status: 'applied', kind: 'vehicleRequest', hubId: hub.id, nodeId: node.id, vehicleId };
  }

  // -------------------------------------------------------------------------------------
  // Control (tests, demos). `nowMs` optional: advances the fleet first; messages are
  // stamped with it (or the last step's time) and come out of the next `step`.

  private at(nowMs: number | undefined): number {
    if (nowMs !== undefined && this.started) this.advance(nowMs);
    return this.lastMs;
  }

  private hubOf(hubId: string): Hub {
    const hub = this.hubsById.get(hubId);
    if (!hub) throw new RangeError(`unknown hub '${hubId}'`);
    return hub;
  }

  private nodeOf(hubId: string, nodeId: string): Node {
    const node = this.hubOf(hubId).byId.get(nodeId);
    if (!node) throw new RangeError(`unknown node '${nodeId}' in hub '${hubId}'`);
    return node;
  }

  /**
   * A vehicle arrives at a hub now (instead of waiting for a Poisson arrival) and publishes
   * its VehicleRequest. Defaults: the first idle node; the first driving vehicle below its
   * charge threshold, else the driving vehicle with the lowest SoC below its target. Returns what was connected, or null when no node or vehicle fits.
   */
  plugIn(
    hubId: string,
    opts: { nodeId?: string; vehicleId?: string; nowMs?: number } = {},
  ): { hubId: string; nodeId: string; vehicleId: string } | null {
    if (!this.started) throw new Error('the fleet is not started: call step(nowMs) first');
    const hub = this.hubOf(hubId);
    const t = this.at(opts.nowMs);
    if (hub.mode !== 'online') return null;
    const node =
      opts.nodeId !== undefined ? this.nodeOf(hubId, opts.nodeId) : hub.nodes.find((n) => n.state === 'idle');
    if (!node || node.state !== 'idle') return null;
    let v: Vehicle | undefined;
    if (opts.vehicleId !== undefined) {
      v = this.vehiclesById.get(opts.vehicleId);
      if (!v) throw new RangeError(`unknown vehicle '${opts.vehicleId}'`);
      if (v.mode !== 'driving') return null;
    } else {
      v = this.vehicleList.find((x) => this.needsCharge(x));
      if (!v) {
        // nobody below its threshold: the driving vehicle with the lowest SoC below its target
        for (const x of this.vehicleList) {
          if (x.guest || x.mode !== 'driving' || x.soc >= x.targetSoc) continue;
          if (!v || x.soc < v.soc) v = x;
        }
      }
    }
    if (!v) return null;
    this.connect(node, v, t, true);
    return { hubId, nodeId: node.id, vehicleId: v.id };
  }

  /** The node faults (status `faulted` with `errorCode`); a connected vehicle stops and leaves. */
  faultNode(hubId: string, nodeId: string, opts: { errorCode?: number; nowMs?: number } = {}): void {
    const node = this.nodeOf(hubId, nodeId);
    const errorCode = opts.errorCode ?? 1001;
    if (!Number.isInteger(errorCode) || errorCode < 1 || errorCode > 9999) {
      throw new RangeError(`errorCode must be an integer 1..9999, got ${errorCode}`);
    }
    const t = this.at(opts.nowMs);
    this.release(node, t);
    node.state = 'faulted';
    node.errorCode = errorCode;
    if (this.started) this.emitNodeStatus(node, t);
  }

  /** A faulted node is repaired: `idle`, error code 0. */
  clearFault(hubId: string, nodeId: string, opts: { nowMs?: number } = {}): void {
    const node = this.nodeOf(hubId, nodeId);
    if (node.state !== 'faulted') return;
    const t = this.at(opts.nowMs);
    node.state = 'idle';
    node.errorCode = 0;
    if (this.started) this.emitNodeStatus(node, t);
  }

  /** A node that ignores its limit draws up to its max power (like some real devices). */
  setIgnoreLimit(hubId: string, nodeId: string, ignores: boolean, opts: { nowMs?: number } = {}): void {
    const node = this.nodeOf(hubId, nodeId);
    this.at(opts.nowMs);
    node.ignoresLimit = ignores;
  }

  /** The hub's grid capacity changes; its `info` is republished (retained). */
  setCapacity(hubId: string, kw: number, opts: { nowMs?: number } = {}): void {
    const hub = this.hubOf(hubId);
    inRange('capacity', kw, 0, 1000);
    this.at(opts.nowMs);
    hub.capacityKw = kw;
    if (this.started) this.emitHubInfo(hub);
  }

  /**
   * The hub goes away: `offline` publishes a retained status `offline` and goes silent;
   * `silent` just stops publishing (a crash, a lost link). Either way it stops listening.
   * Its vehicles keep charging; telemetry resumes with `setHubOnline`.
   */
  setHubOffline(hubId: string, mode: 'offline' | 'silent' = 'offline', opts: { nowMs?: number } = {}): void {
    const hub = this.hubOf(hubId);
    const t = this.at(opts.nowMs);
    if (hub.mode !== 'online') {
      hub.mode = mode;
      return;
    }
    if (mode === 'offline' && this.started) this.emitHubStatus(hub, 'offline', t);
    hub.mode = mode;
  }

  /** The hub comes back: it republishes its start sequence (info, status, nodes' info/status). */
  setHubOnline(hubId: string, opts: { nowMs?: number } = {}): void {
    const hub = this.hubOf(hubId);
    const t = this.at(opts.nowMs);
    if (hub.mode === 'online') return;
    hub.mode = 'online';
    if (this.started) this.emitStart(hub, t);
  }

  // -------------------------------------------------------------------------------------
  // Checks and snapshots

  private sumOf(hub: Hub): number {
    let s = 0;
    for (const n of hub.nodes) s += n.limitKw;
    return s;
  }

  /** Σ of the limits in force at the hub's nodes (kW), every node counted. */
  sumOfLimits(hubId: string): number {
    return this.sumOf(this.hubOf(hubId));
  }

  /** Highest `sumOfLimits` seen after any applied DLM event since the start or `resetPeaks()`. */
  peakSumOfLimits(hubId: string): number {
    return this.hubOf(hubId).peakSumKw;
  }

  /** Set every hub's peak to its current sum (e.g. once the DLM has taken over). */
  resetPeaks(): void {
    for (const hub of this.hubList) hub.peakSumKw = this.sumOf(hub);
  }

  /** Σ of the power the hub's nodes draw now (kW, without noise). */
  hubLoadKw(hubId: string): number {
    let s = 0;
    for (const n of this.hubOf(hubId).nodes) s += this.drawOf(n);
    return s;
  }

  hub(hubId: string): HubSnapshot {
    const h = this.hubOf(hubId);
    return {
      id: h.id,
      location: { ...h.location },
      capacityKw: h.capacityKw,
      mode: h.mode,
      nodeIds: h.nodes.map((n) => n.id),
    };
  }

  hubs(): HubSnapshot[] {
    return this.hubList.map((h) => this.hub(h.id));
  }

  node(hubId: string, nodeId: string): NodeSnapshot {
    const n = this.nodeOf(hubId, nodeId);
    return {
      hubId: n.hub.id,
      id: n.id,
      maxPowerKw: n.maxPowerKw,
      limitKw: n.limitKw,
      state: n.state,
      vehicleId: n.vehicle?.id ?? null,
      errorCode: n.errorCode,
      drawKw: this.drawOf(n),
      ignoresLimit: n.ignoresLimit,
    };
  }

  nodes(hubId: string): NodeSnapshot[] {
    return this.hubOf(hubId).nodes.map((n) => this.node(hubId, n.id));
  }

  vehicle(vehicleId: string): VehicleSnapshot {
    const v = this.vehiclesById.get(vehicleId);
    if (!v) throw new RangeError(`unknown vehicle '${vehicleId}'`);
    return {
      id: v.id,
      batteryKwh: v.batteryKwh,
      socPct: v.soc,
      targetSoc: v.targetSoc,
      priority: v.priority,
      maxChargeKw: v.maxChargeKw,
      latitude: v.latitude,
      longitude: v.longitude,
      speedKmh: v.speedKmh,
      mode: v.mode,
      hubId: v.node?.hub.id ?? null,
      nodeId: v.node?.id ?? null,
      energyChargedKwh: v.energyKwh,
      guest: v.guest,
    };
  }

  vehicles(): VehicleSnapshot[] {
    return this.vehicleList.map((v) => this.vehicle(v.id));
  }

  counters(): FleetCounters {
    return { ...this.stats };
  }

  /** Every topic the model publishes retained (to clear them: publish an empty retained payload). */
  retainedTopics(): string[] {
    const out: string[] = [];
    for (const hub of this.hubList) {
      out.push(buildTopic('hubInfo', { hubId: hub.id }), buildTopic('hubStatus', { hubId: hub.id }));
      for (const n of hub.nodes) {
        out.push(
          buildTopic('nodeInfo', { hubId: hub.id, nodeId: n.id }),
          buildTopic('nodeStatus', { hubId: hub.id, nodeId: n.id }),
        );
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------------------
  // Outgoing

  /** Queue a message; a hub that is not online publishes nothing. */
  private push(topic: string, payload: SimPayload, retain: boolean, qos: 0 | 1, hub?: Hub): void {
    if (hub && hub.mode !== 'online') return;
    this.outbox.push({ topic, payload, retain, qos });
  }

  private emitStart(hub: Hub, t: number): void {
    this.emitHubInfo(hub);
    this.emitHubStatus(hub, 'online', t);
    for (const node of hub.nodes) {
      const info: NodeInfo = {
        node_id: node.id,
        hub_id: hub.id,
        name: node.name,
        max_power_kw: node.maxPowerKw,
      };
      this.push(buildTopic('nodeInfo', { hubId: hub.id, nodeId: node.id }), info, true, 1, hub);
      this.emitNodeStatus(node, t);
    }
  }

  private emitHubInfo(hub: Hub): void {
    const info: HubInfo = {
      hub_id: hub.id,
      location: { ...hub.location },
      max_grid_capacity_kw: hub.capacityKw,
      ip_address: hub.ipAddress,
      firmware_version: hub.firmwareVersion,
    };
    this.push(buildTopic('hubInfo', { hubId: hub.id }), info, true, 1, hub);
  }

  private emitHubStatus(hub: Hub, state: 'online' | 'offline', t: number): void {
    let load = 0;
    for (const n of hub.nodes) load += this.drawOf(n);
    const share = hub.capacityKw > 0 ? Math.min(1, load / hub.capacityKw) : 0;
    const status: HubStatus = {
      state,
      cpu_temp: round(42 + 25 * share + this.rng.range(0, 3), 2),
      timestamp: formatTimestamp(t),
    };
    this.push(buildTopic('hubStatus', { hubId: hub.id }), status, true, 1, hub);
  }

  private emitNodeStatus(node: Node, t: number): void {
    const status: NodeStatus = {
      state: node.state,
      current_vehicle_id: node.vehicle?.id ?? null,
      error_code: node.errorCode,
      timestamp: formatTimestamp(t),
    };
    this.push(buildTopic('nodeStatus', { hubId: node.hub.id, nodeId: node.id }), status, true, 1, node.hub);
  }

  private emitTelemetry(node: Node, t: number): void {
    const draw = this.drawOf(node);
    let power = draw;
    let voltage = 0;
    if (draw > 0) {
      voltage = node.maxPowerKw > 150 ? 800 : 400;
      if (this.noiseKw > 0) {
        power = clamp(draw + (2 * this.rng.next() - 1) * this.noiseKw, 0, 350);
        voltage *= 0.99 + 0.02 * this.rng.next();
      }
    }
    const v = node.vehicle;
    const telemetry: NodeTelemetry = {
      voltage: round(voltage, 1),
      current: voltage > 0 ? Math.min(500, round((power * 1000) / voltage, 1)) : 0,
      power_kw: round(power, 2),
      power_limit_kw: node.limitKw,
      is_occupied: v !== null,
      connected_vehicle_id: v?.id ?? 'n/a',
      current_vehicle_soc: v ? clamp(round(v.soc, 1), 0, 100) : 0,
      timestamp: formatTimestamp(t),
    };
    this.push(
      buildTopic('nodeTelemetry', { hubId: node.hub.id, nodeId: node.id }),
      telemetry,
      false,
      0,
      node.hub,
    );
  }

  private emitVehicle(v: Vehicle, t: number): void {
    const telemetry: VehicleTelemetry = {
      geo_location: {
        latitude: round(v.latitude, 6),
        longitude: round(v.longitude, 6),
        altitude: v.altitude,
      },
      battery_level: clamp(Math.floor(v.soc), 0, 100),
      speed_kmh: v.speedKmh,
      engine_temp_c: round(25 + v.speedKmh / 10, 1),
      is_charging: v.mode === 'charging',
      timestamp: formatTimestamp(t),
    };
    this.push(buildTopic('vehicleTelemetry', { vehicleId: v.id }), telemetry, false, 0);
  }
}
