/** Public types of the fleet simulator: what it publishes, its snapshots, counters and results. */
import type {
  HubInfo,
  HubStatus,
  NodeInfo,
  NodeStatus,
  NodeTelemetry,
  VehicleRequest,
  VehicleTelemetry,
} from '../core/contract';
import type { HubDevice } from './options';

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

/** State of a pad (a charging node), as its NodeStatus reports it. */
export type PadState = 'idle' | 'charging' | 'full' | 'faulted';
/** `online` publishes; `offline` announced itself offline and is silent; `silent` just stopped. */
export type HubMode = 'online' | 'offline' | 'silent';
export type VehicleMode = 'driving' | 'charging' | 'full';

export interface HubSnapshot {
  id: string;
  location: { latitude: number; longitude: number; altitude: number };
  capacityKw: number;
  mode: HubMode;
  nodeIds: string[];
  /** How the hub behaves as a device (rounding, echo, draw, session …). */
  device: HubDevice;
}

export interface NodeSnapshot {
  hubId: string;
  id: string;
  maxPowerKw: number;
  /** Limit in force (kW), echoed as `power_limit_kw`. */
  limitKw: number;
  state: PadState;
  vehicleId: string | null;
  errorCode: number;
  /** Power the node draws now (kW, without noise). */
  drawKw: number;
  ignoresLimit: boolean;
  /** Share of its limit the pad draws while charging (0..1). */
  drawFraction: number;
  /** Limit the pad takes when its hub (re)boots (kW). */
  bootLimitKw: number;
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
  /** Comes to charge by itself (Poisson arrivals); false: only by `plugIn` or the script. */
  autoArrive: boolean;
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
  /** Telemetry published right after a DLM event (echo delay). */
  echoes: number;
  /** Hubs restarted (`restartHub`). */
  restarts: number;
  /** Script steps run, and those that found nothing to do (e.g. no idle pad). */
  scriptSteps: number;
  scriptMissed: number;
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

/**
 * What a hub did to its limits, as it happened (for observers: `FleetModel.onHubEvent`).
 * `boot`: the hub (re)started (and at the fleet's start) with these limits in force;
 * `limit`: it applied a DLM event (`limitKw` after its rounding, `requestedKw` the event's);
 * `capacity`: its grid capacity changed (its info is republished).
 */
export type HubEvent =
  | {
      kind: 'boot';
      ts: number;
      hubId: string;
      capacityKw: number;
      pads: { nodeId: string; maxPowerKw: number; limitKw: number }[];
    }
  | {
      kind: 'limit';
      ts: number;
      hubId: string;
      nodeId: string;
      previousKw: number;
      limitKw: number;
      requestedKw: number;
    }
  | { kind: 'capacity'; ts: number; hubId: string; capacityKw: number };
