// Hub load for the `hub_load` time series: Σ power_kw of a hub's nodes (their latest
// telemetry) against the hub's grid capacity, emitted at most once per interval per hub.
//
// Pure: fed with twin changes (only `node-telemetry` is used) and the receipt time; the
// caller supplies the capacity lookup and calls `due()` from its own timer so that the
// last change of a quiet hub is still emitted (trailing edge).
import type { AnyChange, NodeTelemetryChange } from './changes';

export interface HubLoadSample {
  readonly hubId: string;
  /** Time of the newest telemetry that went into the sum (epoch ms, message time). */
  readonly ts: number;
  readonly loadKw: number;
  /** Grid capacity of the hub (max_grid_capacity_kw); null while unknown. */
  readonly capacityKw: number | null;
  /** loadKw / capacityKw; null when the capacity is unknown or 0. */
  readonly utilisation: number | null;
  /** Nodes whose power was summed. */
  readonly nodes: number;
}

export interface HubLoadOptions {
  /** At most one sample per hub per this interval (default 1000 ms). */
  readonly minIntervalMs?: number;
  /** A node whose last telemetry was received longer ago than this no longer counts (default 30 s). */
  readonly nodeExpiryMs?: number;
}

/** Capacity of a hub in kW, or null/undefined when unknown. */
export type CapacityOf = (hubId: string) => number | null | undefined;

interface NodePower {
  powerKw: number;
  ts: number;
  receivedMs: number;
}

interface HubAcc {
  nodes: Map<string, NodePower>;
  /** Receipt time of the last emitted sample; -Infinity before the first. */
  lastEmitMs: number;
  /** Changed since the last emitted sample. */
  dirty: boolean;
}

export class HubLoadTracker {
  private readonly minIntervalMs: number;
  private readonly nodeExpiryMs: number;
  private readonly hubs = new Map<string, HubAcc>();

  constructor(opts: HubLoadOptions = {}) {
    const pos = (v: number | undefined, d: number): number =>
      typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : d;
    this.minIntervalMs = pos(opts.minIntervalMs, 1000);
    this.nodeExpiryMs = pos(opts.nodeExpiryMs, 30_000);
  }

  /**
   * Takes a batch of twin changes (others than `node-telemetry` are ignored) received at
   * `nowMs`; returns the samples due now, one per hub at most, sorted by hub id.
   */
  update(changes: readonly AnyChange[], capacityOf: CapacityOf, nowMs: number): HubLoadSample[] {
    const touched = new Set<string>();
    for (const any of changes) {
      if (any.type !== 'node-telemetry') continue;
      const c = any as NodeTelemetryChange;
      if (typeof c.powerKw !== 'number' || !Number.isFinite(c.powerKw)) continue;
      let hub = this.hubs.get(c.hubId);
      if (!hub) {
        hub = { nodes: new Map(), lastEmitMs: Number.NEGATIVE_INFINITY, dirty: false };
        this.hubs.set(c.hubId, hub);
      }
      const prev = hub.nodes.get(c.nodeId);
      // an older reading (out of order) never replaces a newer one
      if (prev && c.ts < prev.ts) continue;
      hub.nodes.set(c.nodeId, { powerKw: c.powerKw, ts: c.ts, receivedMs: nowMs });
      hub.dirty = true;
      touched.add(c.hubId);
    }
    const out: HubLoadSample[] = [];
    for (const hubId of [...touched].sort()) {
      const s = this.emitIfDue(hubId, capacityOf, nowMs);
      if (s) out.push(s);
    }
    return out;
  }

  /** Samples of hubs that changed since their last sample and whose interval has passed. */
  due(capacityOf: CapacityOf, nowMs: number): HubLoadSample[] {
    const out: HubLoadSample[] = [];
    for (const hubId of [...this.hubs.keys()].sort()) {
      const s = this.emitIfDue(hubId, capacityOf, nowMs);
      if (s) out.push(s);
    }
    return out;
  }

  /** Current load of a hub without emitting (null when nothing is known about it). */
  peek(hubId: string, capacityOf: CapacityOf, nowMs: number): HubLoadSample | null {
    const hub = this.hubs.get(hubId);
    return hub ? this.sample(hubId, hub, capacityOf, nowMs) : null;
  }

  /** Number of hubs tracked. */
  get size(): number {
    return this.hubs.size;
  }

  /** Forgets everything. */
  clear(): void {
    this.hubs.clear();
  }

  private emitIfDue(hubId: string, capacityOf: CapacityOf, nowMs: number): HubLoadSample | null {
    const hub = this.hubs.get(hubId);
    if (!hub || !hub.dirty) return null;
    if (nowMs - hub.lastEmitMs < this.minIntervalMs) return null;
    const s = this.sample(hubId, hub, capacityOf, nowMs);
    hub.dirty = false;
    hub.lastEmitMs = nowMs;
    if (hub.nodes.size === 0) this.hubs.delete(hubId);
    return s;
  }

  private sample(hubId: string, hub: HubAcc, capacityOf: CapacityOf, nowMs: number): HubLoadSample | null {
    let load = 0;
    let ts = Number.NEGATIVE_INFINITY;
    let n = 0;
    for (const [nodeId, p] of hub.nodes) {
      if (nowMs - p.receivedMs > this.nodeExpiryMs) {
        hub.nodes.delete(nodeId);
        continue;
      }
      load += p.powerKw;
      if (p.ts > ts) ts = p.ts;
      n++;
    }
    if (n === 0) return null;
    let capacity: number | null;
    try {
      const c = capacityOf(hubId);
      capacity = typeof c === 'number' && Number.isFinite(c) && c >= 0 ? c : null;
    } catch {
      capacity = null;
    }
    return {
      hubId,
      ts,
      loadKw: load,
      capacityKw: capacity,
      utilisation: capacity !== null && capacity > 0 ? load / capacity : null,
      nodes: n,
    };
  }
}
