/**
 * An observer for fault tests: it applies DLM events per hub in order, as a hub would, and
 * records Σ of the limits per hub after every message, against the hub's capacity, so a test
 * can assert Σ ≤ C at every message. Pure (time is a parameter); fed by `message()` with
 * what a broker delivers (`watchLimits` in watch.ts subscribes for it), by `followModel` with
 * exactly what a simulated hub applied, or by hand.
 */
import { decode } from '../core/contract';
import type { FleetModel } from './model';
import type { HubEvent } from './types';

/** What moved the sum: a DLM event, the hub's capacity (its info), a node's info, a (re)boot. */
export type SampleCause = 'event' | 'capacity' | 'node' | 'boot';

export interface LimitSample {
  /** 1, 2, … in the order the observer saw its messages (over all hubs). */
  seq: number;
  /** When (epoch ms): the caller's time for the message. */
  ts: number;
  hubId: string;
  cause: SampleCause;
  nodeId: string | null;
  /** Σ of the limits of the hub's nodes after this message (kW). */
  sumKw: number;
  /** The hub's capacity (kW) from its latest info, null while unknown. */
  capacityKw: number | null;
  /** sumKw − capacityKw (above 0: over capacity), null while the capacity is unknown. */
  overKw: number | null;
}

export interface LimitObserverOptions {
  /** Limit counted for a node before any event for it: kW, or 'max-power' (from its node info). Default 0. */
  initialLimitKw?: number | 'max-power';
  /** Σ above the capacity by more than this is a violation (kW), default 1e-6. */
  toleranceKw?: number;
  /** Samples kept (the oldest go first); violations are all kept. Default 100000. */
  maxSamples?: number;
}

interface HubRec {
  capacityKw: number | null;
  limits: Map<string, number>;
  maxPowers: Map<string, number>;
}

export class LimitObserver {
  private readonly hubs = new Map<string, HubRec>();
  private readonly kept: LimitSample[] = [];
  private readonly over: LimitSample[] = [];
  private readonly initial: number | 'max-power';
  private readonly tolerance: number;
  private readonly maxSamples: number;
  private seq = 0;
  private maxOver: number | null = null;
  /** Messages given to `message()` that did not decode. */
  rejected = 0;

  constructor(opts: LimitObserverOptions = {}) {
    this.initial = opts.initialLimitKw ?? 0;
    this.tolerance = opts.toleranceKw ?? 1e-6;
    this.maxSamples = opts.maxSamples ?? 100_000;
  }

  private hub(hubId: string): HubRec {
    let h = this.hubs.get(hubId);
    if (!h) {
      h = { capacityKw: null, limits: new Map(), maxPowers: new Map() };
      this.hubs.set(hubId, h);
    }
    return h;
  }

  private record(
    hubId: string,
    h: HubRec,
    cause: SampleCause,
    nodeId: string | null,
    ts: number,
  ): LimitSample {
    let sumKw = 0;
    for (const kw of h.limits.values()) sumKw += kw;
    const overKw = h.capacityKw === null ? null : sumKw - h.capacityKw;
    const sample: LimitSample = {
      seq: ++this.seq,
      ts,
      hubId,
      cause,
      nodeId,
      sumKw,
      capacityKw: h.capacityKw,
      overKw,
    };
    this.kept.push(sample);
    if (this.kept.length > this.maxSamples) this.kept.shift();
    if (overKw !== null) {
      if (this.maxOver === null || overKw > this.maxOver) this.maxOver = overKw;
      if (overKw > this.tolerance) this.over.push(sample);
    }
    return sample;
  }

  private ensureNode(h: HubRec, nodeId: string): void {
    if (h.limits.has(nodeId)) return;
    const initial = this.initial === 'max-power' ? (h.maxPowers.get(nodeId) ?? 0) : this.initial;
    h.limits.set(nodeId, initial);
  }

  /** The hub's info: its capacity. */
  hubInfo(hubId: string, capacityKw: number, ts: number): LimitSample {
    const h = this.hub(hubId);
    h.capacityKw = capacityKw;
    return this.record(hubId, h, 'capacity', null, ts);
  }

  /** A node's info: the node exists (at the initial limit until an event names it). */
  nodeInfo(hubId: string, nodeId: string, maxPowerKw: number, ts: number): LimitSample {
    const h = this.hub(hubId);
    h.maxPowers.set(nodeId, maxPowerKw);
    this.ensureNode(h, nodeId);
    return this.record(hubId, h, 'node', nodeId, ts);
  }

  /** A DLM event applied: `newLimitKw` in force at the node. */
  event(hubId: string, nodeId: string, newLimitKw: number, ts: number): LimitSample {
    const h = this.hub(hubId);
    h.limits.set(nodeId, newLimitKw);
    return this.record(hubId, h, 'event', nodeId, ts);
  }

  /** The hub (re)booted with these limits (and, when given, this capacity). */
  boot(
    hubId: string,
    pads: readonly { nodeId: string; limitKw: number; maxPowerKw?: number }[],
    ts: number,
    capacityKw?: number,
  ): LimitSample {
    const h = this.hub(hubId);
    if (capacityKw !== undefined) h.capacityKw = capacityKw;
    for (const p of pads) {
      h.limits.set(p.nodeId, p.limitKw);
      if (p.maxPowerKw !== undefined) h.maxPowers.set(p.nodeId, p.maxPowerKw);
    }
    return this.record(hubId, h, 'boot', null, ts);
  }

  /**
   * A message as the broker delivers it: a DLM event, a hub's info or a node's info is
   * applied; anything else, an empty retained payload, or a message that does not decode
   * (a hub rejects it too; counted in `rejected`) is ignored: null.
   */
  message(topic: string, payload: unknown, nowMs: number): LimitSample | null {
    if (payload === '' || (Buffer.isBuffer(payload) && payload.length === 0)) return null;
    const d = decode(topic, payload, nowMs);
    if (!d.ok) {
      this.rejected++;
      return null;
    }
    const m = d.msg;
    if (m.kind === 'dlmEvent') return this.event(m.hubId, m.data.affected_node_id, m.data.new_limit, nowMs);
    if (m.kind === 'hubInfo') return this.hubInfo(m.hubId, m.data.max_grid_capacity_kw, nowMs);
    if (m.kind === 'nodeInfo') return this.nodeInfo(m.hubId, m.nodeId, m.data.max_power_kw, nowMs);
    return null;
  }

  /** Σ of the limits the observer counts at the hub now (kW). */
  sumKw(hubId: string): number {
    let sum = 0;
    for (const kw of this.hubs.get(hubId)?.limits.values() ?? []) sum += kw;
    return sum;
  }

  capacityKw(hubId: string): number | null {
    return this.hubs.get(hubId)?.capacityKw ?? null;
  }

  limitKw(hubId: string, nodeId: string): number | undefined {
    return this.hubs.get(hubId)?.limits.get(nodeId);
  }

  hubIds(): string[] {
    return [...this.hubs.keys()];
  }

  /** Messages seen (samples recorded), over all hubs, since the start or `reset()`. */
  get messages(): number {
    return this.seq;
  }

  /** The samples kept (the latest `maxSamples`), of one hub or all. */
  samples(hubId?: string): LimitSample[] {
    return hubId === undefined ? [...this.kept] : this.kept.filter((s) => s.hubId === hubId);
  }

  /** Every sample where Σ was above the capacity (by more than the tolerance). */
  violations(hubId?: string): LimitSample[] {
    return hubId === undefined ? [...this.over] : this.over.filter((s) => s.hubId === hubId);
  }

  /**
   * The highest Σ − C of any sample with a known capacity (≤ 0: never above), of one hub or
   * all; null when no sample had a known capacity (nothing was checked).
   */
  maxOverCapacity(hubId?: string): number | null {
    if (hubId === undefined) return this.maxOver;
    let max: number | null = null;
    for (const s of this.kept) {
      if (s.hubId === hubId && s.overKw !== null && (max === null || s.overKw > max)) max = s.overKw;
    }
    return max;
  }

  /** Forget the samples and violations (e.g. once the DLM has taken over); the limits stay. */
  reset(): void {
    this.kept.length = 0;
    this.over.length = 0;
    this.maxOver = null;
    this.seq = 0;
  }
}

/**
 * Feed `observer` with exactly what the model's hubs do: their boot limits, every DLM event
 * as the hub applied it (after its rounding, only the events it did not ignore), capacity
 * changes. A started model's current limits are taken first. Returns the unsubscribe.
 */
export function followModel(
  model: FleetModel,
  observer: LimitObserver,
  opts: { hubIds?: readonly string[] } = {},
): () => void {
  const only = opts.hubIds ? new Set(opts.hubIds) : null;
  const now = model.nowMs;
  if (now !== null) {
    for (const h of model.hubs()) {
      if (only && !only.has(h.id)) continue;
      const pads = model
        .nodes(h.id)
        .map((n) => ({ nodeId: n.id, limitKw: n.limitKw, maxPowerKw: n.maxPowerKw }));
      observer.boot(h.id, pads, now, h.capacityKw);
    }
  }
  return model.onHubEvent((e: HubEvent) => {
    if (only && !only.has(e.hubId)) return;
    if (e.kind === 'boot') observer.boot(e.hubId, e.pads, e.ts, e.capacityKw);
    else if (e.kind === 'limit') observer.event(e.hubId, e.nodeId, e.limitKw, e.ts);
    else observer.hubInfo(e.hubId, e.capacityKw, e.ts);
  });
}
