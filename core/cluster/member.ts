/**
 * What one instance knows about its own membership and leases, with time as a parameter.
 * It never talks to PostgreSQL itself: the caller sends the statements (lease-store.ts) and
 * reports their results with the local instant each was sent at (`sentAtMs`, read before
 * sending). From that instant alone it derives the fence: a lease confirmed by a statement
 * sent at `s` lets this instance publish until `s + leaseMs − marginMs` (config.ts).
 *
 * States: `idle` (not joined yet) → `joined` → `left` (graceful stop) or `superseded`
 * (another process joined with the same instance id: this one must stop). In `idle`, `left`
 * and `superseded` nothing may be published.
 */
import { fenceUntil, type ClusterTiming } from './config';

export interface HubLease {
  hubId: string;
  /** Epoch of the lease in PostgreSQL: +1 at every change of owner; carried by the events published under it. */
  epoch: number;
}

export type MemberState = 'idle' | 'joined' | 'left' | 'superseded';

interface Held {
  epoch: number;
  /** Local instant until which publishing is allowed (exclusive). */
  until: number;
}

export class ClusterMember {
  private stateValue: MemberState = 'idle';
  private instanceEpochValue: number | undefined;
  private readonly held = new Map<string, Held>();

  constructor(
    readonly instanceId: string,
    readonly timing: ClusterTiming,
  ) {}

  get state(): MemberState {
    return this.stateValue;
  }

  /** Epoch of this instance's membership row (new at every join). */
  get instanceEpoch(): number | undefined {
    return this.instanceEpochValue;
  }

  /** The join statement returned this epoch. */
  joined(epoch: number): void {
    if (this.stateValue !== 'idle')
      throw new Error(`cluster member ${this.instanceId}: join in state ${this.stateValue}`);
    this.stateValue = 'joined';
    this.instanceEpochValue = epoch;
  }

  /**
   * Result of a heartbeat: false means the membership row has another epoch now (another
   * process joined with this id). All leases are dropped at once; returns them.
   */
  heartbeat(ok: boolean): HubLease[] {
    if (ok || this.stateValue !== 'joined') return [];
    this.stateValue = 'superseded';
    return this.dropAll();
  }

  /** The fence: true while this instance may publish for the hub (checked before every publish batch). */
  mayPublish(hubId: string, nowMs: number): boolean {
    if (this.stateValue !== 'joined') return false;
    const h = this.held.get(hubId);
    return h !== undefined && nowMs < h.until;
  }

  /** Epoch to put on events published for the hub (undefined when the hub is not held). */
  epochOf(hubId: string): number | undefined {
    return this.held.get(hubId)?.epoch;
  }

  /** Local instant until which the fence of a hub stays open (undefined when not held). */
  fenceOf(hubId: string): number | undefined {
    return this.held.get(hubId)?.until;
  }

  /** Leases believed held (fence open or not): what a renewal sends. */
  heldLeases(): HubLease[] {
    return [...this.held].map(([hubId, h]) => ({ hubId, epoch: h.epoch }));
  }

  heldHubs(): string[] {
    return [...this.held.keys()];
  }

  /**
   * Result of a renewal sent at `sentAtMs` for `requested`: the confirmed leases get a new
   * fence; the others were taken (their epoch moved on) and are dropped. Returns those lost.
   */
  renewed(sentAtMs: number, requested: readonly HubLease[], confirmed: readonly HubLease[]): HubLease[] {
    if (this.stateValue !== 'joined') return [];
    const ok = new Set(confirmed.map((l) => `${l.epoch}\u0000${l.hubId}`));
    const lost: HubLease[] = [];
    const until = fenceUntil(sentAtMs, this.timing);
    for (const r of requested) {
      const h = this.held.get(r.hubId);
      if (!h || h.epoch !== r.epoch) continue; // released or re-acquired meanwhile
      if (ok.has(`${r.epoch}\u0000${r.hubId}`)) {
        if (until > h.until) h.until = until;
      } else {
        this.held.delete(r.hubId);
        lost.push(r);
      }
    }
    return lost;
  }

  /**
   * Result of an acquisition sent at `sentAtMs`. Returns the hubs newly started: before
   * publishing anything for them, the caller restores their limits and RESYNCs them.
   */
  acquired(sentAtMs: number, leases: readonly HubLease[]): HubLease[] {
    if (this.stateValue !== 'joined') return [];
    const until = fenceUntil(sentAtMs, this.timing);
    const started: HubLease[] = [];
    for (const l of leases) {
      const h = this.held.get(l.hubId);
      if (h && h.epoch >= l.epoch) continue;
      this.held.set(l.hubId, { epoch: l.epoch, until });
      started.push({ hubId: l.hubId, epoch: l.epoch });
    }
    return started;
  }

  /**
   * Stops publishing for these hubs now and returns their leases, for the release statement
   * sent after this call: nothing is checked for them from here on, and the release lets the
   * next owner start publishLatencyMs after PostgreSQL records it (what was checked just
   * before may still be on its way to the broker).
   */
  release(hubIds: Iterable<string>): HubLease[] {
    const out: HubLease[] = [];
    for (const hubId of hubIds) {
      const h = this.held.get(hubId);
      if (!h) continue;
      this.held.delete(hubId);
      out.push({ hubId, epoch: h.epoch });
    }
    return out;
  }

  /** Graceful stop: every lease released at once; returns them for the release statement. */
  leave(): HubLease[] {
    const out = this.dropAll();
    if (this.stateValue === 'joined' || this.stateValue === 'idle') this.stateValue = 'left';
    return out;
  }

  private dropAll(): HubLease[] {
    const out = this.heldLeases();
    this.held.clear();
    return out;
  }
}
