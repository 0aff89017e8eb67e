/**
 * Types of the per-hub dynamic load management (DLM): allocation input/output,
 * trigger reasons and the limit-change commands published to a hub.
 *
 * All power values are kW, all times epoch milliseconds. Pure data, no behaviour.
 */

/** How capacity is shared inside one class. */
export type Policy = 'equal' | 'soc-priority';

/** Classes are served in this order: every critical node before any normal node. */
export type AllocClass = 'critical' | 'normal';

export interface AllocInput {
  /** Node id, unique inside the hub (duplicates are rejected). */
  nodeId: string;
  /** Nameplate power of the pad. Negative / non-finite values count as 0. */
  maxPowerKw: number;
  /** What the vehicle can take now; defaults to maxPowerKw, capped at maxPowerKw (e.g. less for taper). */
  demandKw?: number;
  /** Floor: the pad cannot run below it (it gets at least this or 0). 0 / missing = no floor. */
  minPowerKw?: number;
  /** Vehicle state of charge 0..100, or null when unknown. */
  soc: number | null;
  /** Decided upstream: priority vehicle, or SoC below critical_soc (with hysteresis). */
  critical: boolean;
}

export interface AllocConfig {
  policy: Policy;
  /** Share of the grid capacity kept back, 0..1 (clamped). */
  reserve: number;
  /**
   * Optional demand taper near full: above `fromSoc` the demand falls linearly from
   * 100 % of maxPowerKw to `minFraction` × maxPowerKw at SoC 100.
   */
  taper?: { fromSoc: number; minFraction: number };
  /** Limits rounded down to this resolution (kW), e.g. WIRE_RESOLUTION_KW; none when absent. */
  resolutionKw?: number;
}

export interface NodeAllocation {
  nodeId: string;
  /** Power limit for the node, 0 ≤ limitKw ≤ demand ≤ maxPowerKw. */
  limitKw: number;
  cls: AllocClass;
  /** Water-filling weight used (1 under `equal`). */
  weight: number;
  /** The node wants power (demand > 0) but gets none now: its floor did not fit or its class got nothing. */
  deferred: boolean;
}

export interface AllocResult {
  /** C = max_grid_capacity_kw × (1 − reserve). */
  capacityKw: number;
  /** Σ limitKw. */
  totalKw: number;
  /** One entry per input node, sorted by nodeId. */
  allocations: NodeAllocation[];
}

export type TriggerReason =
  | 'VEHICLE_CONNECTED'
  | 'VEHICLE_DISCONNECTED'
  | 'CHARGING_COMPLETE'
  | 'PRIORITY_SHIFT'
  | 'CAPACITY_CHANGED'
  | 'NODE_FAULT'
  | 'NODE_MAINTENANCE'
  | 'HUB_INACTIVE'
  | 'GRID_OVERLOAD'
  | 'REBALANCE'
  | 'RESYNC';

/** One limit change for one node, ready to become a DLMNotification on `iot/hubs/{hubId}/dlm/events`. */
export interface DlmCommand {
  hubId: string;
  nodeId: string;
  originalLimitKw: number;
  newLimitKw: number;
  reason: TriggerReason;
  /** Id of the apply() call (allocation) this change belongs to. */
  allocationId: string;
  /** When the command is published (epoch ms). */
  ts: number;
  /** Σ of the limits in force (pessimistic) after this command. */
  totalGridLoadKw: number;
  /** max(0, C − Σ limits in force) after this command. */
  availableCapacityKw: number;
  /**
   * 1 for the first send of this limit; 2, 3 … for re-sends of the same command (same
   * allocationId, reason and limits) while the hub's reports do not confirm it.
   */
  attempt: number;
}

/**
 * Something the operator should know. `hub-ignores-commands`: the hub's reports still contradict
 * a limit we sent (re-sent `attempts` times since `sinceMs`); every increase at that hub is held
 * until it confirms. `hub-waiting-for-info`: the hub's capacity is unknown (no HubInfo yet), so
 * nothing is allocated there ("waiting for hub info — not allocating"). `hub-limits-unknown`:
 * two delivery windows after a restart (`sinceMs`), the hub's reports have not settled what these
 * nodes may still apply; every increase at the hub is held until they do.
 */
export type DlmAlarm =
  | {
      kind: 'hub-ignores-commands';
      hubId: string;
      nodeId: string;
      sinceMs: number;
      attempts: number;
      commandedKw: number;
      reportedKw: number | null;
    }
  | { kind: 'hub-waiting-for-info'; hubId: string; sinceMs: number }
  | { kind: 'hub-limits-unknown'; hubId: string; sinceMs: number; nodes: string[] }
  /** Another orchestrator publishes DLM events for a hub this one allocates (foreign.ts). */
  | { kind: 'foreign-orchestrator'; hubId: string; sinceMs: number; allocationId: string; lastMs: number };

/** An alarm raised or cleared (once per transition). */
export interface DlmAlarmEvent {
  state: 'raised' | 'cleared';
  ts: number;
  alarm: DlmAlarm;
}
