/**
 * Two orchestrators on one fleet: DLM events that claim to come from an orchestrator like this
 * one (`source`), for a hub this one allocates, that this one did not publish. Two allocators
 * each keeping Σ ≤ C for a hub can together set it above C, so this is an alarm, raised at the
 * first such event and cleared after `quietMs` without one. Seen when a second instance (not in
 * the cluster, another database, a test) runs on the same broker, or when a client forges
 * events.
 *
 * What is not foreign: an event whose allocation id this one published (its own echo, a
 * RESYNC); an event allocated before this one started managing the hub (the allocation id holds
 * its time: `hub:ms:seq`), i.e. the previous owner's in flight at a takeover, or this one's own
 * from before a restart; any event of a hub it does not manage. Pure; time is a parameter.
 */
import type { DlmAlarm, DlmAlarmEvent } from './types';

export interface ForeignEventOptions {
  /** An alarm clears after this long without a foreign event (ms). */
  quietMs: number;
  /**
   * Events allocated within this long after this one took a hub on are not judged (ms): the
   * previous owner's last events, stamped by a clock a little ahead of ours. Another
   * orchestrator goes on allocating and is seen after it.
   */
  graceMs: number;
  /** Allocation ids of our own events remembered (the oldest are forgotten first). */
  maxOwn: number;
}

export const DEFAULT_FOREIGN_OPTIONS: ForeignEventOptions = Object.freeze({
  quietMs: 300_000,
  graceMs: 5_000,
  maxOwn: 20_000,
});

/** The time in an allocation id `hub:ms:seq`, or null. */
export function allocationTimeMs(allocationId: string): number | null {
  const parts = allocationId.split(':');
  if (parts.length < 3) return null;
  const ms = Number(parts[parts.length - 2]);
  return Number.isFinite(ms) ? ms : null;
}

export class ForeignDlmEvents {
  private readonly own = new Set<string>();
  private readonly active = new Map<string, Extract<DlmAlarm, { kind: 'foreign-orchestrator' }>>();
  private readonly opts: ForeignEventOptions;

  constructor(opts: Partial<ForeignEventOptions> = {}) {
    this.opts = { ...DEFAULT_FOREIGN_OPTIONS, ...opts };
  }

  /** An event this orchestrator publishes (before it leaves). */
  sent(allocationId: string): void {
    this.own.delete(allocationId);
    this.own.add(allocationId);
    if (this.own.size > this.opts.maxOwn) this.own.delete(this.own.values().next().value as string);
  }

  /**
   * A DLM event seen on the bus for hubId, claiming `claimedSource`; `managedSinceMs`: since
   * when this orchestrator allocates the hub (undefined: it does not). Returns the alarm raised
   * by it, if any.
   */
  seen(
    e: { hubId: string; allocationId: string | null; claimedSource: string | null },
    ownSource: string,
    managedSinceMs: number | undefined,
    nowMs: number,
  ): DlmAlarmEvent | null {
    if (managedSinceMs === undefined || e.claimedSource !== ownSource || e.allocationId === null) return null;
    if (this.own.has(e.allocationId)) return null;
    const at = allocationTimeMs(e.allocationId);
    if (at !== null && at < managedSinceMs + this.opts.graceMs) return null;
    const was = this.active.get(e.hubId);
    const alarm = {
      kind: 'foreign-orchestrator' as const,
      hubId: e.hubId,
      sinceMs: was?.sinceMs ?? nowMs,
      allocationId: e.allocationId,
      lastMs: nowMs,
    };
    this.active.set(e.hubId, alarm);
    return was ? null : { state: 'raised', ts: nowMs, alarm };
  }

  /** Alarms cleared by quiet (none for quietMs) at nowMs. */
  tick(nowMs: number): DlmAlarmEvent[] {
    const out: DlmAlarmEvent[] = [];
    for (const [hub, a] of this.active)
      if (nowMs - a.lastMs >= this.opts.quietMs) {
        this.active.delete(hub);
        out.push({ state: 'cleared', ts: nowMs, alarm: a });
      }
    return out;
  }

  /** Active alarms, by hub. */
  list(): DlmAlarm[] {
    return [...this.active.values()].sort((a, b) => (a.hubId < b.hubId ? -1 : a.hubId > b.hubId ? 1 : 0));
  }
}
