/**
 * The DLM engine: turns the digital twin into per-hub allocations and limit commands.
 *
 * Owns one `HubLimitController` per hub and one `DlmScheduler`. The caller (the
 * `wpt-dlm-allocator` node) feeds it the twin's changes with `onChanges`, tells it when its
 * broker connection goes down and up (`brokerDown` / `brokerUp`), sets one timer for
 * `nextWakeMs()`, and at that time calls `tick` (re-sends of unconfirmed limits) and `due`
 * (allocations of the hubs whose triggers are due). Alarms (a hub ignoring commands, a hub
 * waiting for its info) come from `takeAlarmEvents` / `alarms`. Pure: no I/O, no timers, no
 * clock; time is always a parameter.
 *
 * Triggers: see triggers.ts; plus hub-state becoming available → RESYNC, node-telemetry →
 * the controller's confirmation (may release waiting increases at once), a report of a
 * limit we never commanded that puts Σ in force above C → REBALANCE, GRID_OVERLOAD (see
 * overload.ts: due at once, no coalescing; the allocation sends every held decrease and
 * re-sends their limit to the nodes drawing more than it), a capacity override's window
 * starting or ending → CAPACITY_CHANGED, and REBALANCE every `rebalanceS` for each hub.
 *
 * Allocation of a hub: see hub-allocation.ts (runAllocation; an inactive hub's zeros go out as
 * HUB_INACTIVE).
 *
 * A hub whose capacity is unknown is not allocated ("waiting for hub info"). Stale / offline
 * hubs, and every hub while the broker connection is down: no commands and no allocations,
 * RESYNC when back (see presence.ts). `restore` loads the limits stored before a restart —
 * only a hint, see restart.ts — and marks every hub for RESYNC.
 */
import { AlarmBoard } from './alarms';
import { HubLimitController, CAPACITY_EPSILON_KW } from './controller';
import { checkDlmConfig, settingsFor, type DlmEngineConfig, type HubDlmSettings } from './config';
import { CapacityEdges, effectiveCapacityKw, gridCapacityKw } from './effective';
import { runAllocation, type HubAllocationInfo, type TwinView } from './hub-allocation';
import { OverloadMonitor, measuredLoadKw } from './overload';
import { HubPresence } from './presence';
import { WIRE_RESOLUTION_KW } from './quantize';
import { maxPowerByNode, restoredByHub, type RestoredLimit } from './restart';
import { DlmScheduler } from './scheduler';
import { hubUpsertReason, nodeChangeReasons } from './triggers';
import type { DlmAlarm, DlmAlarmEvent, DlmCommand, TriggerReason } from './types';
import type { HubView, TwinChange } from '../twin/types';

export type { HubAllocationInfo, TwinView } from './hub-allocation';
export type { RestoredLimit } from './restart';

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class DlmEngine {
  readonly config: DlmEngineConfig;
  private wakeHint = true;
  private readonly scheduler: DlmScheduler;
  private readonly controllers = new Map<string, HubLimitController>();
  /** Hubs whose capacity is known (they may still be waiting while it was unknown). */
  private readonly known = new Set<string>();
  /** Hubs away (or all, broker down) and hubs awaiting their RESYNC. */
  private readonly presence: HubPresence;
  private readonly overload = new OverloadMonitor();
  /** Next start or end of a capacity override window, by hub. */
  private readonly edges = new CapacityEdges();
  private readonly alarms_ = new AlarmBoard();
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
    this.presence = new HubPresence({
      scheduler: this.scheduler,
      overload: this.overload,
      trigger: (hubId, reason, nowMs) => this.trigger(hubId, reason, nowMs),
      managed: (hubId) => this.controllers.has(hubId),
    });
  }

  /** Effective settings of one hub (config + its overrides). */
  settingsFor(hubId: string): HubDlmSettings {
    return settingsFor(this.config, hubId);
  }

  /** C of a hub at nowMs (0 when an operator switched it off); null while its capacity is unknown. */
  capacityOf(hub: HubView | undefined, nowMs: number): number | null {
    return effectiveCapacityKw(hub, hub ? this.settingsFor(hub.hubId).reserve : 0, nowMs);
  }

  /** Hubs with a controller (their limits are managed), sorted. */
  hubsManaged(): string[] {
    return [...this.controllers.keys()].sort(cmp);
  }

  /** The controller of a hub (read-only use: inForce, published, pendingIncreases, held). */
  controller(hubId: string): HubLimitController | undefined {
    return this.controllers.get(hubId);
  }

  /** The last allocation of a hub, or of any hub. */
  lastAllocation(hubId?: string): HubAllocationInfo | null {
    return hubId === undefined ? this.lastInfo : (this.last.get(hubId) ?? null);
  }

  /** Σ power_kw of the latest telemetry of every node of the hub. */
  measuredLoadKw(twin: TwinView, hubId: string): number {
    return measuredLoadKw(twin.nodesOf(hubId));
  }

  /** Hubs not allocated because their capacity is unknown ("waiting for hub info — not allocating"), sorted. */
  waitingHubs(): Array<{ hubId: string; sinceMs: number }> {
    return this.alarms_.waitingHubs();
  }

  /** Alarms active now, sorted by hub, kind and node. */
  alarms(): DlmAlarm[] {
    return this.alarms_.list();
  }

  /** Alarms raised or cleared since the last call (once per transition), oldest first. */
  takeAlarmEvents(): DlmAlarmEvent[] {
    return this.alarms_.take();
  }

  /** Since when our broker connection is down (epoch ms), or null while it is up. */
  brokerDownSinceMs(): number | null {
    return this.presence.brokerDownSinceMs();
  }

  /**
   * Our broker connection is down (also call it at start until the first connection): nothing
   * is sent (it would be lost), triggers are kept, reports are not used (limits sent before
   * may still be on their way). Every hub is RESYNCed on `brokerUp`.
   */
  brokerDown(nowMs: number): void {
    this.presence.brokerDown(nowMs);
    this.wakeHint = true;
  }

  /**
   * Our broker connection is back: every managed hub may have missed commands (ours, dropped
   * while we were away, or its own), so each is RESYNCed before anything else is released.
   */
  brokerUp(twin: TwinView, nowMs: number): void {
    if (!this.presence.brokerUp()) return;
    this.wakeHint = true;
    for (const hubId of this.hubsManaged()) this.presence.resyncWhenAvailable(hubId, twin, nowMs);
  }

  /**
   * At start: the limits stored before (latest DLM event of each node — only a hint, see
   * restart.ts). Every hub of the twin with a known capacity, and every hub stored, gets a
   * controller restored from them and the max power of its nodes: each node counts at
   * max(stored, its max power) until the hub's reports settle it. Each is RESYNCed once it is
   * available (at once for those available now).
   */
  restore(limits: readonly RestoredLimit[], twin: TwinView, nowMs: number): void {
    const hubIds = [...twin.hubs().map((h) => h.hubId), ...this.hubsManaged(), ...limits.map((l) => l.hubId)];
    this.restoreHubs(hubIds, limits, twin, nowMs);
  }

  /**
   * What `restore` does, for these hubs only (cluster mode: the hubs this instance just
   * acquired; the limits stored by their previous owner are a hint). Other hubs are not touched.
   */
  restoreHubs(
    hubIds: readonly string[],
    limits: readonly RestoredLimit[],
    twin: TwinView,
    nowMs: number,
  ): void {
    this.wakeHint = true;
    const byHub = restoredByHub(limits);
    for (const hubId of [...new Set(hubIds)].sort(cmp)) {
      const hub = twin.hub(hubId);
      if (hub) this.updateEdge(hubId, hub, nowMs);
      const known = hub !== undefined && this.capacityOf(hub, nowMs) !== null;
      if (!known) this.checkWaiting(hubId, twin, nowMs);
      if (!known && !byHub.has(hubId)) continue;
      const ctl = this.ensureController(hubId, hub, nowMs);
      ctl.restore(byHub.get(hubId) ?? new Map(), nowMs, maxPowerByNode(twin.nodesOf(hubId)));
      this.presence.resyncWhenAvailable(hubId, twin, nowMs);
    }
  }

  /**
   * Cluster mode, a hub acquired that never had an owner before (lease epoch 1) and has no
   * limit stored: nothing was ever sent to it by us, so it is managed as a hub seen for the
   * first time (its reported limits are in force), as a single instance does.
   */
  adoptHubs(hubIds: readonly string[], twin: TwinView, nowMs: number): void {
    this.wakeHint = true;
    for (const hubId of [...new Set(hubIds)].sort(cmp)) {
      const hub = twin.hub(hubId);
      if (!hub) continue; // its info will come as a change
      this.onHubUpserted(hubId, hub, null, nowMs);
      if (!this.known.has(hubId)) this.checkWaiting(hubId, twin, nowMs);
    }
  }

  /**
   * Cluster mode, a hub this instance no longer owns: it is no longer managed at once (no
   * command, no re-send, no alarm); its next owner restores it from storage.
   */
  dropHub(hubId: string, nowMs: number): void {
    this.forget(hubId, nowMs);
  }

  /**
   * Maps twin changes to triggers and reports. Returns the commands that can be sent at
   * once: increases released by a confirmation in telemetry. Run `due` when `nextWakeMs()`
   * is reached.
   */
  onChanges(changes: readonly TwinChange[], twin: TwinView, nowMs: number): DlmCommand[] {
    const out: DlmCommand[] = [];
    const checked = new Set<string>();
    for (const c of changes) {
      switch (c.type) {
        case 'hub-upserted':
          this.onHubUpserted(c.hubId, twin.hub(c.hubId) ?? c.hub, c.previous, nowMs);
          break;
        case 'hub-state': {
          const hub = twin.hub(c.hubId);
          this.presence.onHubState(c.hubId, hub ? hub.available : c.available, c.previousAvailable, nowMs);
          break;
        }
        case 'hub-deleted':
          this.forget(c.hubId, nowMs);
          continue;
        case 'node-telemetry':
          out.push(...this.onReport(c.hubId, c.nodeId, c.powerLimitKw, c.powerKw, twin, nowMs, checked));
          break;
        default:
          for (const r of nodeChangeReasons(c)) this.trigger((c as { hubId: string }).hubId, r, nowMs);
      }
      const hubId = (c as { hubId?: unknown }).hubId;
      if (typeof hubId === 'string' && !this.known.has(hubId)) this.checkWaiting(hubId, twin, nowMs);
    }
    return out;
  }

  /** Re-sends of limits the hubs' reports do not confirm (backoff); returns them with the increases they free. */
  tick(nowMs: number): DlmCommand[] {
    const out: DlmCommand[] = [];
    if (this.presence.brokerIsDown()) return out;
    for (const hubId of this.hubsManaged()) {
      const ctl = this.controllers.get(hubId) as HubLimitController;
      if (!this.presence.isHeld(hubId)) {
        const d = ctl.nextDeadlineMs();
        if (d !== null && d <= nowMs) out.push(...ctl.tick(nowMs));
      }
      this.alarms_.sync(ctl, nowMs); // a hub still unsettled after a restart: also while away
    }
    return out;
  }

  /** Runs the allocations that are due; returns their commands in publishing order. */
  due(twin: TwinView, nowMs: number): DlmCommand[] {
    const out: DlmCommand[] = [];
    if (this.presence.brokerIsDown()) return out;
    for (const hubId of this.edges.due(nowMs)) {
      this.trigger(hubId, 'CAPACITY_CHANGED', nowMs);
      this.updateEdge(hubId, twin.hub(hubId), nowMs);
    }
    for (const d of this.scheduler.due(nowMs)) {
      const hub = twin.hub(d.hubId);
      const C = this.capacityOf(hub, nowMs);
      if (!hub || C === null) continue; // waiting for the hub's info: its alarm says so
      if (!hub.available) {
        this.presence.suspend(d.hubId); // triggers are not lost: RESYNC and reallocation when it is back
        continue;
      }
      this.presence.resume(d.hubId);
      const ctl = this.ensureController(d.hubId, hub, nowMs);
      ctl.setCapacity(C);
      const resync = this.presence.takeResync(d.hubId) || d.reasons.includes('RESYNC');
      const { commands, info } = runAllocation(ctl, hub, twin, this.settingsFor(d.hubId), d, resync, nowMs);
      this.alarms_.sync(ctl, nowMs);
      out.push(...commands);
      this.scheduler.track(d.hubId, nowMs);
      this.last.set(d.hubId, info);
      this.lastInfo = info;
    }
    return out;
  }

  /**
   * True when `nextWakeMs()` may have moved earlier since the last call of this (a trigger
   * was recorded, state was restored, the broker came back); resets the hint. Telemetry that
   * only confirms limits never moves it earlier, so a caller can skip recomputing the wake
   * time — an O(hubs) scan — for most messages.
   */
  takeWakeHint(): boolean {
    const h = this.wakeHint;
    this.wakeHint = false;
    return h;
  }

  /** When `tick`/`due` next have something to do (epoch ms), or null (nothing, or broker down). */
  nextWakeMs(): number | null {
    if (this.presence.brokerIsDown()) return null;
    let next = this.scheduler.nextWakeMs();
    for (const [hubId, ctl] of this.controllers) {
      const a = this.alarms_.restartAlarmAtMs(ctl);
      if (a !== null && (next === null || a < next)) next = a;
      if (this.presence.isHeld(hubId)) continue;
      const d = ctl.nextDeadlineMs();
      if (d !== null && (next === null || d < next)) next = d;
    }
    const edge = this.edges.next();
    if (edge !== null && (next === null || edge < next)) next = edge;
    return next;
  }

  private trigger(hubId: string, reason: TriggerReason, nowMs: number): void {
    this.scheduler.trigger(hubId, reason, nowMs);
    this.wakeHint = true;
  }

  private onHubUpserted(hubId: string, hub: HubView, previous: HubView | null, nowMs: number): void {
    this.updateEdge(hubId, hub, nowMs);
    const C = this.capacityOf(hub, nowMs);
    if (C === null) return; // waiting: see checkWaiting
    this.known.add(hubId);
    this.alarms_.setWaiting(hubId, false, nowMs);
    const existing = this.controllers.get(hubId);
    const ctl = this.ensureController(hubId, hub, nowMs);
    const reason = hubUpsertReason(previous, hub);
    if (!existing || existing.capacityKw !== C || reason !== null) {
      ctl.setCapacity(C);
      this.trigger(hubId, reason ?? 'CAPACITY_CHANGED', nowMs);
    }
    if (hub.available && !this.presence.isSuspended(hubId)) this.scheduler.track(hubId, nowMs);
  }

  private onReport(
    hubId: string,
    nodeId: string,
    limitKw: number,
    powerKw: number,
    twin: TwinView,
    nowMs: number,
    checked: Set<string>,
  ): DlmCommand[] {
    if (!this.presence.isActiveHub(hubId, twin, nowMs)) return [];
    const ctl = this.controllers.get(hubId);
    // Until the RESYNC after an absence (of the hub or of our broker connection) has run,
    // limits sent before it may still be on their way: reports wait for it.
    if (!ctl || this.presence.awaitsResync(hubId) || this.presence.brokerIsDown()) return [];
    const effect = ctl.report(nodeId, limitKw, nowMs);
    // A limit we never set (the hub's boot default or its own DLM) is in force too: if the
    // limits now sum above C, reallocate so the surplus is cut.
    if (effect === 'raised' && ctl.totalInForceKw() > ctl.capacityKw + CAPACITY_EPSILON_KW)
      this.trigger(hubId, 'REBALANCE', nowMs);
    const out = effect !== 'none' ? ctl.release(nowMs) : [];
    const nodesOf = () => twin.nodesOf(hubId);
    if (checked.has(hubId)) {
      this.overload.track(hubId, nodeId, powerKw, nodesOf);
    } else {
      checked.add(hubId);
      if (this.overload.onTelemetry(hubId, nodeId, powerKw, nodesOf, ctl.capacityKw, ctl.totalInForceKw()))
        this.trigger(hubId, 'GRID_OVERLOAD', nowMs);
    }
    this.alarms_.sync(ctl, nowMs);
    return out;
  }

  /**
   * An operator deleted the hub: it is no longer managed (no command, no REBALANCE, no alarm).
   * Should it come back on MQTT, it is a new hub: its reported limits are adopted as in force.
   */
  private forget(hubId: string, nowMs: number): void {
    this.controllers.delete(hubId);
    this.known.delete(hubId);
    this.presence.forget(hubId);
    this.overload.forget(hubId);
    this.edges.update(hubId, undefined, nowMs);
    this.alarms_.forgetHub(hubId, nowMs);
    this.alarms_.setWaiting(hubId, false, nowMs);
    this.scheduler.untrack(hubId, true);
    this.last.delete(hubId);
    this.wakeHint = true;
  }

  private updateEdge(hubId: string, hub: HubView | undefined, nowMs: number): void {
    if (this.edges.update(hubId, hub, nowMs)) this.wakeHint = true;
  }

  private checkWaiting(hubId: string, twin: TwinView, nowMs: number): void {
    const hub = twin.hub(hubId);
    if (!hub) return;
    if (gridCapacityKw(hub, nowMs) === null) this.alarms_.setWaiting(hubId, true, nowMs);
    else this.known.add(hubId);
  }

  private ensureController(hubId: string, hub: HubView | undefined, nowMs: number): HubLimitController {
    let ctl = this.controllers.get(hubId);
    if (!ctl) {
      ctl = new HubLimitController(hubId, {
        capacityKw: this.capacityOf(hub, nowMs) ?? 0,
        minChangeKw: this.settingsFor(hubId).minChangeKw,
        resendS: this.config.resendS,
        resendMaxS: this.config.resendMaxS,
        deliveryWindowS: this.config.deliveryWindowS,
        resolutionKw: WIRE_RESOLUTION_KW,
      });
      this.controllers.set(hubId, ctl);
    }
    return ctl;
  }
}
