/**
 * The DLM engine: turns the digital twin into per-hub allocations and limit commands.
 *
 * Owns one `HubLimitController` per hub and one `DlmScheduler`. The caller (the
 * `wpt-dlm-allocator` node) feeds it the twin's changes with `onChanges`, sets one timer
 * for `nextWakeMs()`, and at that time calls `tick` (confirmation timeouts) and `due`
 * (allocations of the hubs whose triggers are due). Pure: no I/O, no timers, no clock;
 * time is always a parameter.
 *
 * Triggers (from twin changes):
 * - hub-upserted with a capacity different from the one in use → CAPACITY_CHANGED;
 * - hub-state becoming available → RESYNC (re-send the limits in force, then allocate);
 * - node-state: → faulted NODE_FAULT, maintenance on/off NODE_MAINTENANCE,
 *   → charging VEHICLE_CONNECTED, → idle VEHICLE_DISCONNECTED, → full CHARGING_COMPLETE;
 * - node-assigned (a request) → VEHICLE_CONNECTED; assignment timed out → VEHICLE_DISCONNECTED;
 * - soc-class of a vehicle at a node → PRIORITY_SHIFT;
 * - node-upserted with a new max power → REBALANCE;
 * - node-telemetry → `controller.confirm(node, power_limit_kw)` (may release waiting
 *   increases at once) and, when the measured hub load Σ power_kw (latest telemetry of
 *   each node) rises above both C and the limits in force (decreases still in flight
 *   explain a load above a dropped C), GRID_OVERLOAD: due at once, no coalescing; edge
 *   triggered (once per excursion). The overload allocation sends every held decrease
 *   (hysteresis off) and re-sends their limit to the nodes drawing more than their limit
 *   in force (a node that missed a message is told again).
 * - plus REBALANCE every `rebalanceS` for each hub with a known capacity.
 *
 * Allocation of a hub: every node of the hub is in the allocation, sorted by nodeId;
 * active nodes (charging, or assigned by a request; not faulted, not in maintenance)
 * demand their max power, the others demand 0 and so go to limit 0 (only nodes that had
 * a limit get a command). critical = the vehicle's SoC class from the fleet is
 * 'critical' or it is a priority vehicle (the fleet's critical SoC, with hysteresis,
 * wins); only when the twin does not know the vehicle is `criticalSoc` of this config
 * compared with the node's SoC.
 *
 * Stale / offline hubs: no commands, and no controller state changes (no confirmations,
 * no timeouts, no allocations); the hub is marked for RESYNC, which runs when it is back:
 * the limits in force are re-sent first, then the hub is reallocated (every trigger missed
 * meanwhile is covered by that allocation, reason RESYNC), then confirmation timeouts that
 * passed meanwhile are settled.
 * `restore` loads the limits in force from storage at start and marks every hub for RESYNC.
 */
import { allocate } from './allocate';
import { HubLimitController, CAPACITY_EPSILON_KW, CONFIRM_TOLERANCE_KW } from './controller';
import { DlmScheduler } from './scheduler';
import type { AllocInput, AllocResult, DlmCommand, Policy, TriggerReason } from './types';
import type { HubView, NodeView, TwinChange, VehicleView } from '../twin/types';
import { encodeDlmNotification, type DLMNotification } from '../contract';

/** The part of the twin the engine reads (the `Twin` class satisfies it). */
export interface TwinView {
  hub(hubId: string): HubView | undefined;
  hubs(): HubView[];
  nodesOf(hubId: string): NodeView[];
  vehicle(vehicleId: string): VehicleView | undefined;
}

/** Settings that may differ per hub. */
export interface HubDlmSettings {
  policy: Policy;
  /** Share of the grid capacity kept back, 0..0.5. */
  reserve: number;
  /** Used only for vehicles the twin does not know (the fleet's SoC class wins). */
  criticalSoc: number;
  /** Hysteresis of the limit changes (kW). */
  minChangeKw: number;
}

export interface DlmEngineConfig extends HubDlmSettings {
  /** How long an unconfirmed decrease keeps counting at its old limit (s). */
  confirmTimeoutS: number;
  /** Period of REBALANCE (s). */
  rebalanceS: number;
  /** Coalescing window of triggers (ms). */
  coalesceMs: number;
  /** Per-hub overrides of the hub settings, by hubId. */
  overrides: Readonly<Record<string, Partial<HubDlmSettings>>>;
}

export const DEFAULT_DLM_CONFIG: DlmEngineConfig = Object.freeze({
  policy: 'soc-priority',
  reserve: 0,
  criticalSoc: 20,
  minChangeKw: 0.5,
  confirmTimeoutS: 10,
  rebalanceS: 5,
  coalesceMs: 50,
  overrides: Object.freeze({}),
});

/** A limit in force known from storage (latest orchestrator DLM event of the node). */
export interface RestoredLimit {
  hubId: string;
  nodeId: string;
  limitKw: number;
}

/** What the last allocation of a hub did (for status and inspection). */
export interface HubAllocationInfo {
  hubId: string;
  reason: TriggerReason;
  reasons: TriggerReason[];
  ts: number;
  result: AllocResult;
  /** Commands sent by this allocation (RESYNC re-sends included). */
  commands: number;
  /** Measured load (Σ power_kw of the latest telemetry) at the time. */
  measuredLoadKw: number;
}

const POLICIES: readonly Policy[] = ['equal', 'soc-priority'];
const SETTING_KEYS: ReadonlySet<string> = new Set(['policy', 'reserve', 'criticalSoc', 'minChangeKw']);

export type ConfigCheck<T> = { ok: true; value: T } | { ok: false; errors: string[] };

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function checkSetting(key: string, v: unknown, where: string, errors: string[]): void {
  switch (key) {
    case 'policy':
      if (!POLICIES.includes(v as Policy))
        errors.push(`${where}policy: must be one of ${POLICIES.join(', ')}`);
      break;
    case 'reserve':
      if (!isFiniteNumber(v) || v < 0 || v > 0.5) errors.push(`${where}reserve: must be a number in 0..0.5`);
      break;
    case 'criticalSoc':
      if (!isFiniteNumber(v) || v < 0 || v > 100)
        errors.push(`${where}criticalSoc: must be a number in 0..100`);
      break;
    case 'minChangeKw':
      if (!isFiniteNumber(v) || v < 0 || v > 350)
        errors.push(`${where}minChangeKw: must be a number in 0..350`);
      break;
    default:
      errors.push(`${where}${key}: unknown setting (allowed: ${[...SETTING_KEYS].join(', ')})`);
  }
}

/**
 * Parses and validates per-hub overrides: a JSON object (text or parsed) of
 * `{ "<hub_id>": { policy?, reserve?, criticalSoc?, minChangeKw? } }`. Empty text = none.
 */
export function parseOverrides(input: unknown): ConfigCheck<Record<string, Partial<HubDlmSettings>>> {
  let raw = input;
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    return { ok: true, value: {} };
  }
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw) as unknown;
    } catch (e) {
      return { ok: false, errors: [`overrides: not valid JSON (${(e as Error).message})`] };
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: ['overrides: must be a JSON object keyed by hub id'] };
  }
  const errors: string[] = [];
  const value: Record<string, Partial<HubDlmSettings>> = {};
  for (const [hubId, s] of Object.entries(raw as Record<string, unknown>)) {
    if (hubId.length < 1 || hubId.length > 50 || /[/+#]/.test(hubId)) {
      errors.push(`overrides: "${hubId.slice(0, 60)}" is not a valid hub id`);
      continue;
    }
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      errors.push(`overrides.${hubId}: must be an object such as {"policy": "equal", "reserve": 0.1}`);
      continue;
    }
    const entry: Partial<HubDlmSettings> = {};
    for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
      const before = errors.length;
      checkSetting(k, v, `overrides.${hubId}.`, errors);
      if (errors.length === before) (entry as Record<string, unknown>)[k] = v;
    }
    value[hubId] = entry;
  }
  return errors.length ? { ok: false, errors } : { ok: true, value };
}

/** Validates a full engine configuration (defaults for what is missing). */
export function checkDlmConfig(partial: Partial<DlmEngineConfig>): ConfigCheck<DlmEngineConfig> {
  const c: DlmEngineConfig = { ...DEFAULT_DLM_CONFIG, ...partial };
  const errors: string[] = [];
  for (const k of SETTING_KEYS) checkSetting(k, c[k as keyof HubDlmSettings], '', errors);
  if (!isFiniteNumber(c.confirmTimeoutS) || c.confirmTimeoutS < 0 || c.confirmTimeoutS > 3600)
    errors.push('confirmTimeoutS: must be a number in 0..3600');
  if (!isFiniteNumber(c.rebalanceS) || c.rebalanceS <= 0 || c.rebalanceS > 86400)
    errors.push('rebalanceS: must be a number in (0, 86400]');
  if (!isFiniteNumber(c.coalesceMs) || c.coalesceMs < 0 || c.coalesceMs > 60000)
    errors.push('coalesceMs: must be a number in 0..60000');
  const o = parseOverrides(c.overrides);
  if (!o.ok) errors.push(...o.errors);
  return errors.length
    ? { ok: false, errors }
    : { ok: true, value: { ...c, overrides: o.ok ? o.value : {} } };
}

/**
 * The DLMNotification payload of a command, in the contract's field names, validated by
 * the contract (`timestamp` with microseconds and `Z`), plus `allocation_id`, `policy` and
 * `source`.
 */
export function commandToNotification(cmd: DlmCommand, policy: Policy, source = 'wpt-dlm'): DLMNotification {
  return JSON.parse(
    encodeDlmNotification({
      trigger_reason: cmd.reason,
      original_limit: round6(cmd.originalLimitKw),
      new_limit: round6(cmd.newLimitKw),
      affected_node_id: cmd.nodeId,
      total_grid_load: round6(cmd.totalGridLoadKw),
      available_capacity: round6(cmd.availableCapacityKw),
      ts: cmd.ts,
      allocation_id: cmd.allocationId,
      policy,
      source,
    }),
  ) as DLMNotification;
}

/** Limits to 6 decimals (µW) on the wire; never rounds up past the value's kW range. */
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function kw(x: number | null | undefined): number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class DlmEngine {
  /** See takeWakeHint. */
  private wakeHint = true;
  readonly config: DlmEngineConfig;
  private readonly scheduler: DlmScheduler;
  private readonly controllers = new Map<string, HubLimitController>();
  /** Hubs whose next allocation starts with a RESYNC (restored, or skipped while unavailable). */
  private readonly resyncPending = new Set<string>();
  /** Hubs known to be stale/offline: no controller activity. */
  private readonly suspended = new Set<string>();
  /** Hubs whose measured load was above C at their last telemetry. */
  private readonly overloaded = new Set<string>();
  /** Latest measured power per node (from node-telemetry changes) and its sum, per hub. */
  private readonly power = new Map<string, { byNode: Map<string, number>; sum: number }>();
  private readonly last = new Map<string, HubAllocationInfo>();
  private lastInfo: HubAllocationInfo | null = null;

  constructor(config: Partial<DlmEngineConfig> = {}) {
    const checked = checkDlmConfig(config);
    if (!checked.ok) throw new RangeError(`DlmEngine: ${checked.errors.join('; ')}`);
    this.config = checked.value;
    this.scheduler = new DlmScheduler({
      coalesceMs: this.config.coalesceMs,
      rebalanceS: this.config.rebalanceS,
    });
  }

  /** Effective settings of one hub (config + its overrides). */
  settingsFor(hubId: string): HubDlmSettings {
    const o = Object.prototype.hasOwnProperty.call(this.config.overrides, hubId)
      ? this.config.overrides[hubId]
      : undefined;
    return {
      policy: o?.policy ?? this.config.policy,
      reserve: o?.reserve ?? this.config.reserve,
      criticalSoc: o?.criticalSoc ?? this.config.criticalSoc,
      minChangeKw: o?.minChangeKw ?? this.config.minChangeKw,
    };
  }

  /** C of a hub: max_grid_capacity_kw × (1 − reserve); null while the capacity is unknown. */
  capacityOf(hub: HubView | undefined): number | null {
    if (!hub || hub.maxGridCapacityKw === null) return null;
    return kw(hub.maxGridCapacityKw) * (1 - this.settingsFor(hub.hubId).reserve);
  }

  /** Hubs with a controller (their limits are managed), sorted. */
  hubsManaged(): string[] {
    return [...this.controllers.keys()].sort(cmp);
  }

  /** The controller of a hub (read-only use: inForce, published, pendingIncreases). */
  controller(hubId: string): HubLimitController | undefined {
    return this.controllers.get(hubId);
  }

  /** The last allocation of a hub, or of any hub. */
  lastAllocation(hubId?: string): HubAllocationInfo | null {
    return hubId === undefined ? this.lastInfo : (this.last.get(hubId) ?? null);
  }

  /** Σ power_kw of the latest telemetry of every node of the hub. */
  measuredLoadKw(twin: TwinView, hubId: string): number {
    let sum = 0;
    for (const n of twin.nodesOf(hubId)) sum += kw(n.telemetry?.powerKw);
    return sum;
  }

  /**
   * Limits in force from storage at start (replaces the state of those hubs). Every hub of
   * the twin with a known capacity gets a controller; every restored hub is RESYNCed once
   * it is available (at once for those available now).
   */
  restore(limits: readonly RestoredLimit[], twin: TwinView, nowMs: number): void {
    this.wakeHint = true;
    const byHub = new Map<string, Map<string, number>>();
    for (const l of limits) {
      let m = byHub.get(l.hubId);
      if (!m) byHub.set(l.hubId, (m = new Map()));
      m.set(l.nodeId, kw(l.limitKw));
    }
    for (const [hubId, m] of byHub) {
      const ctl = this.ensureController(hubId, twin.hub(hubId));
      ctl.restore(m);
      this.resyncPending.add(hubId);
    }
    for (const hub of twin.hubs()) {
      if (hub.maxGridCapacityKw !== null) this.ensureController(hub.hubId, hub);
    }
    for (const hubId of [...this.controllers.keys()].sort(cmp)) {
      const hub = twin.hub(hubId);
      if (hub?.available) {
        this.suspended.delete(hubId);
        if (this.resyncPending.has(hubId)) this.scheduler.trigger(hubId, 'RESYNC', nowMs);
        this.scheduler.track(hubId, nowMs);
      } else {
        this.suspended.add(hubId);
      }
    }
  }

  /**
   * Maps twin changes to triggers. Returns the commands that can be sent at once: increases
   * released by a confirmation in telemetry. Run `due` when `nextWakeMs()` is reached.
   */
  onChanges(changes: readonly TwinChange[], twin: TwinView, nowMs: number): DlmCommand[] {
    const out: DlmCommand[] = [];
    const trigger = (hubId: string, reason: TriggerReason): void => {
      this.scheduler.trigger(hubId, reason, nowMs);
      this.wakeHint = true;
    };
    const overloadChecked = new Set<string>();
    for (const c of changes) {
      switch (c.type) {
        case 'hub-upserted': {
          const hub = twin.hub(c.hubId) ?? c.hub;
          const C = this.capacityOf(hub);
          if (C === null) break;
          const existing = this.controllers.get(c.hubId);
          const ctl = this.ensureController(c.hubId, hub);
          if (
            !existing ||
            existing.capacityKw !== C ||
            c.previous?.maxGridCapacityKw !== hub.maxGridCapacityKw
          ) {
            ctl.setCapacity(C);
            trigger(c.hubId, 'CAPACITY_CHANGED');
          }
          if (hub.available && !this.suspended.has(c.hubId)) this.scheduler.track(c.hubId, nowMs);
          break;
        }
        case 'hub-state': {
          const hub = twin.hub(c.hubId);
          const available = hub ? hub.available : c.available;
          if (available) {
            const wasSuspended = this.suspended.delete(c.hubId);
            if (!c.previousAvailable || wasSuspended) {
              this.resyncPending.add(c.hubId);
              trigger(c.hubId, 'RESYNC');
            }
            if (this.controllers.has(c.hubId)) this.scheduler.track(c.hubId, nowMs);
          } else {
            this.suspend(c.hubId);
          }
          break;
        }
        case 'node-state': {
          if (c.maintenance !== c.previousMaintenance) trigger(c.hubId, 'NODE_MAINTENANCE');
          if (c.state !== c.previousState) {
            const r = NODE_STATE_REASON[c.state];
            if (r) trigger(c.hubId, r);
          }
          break;
        }
        case 'node-upserted':
          if (!c.created && c.previous && c.previous.maxPowerKw !== c.node.maxPowerKw)
            trigger(c.hubId, 'REBALANCE');
          break;
        case 'node-assigned':
          trigger(c.hubId, 'VEHICLE_CONNECTED');
          break;
        case 'node-assignment-cleared':
          if (c.reason === 'timeout') trigger(c.hubId, 'VEHICLE_DISCONNECTED');
          break;
        case 'soc-class':
          if (c.hubId !== null) trigger(c.hubId, 'PRIORITY_SHIFT');
          break;
        case 'node-telemetry': {
          if (!this.isActiveHub(c.hubId, twin, nowMs)) break;
          const ctl = this.controllers.get(c.hubId);
          if (!ctl) break;
          // A limit we never set (the hub's boot default or its own DLM) is in force too: if
          // the limits now sum above C, reallocate so the surplus is cut.
          if (
            ctl.observe(c.nodeId, c.powerLimitKw) &&
            ctl.totalInForceKw() > ctl.capacityKw + CAPACITY_EPSILON_KW
          ) {
            trigger(c.hubId, 'REBALANCE');
          }
          out.push(...ctl.confirm(c.nodeId, c.powerLimitKw, nowMs));
          if (overloadChecked.has(c.hubId)) {
            this.trackPower(c.hubId, c.nodeId, c.powerKw, twin);
          } else {
            overloadChecked.add(c.hubId);
            const C = this.capacityOf(twin.hub(c.hubId));
            // Load up to the limits in force (decreases still in flight) is explained: only
            // what is above both C and them is an overload (a node ignoring its limit).
            const over =
              C !== null &&
              this.trackPower(c.hubId, c.nodeId, c.powerKw, twin) >
                Math.max(C, ctl.totalInForceKw()) + CONFIRM_TOLERANCE_KW;
            if (over && !this.overloaded.has(c.hubId)) trigger(c.hubId, 'GRID_OVERLOAD');
            if (over) this.overloaded.add(c.hubId);
            else this.overloaded.delete(c.hubId);
          }
          break;
        }
        default:
          break;
      }
    }
    return out;
  }

  /** Confirmation timeouts of available hubs: returns the increases that now fit. */
  tick(nowMs: number): DlmCommand[] {
    const out: DlmCommand[] = [];
    for (const hubId of [...this.controllers.keys()].sort(cmp)) {
      if (this.suspended.has(hubId) || this.resyncPending.has(hubId)) continue;
      const ctl = this.controllers.get(hubId) as HubLimitController;
      const d = ctl.nextDeadlineMs();
      if (d !== null && d <= nowMs) out.push(...ctl.tick(nowMs));
    }
    return out;
  }

  /** Runs the allocations that are due; returns their commands in publishing order. */
  due(twin: TwinView, nowMs: number): DlmCommand[] {
    const out: DlmCommand[] = [];
    for (const d of this.scheduler.due(nowMs)) {
      const hub = twin.hub(d.hubId);
      const C = this.capacityOf(hub);
      if (!hub || C === null) continue; // nothing to allocate before the hub's info
      if (!hub.available) {
        // Triggers are not lost: the hub is RESYNCed (and reallocated) when it is back.
        this.suspend(d.hubId);
        continue;
      }
      this.suspended.delete(d.hubId);
      const ctl = this.ensureController(d.hubId, hub);
      ctl.setCapacity(C);
      const cfg = this.settingsFor(d.hubId);
      const cmds: DlmCommand[] = [];
      if (this.resyncPending.delete(d.hubId) || d.reasons.includes('RESYNC')) cmds.push(...ctl.resync(nowMs));
      const nodes = twin.nodesOf(d.hubId);
      const inputs = nodes.map((n) => this.allocInput(n, twin, cfg)).sort((a, b) => cmp(a.nodeId, b.nodeId));
      const result = allocate(kw(hub.maxGridCapacityKw), inputs, {
        policy: cfg.policy,
        reserve: cfg.reserve,
      });
      const measured = this.measuredLoadKw(twin, d.hubId);
      const applied = ctl.apply(result, d.reason, nowMs, { gridLoadKw: measured });
      cmds.push(...applied);
      // Confirmation timeouts wait for the RESYNC of a hub that was away: settle them now.
      cmds.push(...ctl.tick(nowMs));
      if (d.reason === 'GRID_OVERLOAD') cmds.push(...this.retell(ctl, nodes, applied, nowMs));
      out.push(...cmds);
      this.scheduler.track(d.hubId, nowMs);
      const info: HubAllocationInfo = {
        hubId: d.hubId,
        reason: d.reason,
        reasons: d.reasons,
        ts: nowMs,
        result,
        commands: cmds.length,
        measuredLoadKw: measured,
      };
      this.last.set(d.hubId, info);
      this.lastInfo = info;
    }
    return out;
  }

  /** When `tick`/`due` next have something to do (epoch ms), or null. */
  /**
   * True when `nextWakeMs()` may have moved earlier since the last call of this (a trigger
   * was recorded, or state was restored); resets the hint. Telemetry that only confirms limits
   * never moves it earlier, so a caller can skip recomputing the wake time — an O(hubs)
   * scan — for most messages.
   */
  takeWakeHint(): boolean {
    const h = this.wakeHint;
    this.wakeHint = false;
    return h;
  }

  nextWakeMs(): number | null {
    let next = this.scheduler.nextWakeMs();
    for (const [hubId, ctl] of this.controllers) {
      if (this.suspended.has(hubId) || this.resyncPending.has(hubId)) continue;
      const d = ctl.nextDeadlineMs();
      if (d !== null && (next === null || d < next)) next = d;
    }
    return next;
  }

  /** Is the node active (wants power) for the allocation? */
  static isActive(n: NodeView): boolean {
    if (n.state === 'faulted' || n.maintenance) return false;
    return n.state === 'charging' || n.assignedVehicleId !== null;
  }

  private allocInput(n: NodeView, twin: TwinView, cfg: HubDlmSettings): AllocInput {
    const maxPowerKw = kw(n.maxPowerKw);
    if (!DlmEngine.isActive(n))
      return { nodeId: n.nodeId, maxPowerKw, demandKw: 0, soc: null, critical: false };
    const v = n.vehicleId !== null ? twin.vehicle(n.vehicleId) : undefined;
    const soc = v?.soc ?? n.assignedSoc ?? n.telemetry?.soc ?? null;
    const critical = v ? v.socClass === 'critical' || v.priority : soc !== null && soc < cfg.criticalSoc;
    return { nodeId: n.nodeId, maxPowerKw, soc, critical };
  }

  /**
   * GRID_OVERLOAD: nodes drawing more than the limit published to them are told their
   * limit again (unless this allocation just sent them one). Changes no state.
   */
  private retell(
    ctl: HubLimitController,
    nodes: readonly NodeView[],
    sent: DlmCommand[],
    nowMs: number,
  ): DlmCommand[] {
    const told = new Set(sent.map((c) => c.nodeId));
    const published = ctl.published();
    const inForce = ctl.inForce();
    const total = ctl.totalInForceKw();
    const out: DlmCommand[] = [];
    const allocationId = sent[0]?.allocationId ?? `${ctl.hubId}:${nowMs}:overload`;
    for (const n of [...nodes].sort((a, b) => cmp(a.nodeId, b.nodeId))) {
      if (told.has(n.nodeId) || !n.telemetry) continue;
      const limit = published.get(n.nodeId) ?? 0;
      if (n.telemetry.powerKw > (inForce.get(n.nodeId) ?? 0) + CONFIRM_TOLERANCE_KW) {
        out.push({
          hubId: ctl.hubId,
          nodeId: n.nodeId,
          originalLimitKw: limit,
          newLimitKw: limit,
          reason: 'GRID_OVERLOAD',
          allocationId,
          ts: nowMs,
          totalGridLoadKw: total,
          availableCapacityKw: Math.max(0, ctl.capacityKw - total),
        });
      }
    }
    return out;
  }

  /**
   * Updates the measured power of a node and returns the hub's Σ (incremental: telemetry
   * arrives thousands of times a second). Seeded from the twin the first time.
   */
  private trackPower(hubId: string, nodeId: string, powerKw: number, twin: TwinView): number {
    let p = this.power.get(hubId);
    if (!p) {
      p = { byNode: new Map(), sum: 0 };
      for (const n of twin.nodesOf(hubId)) p.byNode.set(n.nodeId, kw(n.telemetry?.powerKw));
      this.power.set(hubId, p);
    }
    const v = kw(powerKw);
    p.byNode.set(nodeId, v);
    let sum = 0;
    for (const x of p.byNode.values()) sum += x;
    p.sum = sum;
    return sum;
  }

  /** Available now? A hub back without a hub-state change we saw is RESYNCed. */
  private isActiveHub(hubId: string, twin: TwinView, nowMs: number): boolean {
    const hub = twin.hub(hubId);
    if (!hub?.available) {
      this.suspend(hubId);
      return false;
    }
    if (this.suspended.delete(hubId)) {
      this.resyncPending.add(hubId);
      this.scheduler.trigger(hubId, 'RESYNC', nowMs);
      this.scheduler.track(hubId, nowMs);
    }
    return true;
  }

  private suspend(hubId: string): void {
    if (this.controllers.has(hubId)) this.resyncPending.add(hubId);
    this.suspended.add(hubId);
    this.overloaded.delete(hubId);
    this.scheduler.untrack(hubId);
  }

  private ensureController(hubId: string, hub: HubView | undefined): HubLimitController {
    let ctl = this.controllers.get(hubId);
    if (!ctl) {
      const cfg = this.settingsFor(hubId);
      ctl = new HubLimitController(hubId, {
        capacityKw: this.capacityOf(hub) ?? 0,
        minChangeKw: cfg.minChangeKw,
        confirmTimeoutS: this.config.confirmTimeoutS,
      });
      this.controllers.set(hubId, ctl);
    }
    return ctl;
  }
}

const NODE_STATE_REASON: Partial<Record<NodeView['state'], TriggerReason>> = {
  faulted: 'NODE_FAULT',
  charging: 'VEHICLE_CONNECTED',
  idle: 'VEHICLE_DISCONNECTED',
  full: 'CHARGING_COMPLETE',
};
