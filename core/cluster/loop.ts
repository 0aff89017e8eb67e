/**
 * Runs an instance's cluster cycle every renewMs (from the start of each cycle; a cycle that
 * takes longer is followed at once, never overlapped), with optional jitter so the instances'
 * statements spread out. Timers and clock are injected (the runtime passes the system's, the
 * tests a simulated or a real one). The runtime wiring (not done yet, docs/scaling.md) would
 * start one of these in cluster mode and act on each cycle's result.
 */
import type { ClusterNode, CycleResult } from './node';
import type { HubLease } from './member';

export interface LoopTimers {
  /** Monotonic clock (ms), the same one the ClusterNode uses. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_LOOP_TIMERS: LoopTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ClusterLoopOptions {
  renewMs: number;
  /** The fleet's hubs at the start of each cycle. */
  hubs: () => Iterable<string>;
  timers?: LoopTimers;
  /** ± fraction of the period drawn at random for each wait (default 0, at most 0.25). */
  jitter?: number;
  random?: () => number;
  /** Called after each cycle (hubs started, lost, released; the error of a failed statement). */
  onCycle?: (result: CycleResult) => void;
}

export class ClusterLoop {
  private readonly timers: LoopTimers;
  private timer: unknown;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private startedValue = false;

  constructor(
    readonly node: ClusterNode,
    private readonly opts: ClusterLoopOptions,
  ) {
    this.timers = opts.timers ?? SYSTEM_LOOP_TIMERS;
    const j = opts.jitter ?? 0;
    if (!(j >= 0 && j <= 0.25)) throw new Error(`cluster loop: jitter must be in [0, 0.25] (got ${j})`);
  }

  /** Joins the cluster, then runs the first cycle at once and the next every renewMs. */
  async start(): Promise<void> {
    if (this.startedValue) throw new Error('cluster loop: already started');
    this.startedValue = true;
    await this.node.start();
    if (!this.stopped) this.tick();
  }

  private tick(): void {
    const t0 = this.timers.now();
    this.inFlight = this.node.cycle(this.opts.hubs()).then((res) => {
      try {
        this.opts.onCycle?.(res);
      } catch {
        /* a failing callback must not stop the renewals */
      }
      if (!this.stopped && this.node.member.state === 'joined') {
        const j = this.opts.jitter ?? 0;
        const r = j ? ((this.opts.random ?? Math.random)() * 2 - 1) * j : 0;
        const wait = Math.max(0, t0 + this.opts.renewMs * (1 + r) - this.timers.now());
        this.timer = this.timers.setTimeout(() => this.tick(), wait);
      }
    });
  }

  /** No more cycles; waits for the one running. Leases and membership are left to expire. */
  async halt(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    await this.inFlight;
  }

  /**
   * Graceful stop: no more cycles; the fences close at once (before the cycle running ends),
   * then the leases are released and the membership ended.
   */
  async stop(): Promise<HubLease[]> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    const released = this.node.stop(); // closes every fence synchronously, then releases
    await this.inFlight;
    return released;
  }
}
