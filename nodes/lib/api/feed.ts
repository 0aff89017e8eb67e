// The live feed of twin changes for WebSocket clients, each with its own filter
// ({"hub_id": …} and/or {"vehicle_id": …}; none = everything). Bounded: at most
// `maxClients` filters are kept, the least recently active ones go first.
import type { TwinChange } from '../../../core/twin';
import { isValidTopicId } from '../../../core/contract';

export interface FeedFilter {
  hubId?: string;
  vehicleId?: string;
}

export function parseFeedFilter(v: unknown): { ok: true; value: FeedFilter } | { ok: false; error: string } {
  let o = v;
  if (typeof o === 'string') {
    try {
      o = JSON.parse(o);
    } catch {
      return { ok: false, error: 'filter: must be JSON, e.g. {"hub_id":"hub_01"}' };
    }
  }
  if (!o || typeof o !== 'object' || Array.isArray(o))
    return { ok: false, error: 'filter: must be a JSON object' };
  const r = o as Record<string, unknown>;
  const out: FeedFilter = {};
  for (const [k, key] of [
    ['hub_id', 'hubId'],
    ['vehicle_id', 'vehicleId'],
  ] as const) {
    const x = r[k];
    if (x === undefined || x === null) continue;
    if (typeof x !== 'string' || !isValidTopicId(x)) return { ok: false, error: `${k}: must be a valid id` };
    out[key] = x;
  }
  return { ok: true, value: out };
}

function vehicleOf(c: TwinChange): string | null {
  return 'vehicleId' in c ? (c.vehicleId ?? null) : null;
}

function hubOf(c: TwinChange): string | null {
  return 'hubId' in c ? (c.hubId ?? null) : null;
}

export function matches(f: FeedFilter, c: TwinChange): boolean {
  if (f.hubId !== undefined && hubOf(c) !== f.hubId) return false;
  if (f.vehicleId !== undefined && vehicleOf(c) !== f.vehicleId) return false;
  return true;
}

/** Filters per client, with an opaque handle for each (e.g. the WebSocket session). */
export class FeedSubscriptions<H = unknown> {
  private readonly clients = new Map<string, { filter: FeedFilter; handle: H }>();
  constructor(private readonly maxClients = 1000) {}

  set(client: string, filter: FeedFilter, handle: H): void {
    this.clients.delete(client);
    this.clients.set(client, { filter, handle });
    while (this.clients.size > this.maxClients) {
      this.clients.delete(this.clients.keys().next().value as string);
    }
  }

  remove(client: string): void {
    this.clients.delete(client);
  }

  get size(): number {
    return this.clients.size;
  }

  /** For each client, its handle and the changes it wants (clients that want none are left out). */
  route(changes: readonly TwinChange[]): Array<{ client: string; handle: H; changes: TwinChange[] }> {
    const out: Array<{ client: string; handle: H; changes: TwinChange[] }> = [];
    for (const [client, { filter, handle }] of this.clients) {
      const mine = changes.filter((c) => matches(filter, c));
      if (mine.length) out.push({ client, handle, changes: mine });
    }
    return out;
  }
}
