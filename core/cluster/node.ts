/**
 * One instance's cluster cycle over a lease store (PostgreSQL in adapters/postgres/leases.ts;
 * an in-memory model in the tests). Time comes from `now` (a monotonic clock in ms): each
 * result is reported to the ClusterMember with the instant its statement was sent.
 *
 * A cycle, every renewMs: heartbeat → renew held leases → read the live instances → plan →
 * release (fence closed before the statement) → acquire. A failing statement ends the cycle;
 * nothing is extended, so the fences close on their own when PostgreSQL stays unreachable.
 */
import type { ClusterMember, HubLease } from './member';
import { planHandover } from './plan';

/** The statements of the lease protocol. Each must be atomic and use the server's clock. */
export interface LeaseStore {
  /** Registers (or re-registers) the instance; returns its new epoch. */
  join(instanceId: string): Promise<number>;
  /** Extends the membership; false when the row has another epoch (another process joined with this id). */
  heartbeat(instanceId: string, epoch: number): Promise<boolean>;
  /** Ends the membership now (the row is kept for its epoch). */
  leave(instanceId: string, epoch: number): Promise<void>;
  /** Ids of the instances whose membership has not expired. */
  liveInstances(): Promise<string[]>;
  /** Takes the hubs whose lease is free or expired; returns those taken with their new epoch. */
  acquire(instanceId: string, hubIds: readonly string[]): Promise<HubLease[]>;
  /** Extends the leases still held with these epochs; returns those extended. */
  renew(instanceId: string, leases: readonly HubLease[]): Promise<HubLease[]>;
  /**
   * Ends these leases publishLatencyMs from the server's now() (never later than they would
   * have): sent after the fence closed, so a publish checked just before it reaches the
   * broker before the next owner can start.
   */
  release(instanceId: string, leases: readonly HubLease[]): Promise<void>;
}

export interface CycleResult {
  /** Leases found taken by another instance at renewal (already no longer publishable). */
  lost: HubLease[];
  /** Leases released to their new owner. */
  released: HubLease[];
  /** Leases acquired: restore the hub's limits, RESYNC it, then publish. */
  started: HubLease[];
  /** Set when a statement failed (the cycle stopped there). */
  error?: Error;
}

export class ClusterNode {
  constructor(
    readonly member: ClusterMember,
    private readonly store: LeaseStore,
    private readonly now: () => number,
  ) {}

  /** Joins the cluster. Stopped while joining: the membership just created is ended. */
  async start(): Promise<void> {
    const epoch = await this.store.join(this.member.instanceId);
    if (this.member.state !== 'idle') {
      await this.store.leave(this.member.instanceId, epoch).catch(() => {});
      return;
    }
    this.member.joined(epoch);
  }

  /** One cycle over the fleet `hubs`. Never throws: a failure is reported in `error`. */
  async cycle(hubs: Iterable<string>): Promise<CycleResult> {
    const m = this.member;
    const out: CycleResult = { lost: [], released: [], started: [] };
    if (m.state !== 'joined') return out;
    try {
      const epoch = m.instanceEpoch as number;
      out.lost.push(...m.heartbeat(await this.store.heartbeat(m.instanceId, epoch)));
      if (m.state !== 'joined') return out;

      const requested = m.heldLeases();
      if (requested.length) {
        const sentAt = this.now();
        const confirmed = await this.store.renew(m.instanceId, requested);
        out.lost.push(...m.renewed(sentAt, requested, confirmed));
      }

      const live = await this.store.liveInstances();
      if (m.state !== 'joined') return out;
      const plan = planHandover({ self: m.instanceId, live, hubs, held: m.heldHubs() });

      if (plan.release.length) {
        out.released = m.release(plan.release); // stop publishing first
        await this.store.release(m.instanceId, out.released);
      }
      if (plan.acquire.length && m.state === 'joined') {
        const sentAt = this.now();
        const taken = await this.store.acquire(m.instanceId, plan.acquire);
        out.started = m.acquired(sentAt, taken);
        // Stopped while the statement ran: give back what it took instead of holding it to expiry.
        if (m.state !== 'joined' && taken.length) await this.store.release(m.instanceId, taken);
      }
    } catch (err) {
      out.error = err instanceof Error ? err : new Error(String(err));
    }
    return out;
  }

  /** Graceful stop: fences closed, leases released, membership ended (errors ignored: the leases expire anyway). */
  async stop(): Promise<HubLease[]> {
    const epoch = this.member.instanceEpoch;
    const wasJoined = this.member.state === 'joined';
    const released = this.member.leave();
    if (!wasJoined || epoch === undefined) return released;
    try {
      if (released.length) await this.store.release(this.member.instanceId, released);
      await this.store.leave(this.member.instanceId, epoch);
    } catch {
      /* the leases expire after leaseMs */
    }
    return released;
  }
}
