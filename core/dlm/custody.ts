// Cluster mode (issue #14): which hubs this instance's DLM engine manages, following the leases
// of the cluster. A hub is managed from the moment it is taken over (its limits in force
// restored from storage, then RESYNC, as at a restart) until its fence closes (the lease may be
// gone: dropped at once, no command, no re-send; its next owner restores it). Commands leave
// only for hubs managed with an open fence, checked right before each batch.
//
// The leases are injected (the wpt-cluster config node in Node-RED, a fake in tests); time is
// a parameter. A single instance has no custody: it manages every hub.
import type { DlmEngine, RestoredLimit, TwinView } from './engine';
import type { DlmCommand } from './types';
import type { TwinChange } from '../twin/types';

/** What the custody needs of the cluster's lease book. */
export interface HubLeases {
  /** The fence: may this instance publish for the hub now? */
  mayPublish(hubId: string): boolean;
  /** Epoch of this instance's lease of the hub (undefined when not held). */
  epochOf(hubId: string): number | undefined;
  /** Hubs held with an open fence now. */
  ownedHubs(): string[];
  /** The limits in force stored for these hubs (latest orchestrator DLM event per node). */
  storedLimits(hubIds: readonly string[]): Promise<RestoredLimit[]>;
}

/** A takeover done: how many hubs are now managed and how many stored limits restored them. */
export interface TakeOverResult {
  hubs: number;
  limits: number;
}

export class HubCustody {
  /** The hubs the engine manages, each with when it was taken over (epoch ms). */
  private readonly managed = new Map<string, number>();
  /** Hubs whose stored limits are being read. */
  private readonly restoring = new Set<string>();
  private closed = false;

  constructor(
    private readonly engine: DlmEngine,
    private readonly leases: HubLeases,
  ) {}

  /** Is the hub managed here (taken over, its fence open when last checked)? */
  manages(hubId: string): boolean {
    return this.managed.has(hubId);
  }

  /** When the hub was taken over (epoch ms), undefined when it is not managed. */
  managedSince(hubId: string): number | undefined {
    return this.managed.get(hubId);
  }

  /** The owner's lease epoch, to be carried on the hub's events (null when not held). */
  epochOf(hubId: string): number | null {
    return this.leases.epochOf(hubId) ?? null;
  }

  /**
   * After a lease cycle: drops at once the hubs whose fence closed; returns the hubs owned now
   * that are neither managed nor being restored (to `takeOver`).
   */
  reconcile(nowMs: number): string[] {
    for (const hubId of [...this.managed.keys()]) if (!this.leases.mayPublish(hubId)) this.drop(hubId, nowMs);
    return this.leases.ownedHubs().filter((h) => !this.managed.has(h) && !this.restoring.has(h));
  }

  /**
   * Hubs acquired: their limits in force read from storage, then restored in the engine as at
   * a restart (a hint; RESYNC). A hub never owned before (epoch 1) with nothing stored was
   * never sent a limit: it is adopted as a hub seen for the first time. Hubs whose fence
   * closed while their limits were read are left out. Throws when the limits cannot be read
   * (nothing is managed then; the next cycle tries again); null when nothing was taken over.
   */
  async takeOver(
    hubIds: readonly string[],
    twin: TwinView,
    clock: () => number,
  ): Promise<TakeOverResult | null> {
    for (const h of hubIds) this.restoring.add(h);
    let limits: RestoredLimit[];
    try {
      limits = await this.leases.storedLimits(hubIds);
    } finally {
      for (const h of hubIds) this.restoring.delete(h);
    }
    if (this.closed) return null;
    const ok = hubIds.filter((h) => this.leases.mayPublish(h) && !this.managed.has(h));
    if (!ok.length) return null;
    const stored = new Set(limits.map((l) => l.hubId));
    const fresh = ok.filter((h) => this.leases.epochOf(h) === 1 && !stored.has(h));
    const restored = new Set(ok.filter((h) => !fresh.includes(h)));
    const nowMs = clock();
    this.engine.restoreHubs(
      [...restored],
      limits.filter((l) => restored.has(l.hubId)),
      twin,
      nowMs,
    );
    this.engine.adoptHubs(fresh, twin, nowMs);
    for (const h of ok) this.managed.set(h, nowMs);
    return { hubs: ok.length, limits: limits.length };
  }

  /**
   * The fence, right before a batch leaves: only the commands of hubs managed with an open
   * fence; a hub whose lease may be gone is dropped now, its commands with it.
   */
  fence(cmds: readonly DlmCommand[], nowMs: number): DlmCommand[] {
    return cmds.filter((c) => {
      if (!this.managed.has(c.hubId)) return false;
      if (this.leases.mayPublish(c.hubId)) return true;
      this.drop(c.hubId, nowMs);
      return false;
    });
  }

  /** The changes that concern this instance: those of hubs it manages, and those of no hub. */
  ownChanges(changes: readonly TwinChange[]): TwinChange[] {
    return changes.filter((c) => {
      const h = (c as { hubId?: unknown }).hubId;
      return typeof h !== 'string' || this.managed.has(h);
    });
  }

  /** No takeover completes after this (the node closed). */
  close(): void {
    this.closed = true;
  }

  private drop(hubId: string, nowMs: number): void {
    this.managed.delete(hubId);
    this.engine.dropHub(hubId, nowMs);
  }
}
