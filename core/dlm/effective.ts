/**
 * Effective values of the operators' overrides, read from the twin's views:
 * - capacity C = min(hub-reported `max_grid_capacity_kw`, override kW while now ∈
 *   [fromMs, untilMs)) × (1 − reserve) — never above what the hub reports; unknown (null)
 *   while the hub has not reported its capacity;
 * - a hub with `active === false` gives 0 to every node;
 * - node max = min(reported `max_power_kw`, `maxPowerOverrideKw`).
 *
 * The override fields (`HubView.active`, `HubView.capacityOverride`,
 * `NodeView.maxPowerOverrideKw`) are read defensively: a view without them (an older twin)
 * or with a malformed value means "no override".
 */
import type { HubView, NodeView } from '../twin/types';

export interface CapacityOverride {
  kw: number;
  fromMs: number | null;
  untilMs: number | null;
}

function kw(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0;
}

function timeOrNull(x: unknown): number | null | undefined {
  if (x === null || x === undefined) return null;
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

/** The operator's switch: false only when the view says so. */
export function hubActive(hub: HubView): boolean {
  return (hub as { active?: unknown }).active !== false;
}

/** The hub's capacity override, or null when there is none (or it is malformed). */
export function capacityOverrideOf(hub: HubView): CapacityOverride | null {
  const o = (hub as { capacityOverride?: unknown }).capacityOverride;
  if (o === null || typeof o !== 'object') return null;
  const r = o as { kw?: unknown; fromMs?: unknown; untilMs?: unknown };
  const fromMs = timeOrNull(r.fromMs);
  const untilMs = timeOrNull(r.untilMs);
  if (
    typeof r.kw !== 'number' ||
    !Number.isFinite(r.kw) ||
    r.kw < 0 ||
    fromMs === undefined ||
    untilMs === undefined
  )
    return null;
  return { kw: r.kw, fromMs, untilMs };
}

/** The operator's max power of a node (kW), or null when there is none. */
export function maxPowerOverrideOf(node: NodeView): number | null {
  const v = (node as { maxPowerOverrideKw?: unknown }).maxPowerOverrideKw;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

function overrideInForce(o: CapacityOverride, nowMs: number): boolean {
  return (o.fromMs === null || nowMs >= o.fromMs) && (o.untilMs === null || nowMs < o.untilMs);
}

/** Grid capacity before the reserve: min(reported, override in force); null while the hub's is unknown. */
export function gridCapacityKw(hub: HubView | undefined, nowMs: number): number | null {
  if (!hub || hub.maxGridCapacityKw === null || hub.maxGridCapacityKw === undefined) return null;
  const reported = kw(hub.maxGridCapacityKw);
  const o = capacityOverrideOf(hub);
  return o && overrideInForce(o, nowMs) ? Math.min(reported, kw(o.kw)) : reported;
}

/** The next time (> nowMs) the capacity override starts or ends, or null. */
export function nextCapacityEdgeMs(hub: HubView | undefined, nowMs: number): number | null {
  const o = hub ? capacityOverrideOf(hub) : null;
  if (!o) return null;
  let next: number | null = null;
  for (const t of [o.fromMs, o.untilMs]) if (t !== null && t > nowMs && (next === null || t < next)) next = t;
  return next;
}

/** C at nowMs: grid capacity × (1 − reserve), 0 for a hub switched off; null while unknown. */
export function effectiveCapacityKw(hub: HubView | undefined, reserve: number, nowMs: number): number | null {
  const grid = gridCapacityKw(hub, nowMs);
  if (grid === null || !hub) return null;
  return hubActive(hub) ? grid * (1 - reserve) : 0;
}

/** The next start or end of each hub's capacity override window (for the caller's timer). */
export class CapacityEdges {
  private readonly at = new Map<string, number>();

  /** Records the hub's next edge after nowMs; true when there is one. */
  update(hubId: string, hub: HubView | undefined, nowMs: number): boolean {
    const t = nextCapacityEdgeMs(hub, nowMs);
    if (t === null) this.at.delete(hubId);
    else this.at.set(hubId, t);
    return t !== null;
  }

  /** Hubs whose edge has come. */
  due(nowMs: number): string[] {
    return [...this.at].filter(([, t]) => t <= nowMs).map(([hubId]) => hubId);
  }

  next(): number | null {
    let next: number | null = null;
    for (const t of this.at.values()) if (next === null || t < next) next = t;
    return next;
  }
}

/** Max power of a node: min(reported, override); 0 while unknown. */
export function nodeMaxKw(node: NodeView): number {
  const reported = kw(node.maxPowerKw);
  const o = maxPowerOverrideOf(node);
  return o === null ? reported : Math.min(reported, o);
}

/** Do two hub views differ in what the DLM reads (capacity, override, active)? */
export function hubDlmFieldsDiffer(a: HubView | null, b: HubView): boolean {
  if (!a) return true;
  if (a.maxGridCapacityKw !== b.maxGridCapacityKw || hubActive(a) !== hubActive(b)) return true;
  const x = capacityOverrideOf(a);
  const y = capacityOverrideOf(b);
  return x?.kw !== y?.kw || x?.fromMs !== y?.fromMs || x?.untilMs !== y?.untilMs;
}

/** Do two node views differ in the node's max power (reported or override)? */
export function nodeMaxDiffers(a: NodeView | null, b: NodeView): boolean {
  return !!a && (a.maxPowerKw !== b.maxPowerKw || maxPowerOverrideOf(a) !== maxPowerOverrideOf(b));
}
