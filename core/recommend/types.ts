/**
 * Input and output views of the recommendation engine. The engine does not know the twin:
 * the caller maps its hubs and nodes into `RecHub` / `RecNode`. Powers are kW, energies
 * kWh, distances km, SoC 0..100 %, times epoch milliseconds. Pure data, no behaviour.
 */
import type { AllocConfig } from '../dlm/types';

export interface RecHub {
  hubId: string;
  latitude: number;
  longitude: number;
  /** max_grid_capacity_kw of the hub (the allocator applies `alloc.reserve`). */
  capacityKw: number;
  /** Online and fresh. Hubs that are not available are never candidates. */
  available: boolean;
  /** Node ids are unique inside a hub (as in the twin). */
  nodes: RecNode[];
}

export interface RecNode {
  nodeId: string;
  maxPowerKw: number;
  minPowerKw?: number;
  state: 'idle' | 'charging' | 'full' | 'faulted';
  maintenance: boolean;
  occupied: boolean;
  /** For nodes in use (charging/full/occupied): the SoC of the vehicle there, null when unknown. */
  vehicleSoc: number | null;
  /** For nodes in use: the vehicle there is in the critical class. */
  critical: boolean;
  /** For nodes in use: when the session is expected to end (epoch ms), null when unknown. */
  expectedEndMs: number | null;
}

export interface RecRequest {
  latitude: number;
  longitude: number;
  /** SoC now, 0..100 %. */
  battery_level: number;
  vehicle_id?: string;
  /** Default 80 (100 when battery_level ≥ 80, see validateRecRequest). */
  target_soc?: number;
  /** Default 60 kWh. */
  battery_capacity_kwh?: number;
  /** Number of alternatives after the best, default 3, max 20. */
  limit?: number;
  /** Priority vehicle: always in the critical class. */
  priority?: boolean;
}

export interface RecConfig {
  /** Energy used driving, kWh per km (default 0.18). */
  consumptionKwhPerKm: number;
  /** Share of the range kept back, 0..1 (default 0.10). */
  safetyMargin: number;
  /** Average driving speed, km/h (default 50). */
  averageSpeedKmh: number;
  /** Arrival SoC below this puts the vehicle in the critical class (default 20). */
  criticalSoc: number;
  /** Allocation settings of the hubs (the same as the DLM allocator's). */
  alloc: AllocConfig;
  /** Optional search radius: hubs farther than this are treated as out of reach. */
  maxDistanceKm?: number;
  /** Wait assumed for a busy node whose session end is unknown (default 60 min). */
  unknownEndWaitMin?: number;
}

/** One hub (its best node) in the answer. Rounded for output (2 decimals); ranking uses the unrounded values. */
export interface Recommendation {
  hub_id: string;
  node_id: string;
  hub_latitude: number;
  hub_longitude: number;
  distance_km: number;
  /** Wait at the hub after arrival until the node is free (0 when it is free). */
  estimated_wait_time_min: number;
  /** The power the vehicle would get there (what-if allocation with it added), kW. */
  available_power_kw: number;
  drive_time_min: number;
  charge_time_min: number;
  /** drive + wait + charge: time from now until charged to target_soc. */
  total_time_min: number;
  /** SoC on arrival, %. */
  arrival_soc: number;
  target_soc: number;
  reachable: true;
  /** The node's max_power_kw. */
  nameplate_power_kw: number;
  /** The vehicle was allocated as critical (priority, or arrival SoC below criticalSoc). */
  critical: boolean;
}

export type RecResult =
  { ok: true; best: Recommendation; alternatives: Recommendation[] } | { ok: false; reason: string };

export type RecValidation = { ok: true; value: RecRequest } | { ok: false; errors: string[] };
