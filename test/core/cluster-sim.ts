// A discrete-event simulation of a cluster for the tests of core/cluster: instances running
// the real ClusterLoop and ClusterNode cycle over an in-memory model of the lease statements of
// adapters/postgres/leases.ts (each statement atomic at the server's instant, with the
// server's clock), with network delays, clock drift, pauses, kills and joins, all drawn from
// a seeded generator. Time is simulated: nothing here sleeps.
import {
  ClusterLoop,
  ClusterMember,
  ClusterNode,
  type ClusterTiming,
  type HubLease,
  type LeaseStore,
} from '../../core/cluster';
import { mulberry32 } from '../../sim/prng';

/** A seeded generator of floats in [0, 1) (the simulator's mulberry32). */
export const seeded = (seed: number): (() => number) => mulberry32(seed).next;

/** The lease tables as PostgreSQL holds them; `t` is the server's now() of the statement. */
export class LeaseTables {
  readonly instances = new Map<string, { epoch: number; expiresAt: number }>();
  readonly leases = new Map<string, { owner: string; epoch: number; expiresAt: number }>();

  constructor(private readonly timing: ClusterTiming) {}

  private get leaseMs(): number {
    return this.timing.leaseMs;
  }

  join(t: number, id: string): number {
    const row = this.instances.get(id);
    const epoch = (row?.epoch ?? 0) + 1;
    this.instances.set(id, { epoch, expiresAt: t + this.leaseMs });
    return epoch;
  }
  heartbeat(t: number, id: string, epoch: number): boolean {
    const row = this.instances.get(id);
    if (!row || row.epoch !== epoch) return false;
    row.expiresAt = t + this.leaseMs;
    return true;
  }
  leave(_t: number, id: string, epoch: number): void {
    const row = this.instances.get(id);
    if (row && row.epoch === epoch) row.expiresAt = -Infinity;
  }
  live(t: number): string[] {
    return [...this.instances].filter(([, r]) => r.expiresAt > t).map(([id]) => id);
  }
  acquire(t: number, id: string, hubIds: readonly string[]): HubLease[] {
    const out: HubLease[] = [];
    for (const hubId of new Set(hubIds)) {
      const row = this.leases.get(hubId);
      if (row && !(row.expiresAt < t)) continue;
      const epoch = (row?.epoch ?? 0) + 1;
      this.leases.set(hubId, { owner: id, epoch, expiresAt: t + this.leaseMs });
      out.push({ hubId, epoch });
    }
    return out;
  }
  renew(t: number, id: string, leases: readonly HubLease[]): HubLease[] {
    const out: HubLease[] = [];
    for (const l of leases) {
      const row = this.leases.get(l.hubId);
      if (!row || row.owner !== id || row.epoch !== l.epoch) continue;
      row.expiresAt = t + this.leaseMs;
      out.push({ hubId: l.hubId, epoch: l.epoch });
    }
    return out;
  }
  release(t: number, id: string, leases: readonly HubLease[]): void {
    for (const l of leases) {
      const row = this.leases.get(l.hubId);
      if (row && row.owner === id && row.epoch === l.epoch) {
        row.expiresAt = Math.min(row.expiresAt, t + this.timing.publishLatencyMs);
      }
    }
  }
}

interface SimEvent {
  t: number;
  seq: number;
  run: () => void;
}

export interface SimOptions {
  timing: ClusterTiming;
  seed: number;
  hubs: readonly string[];
  /** Network delay of each direction of a statement (ms): [min, max]. */
  delayMs: readonly [number, number];
  /** Probability that a delay is a spike, and the spike's length (ms); may be changed while running. */
  spike?: { p: number; ms: number } | undefined;
  /** A statement sent while the instance is cut off from the server fails after this (ms; default 500). */
  queryTimeoutMs?: number;
  /** Largest relative clock rate error of an instance against the server (e.g. 5e-4). */
  drift?: number;
  /** Relative jitter of the cycle period (e.g. 0.1). */
  jitter?: number;
}

export interface SimInstance {
  id: string;
  member: ClusterMember;
  node: ClusterNode;
  loop: ClusterLoop;
  killed: boolean;
  pausedUntil: number;
  /** Statements sent before this server instant never reach the server and fail after the query timeout. */
  cutUntil: number;
  /** Local clock: offset + rate × server time. */
  offset: number;
  rate: number;
  /** Hubs started (restored + RESYNCed) by this instance, with the server instant. */
  started: { hubId: string; epoch: number; t: number }[];
}

/** One publish sample: who published for a hub and under which epoch. */
export interface Violation {
  t: number;
  hubId: string;
  detail: string;
}

export class ClusterSim {
  now = 0;
  readonly tables: LeaseTables;
  /** Every process spawned (several may share an instance id: a restart, or a misconfiguration). */
  readonly instances: SimInstance[] = [];
  readonly violations: Violation[] = [];
  readonly rng: () => number;
  /** Per hub: last sample that published (instance, epoch, server instant). */
  readonly lastPublish = new Map<string, { id: string; epoch: number; t: number }>();
  private queue: SimEvent[] = [];
  private seq = 0;

  constructor(public opts: SimOptions) {
    this.rng = seeded(opts.seed);
    this.tables = new LeaseTables(opts.timing);
  }

  at(t: number, run: () => void): void {
    const ev = { t, seq: this.seq++, run };
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid] as SimEvent;
      if (q.t < t || (q.t === t && q.seq < ev.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, ev);
  }

  /** Runs every event up to `until` (server ms), settling the promises after each. */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      const ev = this.queue[0];
      if (!ev || ev.t > until) break;
      this.queue.shift();
      this.now = ev.t;
      ev.run();
      await new Promise<void>((r) => setImmediate(r));
    }
    this.now = until;
  }

  private delay(): number {
    const [lo, hi] = this.opts.delayMs;
    const spike = this.opts.spike && this.rng() < this.opts.spike.p ? this.opts.spike.ms : 0;
    return lo + this.rng() * (hi - lo) + spike;
  }

  /** Delivers `run` to an instance at `t`, or when its pause ends; never when killed. */
  private deliver(inst: SimInstance, t: number, run: () => void): void {
    this.at(t, () => {
      if (inst.killed) return;
      if (inst.pausedUntil > this.now) this.deliver(inst, inst.pausedUntil, run);
      else run();
    });
  }

  private storeFor(inst: SimInstance): LeaseStore {
    const call = <T>(exec: (t: number) => T): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (this.now < inst.cutUntil) {
          const timeout = this.opts.queryTimeoutMs ?? 500;
          this.deliver(inst, this.now + timeout, () => reject(new Error('query timeout')));
          return;
        }
        // Sent now; executed atomically at the server after the uplink delay (even when the
        // instance died meanwhile); the answer arrives after the downlink delay.
        this.at(this.now + this.delay(), () => {
          const result = exec(this.now);
          this.deliver(inst, this.now + this.delay(), () => resolve(result));
        });
      });
    const db = this.tables;
    return {
      join: (id) => call((t) => db.join(t, id)),
      heartbeat: (id, epoch) => call((t) => db.heartbeat(t, id, epoch)),
      leave: (id, epoch) => call((t) => db.leave(t, id, epoch)),
      liveInstances: () => call((t) => db.live(t)),
      acquire: (id, hubs) => call((t) => db.acquire(t, id, [...hubs])),
      renew: (id, leases) => call((t) => db.renew(t, id, [...leases])),
      release: (id, leases) => call((t) => db.release(t, id, [...leases])),
    };
  }

  local(inst: SimInstance, t = this.now): number {
    return inst.offset + inst.rate * t;
  }

  /** Starts an instance now: join, then a cycle every renewMs (± jitter) from each cycle's start. */
  spawn(id: string): SimInstance {
    const drift = this.opts.drift ?? 0;
    const inst: SimInstance = {
      id,
      member: new ClusterMember(id, this.opts.timing),
      node: undefined as unknown as ClusterNode,
      loop: undefined as unknown as ClusterLoop,
      killed: false,
      pausedUntil: 0,
      cutUntil: 0,
      offset: Math.floor(this.rng() * 1e9),
      rate: 1 + (this.rng() * 2 - 1) * drift,
      started: [],
    };
    inst.node = new ClusterNode(inst.member, this.storeFor(inst), () => this.local(inst));
    this.instances.push(inst);
    // The real loop, on this instance's clock; its timers wait while the instance is paused.
    inst.loop = new ClusterLoop(inst.node, {
      renewMs: this.opts.timing.renewMs,
      hubs: () => this.opts.hubs,
      jitter: this.opts.jitter ?? 0,
      random: this.rng,
      timers: {
        now: () => this.local(inst),
        setTimeout: (fn, ms) => this.deliver(inst, this.now + ms / inst.rate, fn),
        clearTimeout: () => {},
      },
      onCycle: (res) => {
        for (const s of res.started) inst.started.push({ ...s, t: this.now });
      },
    });
    void inst.loop.start();
    return inst;
  }

  /** The process dies: no more statements sent (those in flight still run), nothing published. */
  kill(inst: SimInstance): void {
    inst.killed = true;
  }

  /** The process stops running for `ms` (a GC pause, a frozen VM): answers and timers wait. */
  pause(inst: SimInstance, ms: number): void {
    inst.pausedUntil = Math.max(inst.pausedUntil, this.now + ms);
  }

  /** The instance keeps running but cannot reach the server for `ms`. */
  cut(inst: SimInstance, ms: number): void {
    inst.cutUntil = Math.max(inst.cutUntil, this.now + ms);
  }

  /** Graceful stop, run inside the simulation. */
  stop(inst: SimInstance): void {
    if (!inst.killed) void inst.loop.stop();
  }

  running(): SimInstance[] {
    return this.instances.filter((i) => !i.killed && i.pausedUntil <= this.now);
  }

  /** Running, joined processes: the instances expected to own hubs once things settle. */
  active(): SimInstance[] {
    return this.running().filter((i) => i.member.state === 'joined');
  }

  /**
   * One publish instant: every running instance publishes for the hubs its fence allows.
   * Checks that a hub never has two publishers whose publishes could reach the broker in
   * overlapping order (the previous owner's last publish + publishLatencyMs must come before
   * the next owner's first), and that the epoch grows at every change of publisher.
   * Returns, per hub, the ids that published.
   */
  sample(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const latency = this.opts.timing.publishLatencyMs;
    for (const inst of this.running()) {
      const t = this.local(inst);
      for (const hubId of this.opts.hubs) {
        if (!inst.member.mayPublish(hubId, t)) continue;
        const epoch = inst.member.epochOf(hubId) as number;
        const ids = out.get(hubId) ?? [];
        ids.push(inst.id);
        out.set(hubId, ids);
        const last = this.lastPublish.get(hubId);
        if (last && last.id !== inst.id) {
          if (last.t + latency > this.now) {
            this.violations.push({
              t: this.now,
              hubId,
              detail: `${inst.id} (epoch ${epoch}) publishes ${this.now - last.t} ms after ${last.id} (epoch ${last.epoch})`,
            });
          }
          if (!(epoch > last.epoch)) {
            this.violations.push({
              t: this.now,
              hubId,
              detail: `${inst.id} publishes under epoch ${epoch}, not above ${last.id}'s ${last.epoch}`,
            });
          }
        }
        if (last && last.id === inst.id && epoch < last.epoch) {
          this.violations.push({ t: this.now, hubId, detail: `${inst.id}'s epoch went back` });
        }
        this.lastPublish.set(hubId, { id: inst.id, epoch, t: this.now });
      }
    }
    for (const [hubId, ids] of out) {
      if (ids.length > 1)
        this.violations.push({ t: this.now, hubId, detail: `published by ${ids.join(' and ')}` });
    }
    return out;
  }

  /** Runs to `until`, sampling every `everyMs`; `onSample` sees each sample. */
  async runSampled(
    until: number,
    everyMs: number,
    onSample?: (t: number, publishers: Map<string, string[]>) => void,
  ): Promise<void> {
    for (let t = this.now + everyMs; t <= until; t += everyMs) {
      await this.runUntil(t);
      const p = this.sample();
      onSample?.(t, p);
    }
  }
}
