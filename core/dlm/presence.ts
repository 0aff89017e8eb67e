/**
 * Which hubs the DLM engine may act on. Stale / offline hubs (suspended), and every hub while
 * our broker connection is down: no commands and no allocations, reports not used (limits sent
 * before may still be on their way). A hub is RESYNCed when it is back (controller.resync:
 * break before make, increases held until every node reported), then reallocated (every
 * trigger missed meanwhile is covered by that allocation); until that RESYNC has run, its
 * re-sends wait and its reports are not used.
 *
 * The engine's scheduler and overload monitor follow it: a suspended hub is untracked and its
 * overload state forgotten; a hub coming back gets a RESYNC trigger and is tracked again.
 * Pure: time is a parameter.
 */
import type { TwinView } from './hub-allocation';
import type { OverloadMonitor } from './overload';
import type { DlmScheduler } from './scheduler';
import type { TriggerReason } from './types';

export interface PresenceHooks {
  scheduler: DlmScheduler;
  overload: OverloadMonitor;
  /** Records a trigger (the engine's: the scheduler's, plus its wake hint). */
  trigger(hubId: string, reason: TriggerReason, nowMs: number): void;
  /** Does the hub have a controller (are its limits managed)? */
  managed(hubId: string): boolean;
}

export class HubPresence {
  private downSince: number | null = null;
  /** Hubs whose next allocation starts with a RESYNC (restored, or skipped while away). */
  private readonly resyncPending = new Set<string>();
  /** Hubs known to be stale/offline: no controller activity. */
  private readonly suspended = new Set<string>();

  constructor(private readonly hooks: PresenceHooks) {}

  /** Since when our broker connection is down (epoch ms), or null while it is up. */
  brokerDownSinceMs(): number | null {
    return this.downSince;
  }

  brokerIsDown(): boolean {
    return this.downSince !== null;
  }

  brokerDown(nowMs: number): void {
    this.downSince ??= nowMs;
  }

  /** The connection is back; false when it was not down. */
  brokerUp(): boolean {
    if (this.downSince === null) return false;
    this.downSince = null;
    return true;
  }

  isSuspended(hubId: string): boolean {
    return this.suspended.has(hubId);
  }

  /** Still to be RESYNCed: limits sent before its absence may still be on their way. */
  awaitsResync(hubId: string): boolean {
    return this.resyncPending.has(hubId);
  }

  /** Suspended or awaiting its RESYNC: no re-sends. */
  isHeld(hubId: string): boolean {
    return this.suspended.has(hubId) || this.resyncPending.has(hubId);
  }

  /** The hub is allocated now: no longer suspended. */
  resume(hubId: string): void {
    this.suspended.delete(hubId);
  }

  /** Takes the hub's pending RESYNC (true when its allocation must start with one). */
  takeResync(hubId: string): boolean {
    return this.resyncPending.delete(hubId);
  }

  /** The twin's hub-state change: RESYNC when it is back; suspended when it is not available. */
  onHubState(hubId: string, available: boolean, previousAvailable: boolean, nowMs: number): void {
    if (available) {
      if (this.suspended.delete(hubId) || !previousAvailable) this.comeBack(hubId, nowMs);
      if (this.hooks.managed(hubId)) this.hooks.scheduler.track(hubId, nowMs);
    } else {
      this.suspend(hubId);
    }
  }

  /** Available now? A hub back without a hub-state change we saw is RESYNCed. */
  isActiveHub(hubId: string, twin: TwinView, nowMs: number): boolean {
    if (!twin.hub(hubId)?.available) {
      this.suspend(hubId);
      return false;
    }
    if (this.suspended.delete(hubId)) this.comeBack(hubId, nowMs);
    return true;
  }

  /** The hub (or our broker connection) was away: RESYNC first, when the hub is available. */
  resyncWhenAvailable(hubId: string, twin: TwinView, nowMs: number): void {
    this.resyncPending.add(hubId);
    if (!twin.hub(hubId)?.available) this.suspend(hubId);
    else {
      this.suspended.delete(hubId);
      this.comeBack(hubId, nowMs);
    }
  }

  suspend(hubId: string): void {
    if (this.hooks.managed(hubId)) this.resyncPending.add(hubId);
    this.suspended.add(hubId);
    this.hooks.overload.forget(hubId);
    this.hooks.scheduler.untrack(hubId);
  }

  /** The hub is no longer managed. */
  forget(hubId: string): void {
    this.resyncPending.delete(hubId);
    this.suspended.delete(hubId);
  }

  private comeBack(hubId: string, nowMs: number): void {
    this.resyncPending.add(hubId);
    this.hooks.trigger(hubId, 'RESYNC', nowMs);
    this.hooks.scheduler.track(hubId, nowMs);
  }
}
