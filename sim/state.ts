/**
 * The simulator's internal, mutable state: hubs with their pads, vehicles, the outbox and
 * the counters. Only the modules of sim/ touch it; the world sees snapshots (views.ts).
 */
import type { Prng } from './prng';
import type { FleetConfig, HubDevice, ScriptStep } from './options';
import type { FleetCounters, HubEvent, HubMode, PadState, SimMessage, VehicleMode } from './types';

export interface Hub {
  id: string;
  location: { latitude: number; longitude: number; altitude: number };
  capacityKw: number;
  ipAddress: string;
  firmwareVersion: string;
  mode: HubMode;
  device: HubDevice;
  pads: Pad[];
  byId: Map<string, Pad>;
  nextArrivalMs: number;
  nextStatusMs: number;
  peakSumKw: number;
}

export interface Pad {
  hub: Hub;
  id: string;
  name: string | null;
  maxPowerKw: number;
  /** Limit on boot and after a restart (kW). */
  bootLimitKw: number;
  limitKw: number;
  state: PadState;
  vehicle: Vehicle | null;
  errorCode: number;
  /** null: the hub's `device.ignoreLimit`. */
  ignoresLimit: boolean | null;
  /** null: the hub's `device.drawFraction`. */
  drawFraction: number | null;
  departAtMs: number | null;
}

export interface Vehicle {
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
  pad: Pad | null;
  energyKwh: number;
  guest: boolean;
  autoArrive: boolean;
  /** Comes to charge below this SoC (%). */
  chargeBelow: number;
}

/** A pad's telemetry due at `dueMs` because its hub applied a DLM event (echo delay). */
export interface Echo {
  pad: Pad;
  dueMs: number;
}

export interface FleetState {
  readonly cfg: FleetConfig;
  readonly rng: Prng;
  readonly hubs: Hub[];
  readonly hubsById: Map<string, Hub>;
  readonly vehicles: Vehicle[];
  readonly vehiclesById: Map<string, Vehicle>;
  readonly outbox: SimMessage[];
  readonly stats: FleetCounters;
  readonly listeners: Set<(e: HubEvent) => void>;
  /** Pending echoes, in due order. */
  echoes: Echo[];
  /** Script steps not run yet, in time order. */
  script: ScriptStep[];
  started: boolean;
  startMs: number;
  lastMs: number;
  nextNodeTelemetryMs: number;
  nextVehicleTelemetryMs: number;
}

export function newCounters(): FleetCounters {
  return {
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
    echoes: 0,
    restarts: 0,
    scriptSteps: 0,
    scriptMissed: 0,
  };
}

export function hubOf(s: FleetState, hubId: string): Hub {
  const hub = s.hubsById.get(hubId);
  if (!hub) throw new RangeError(`unknown hub '${hubId}'`);
  return hub;
}

export function padOf(s: FleetState, hubId: string, nodeId: string): Pad {
  const pad = hubOf(s, hubId).byId.get(nodeId);
  if (!pad) throw new RangeError(`unknown node '${nodeId}' in hub '${hubId}'`);
  return pad;
}

export function vehicleOf(s: FleetState, vehicleId: string): Vehicle {
  const v = s.vehiclesById.get(vehicleId);
  if (!v) throw new RangeError(`unknown vehicle '${vehicleId}'`);
  return v;
}

/** Σ of the limits in force at the hub's pads (kW). */
export function sumOfLimits(hub: Hub): number {
  let sum = 0;
  for (const p of hub.pads) sum += p.limitKw;
  return sum;
}

/** Tell the observers (synchronously) what a hub did to its limits. */
export function notify(s: FleetState, e: HubEvent): void {
  for (const l of s.listeners) l(e);
}
