// The entity store: every hub (with its nodes) and vehicle of the twin, the indexes kept for
// the clock (open sessions, pending assignments), and creation of entities.
import {
  newHubEntity,
  newNodeEntity,
  newVehicleEntity,
  type HubEntity,
  type NodeEntity,
  type VehicleEntity,
} from './entities';
import type { TwinChange } from './changes';
import type { TwinConfig } from './config';
import type { SessionView } from './view-types';
import { hubView, nodeView, sessionView, vehicleView } from './views';

export class TwinState {
  readonly hubs = new Map<string, HubEntity>();
  readonly vehicles = new Map<string, VehicleEntity>();
  /** Nodes with an open session. */
  readonly sessionNodes = new Set<NodeEntity>();
  /** Nodes with a pending request assignment. */
  readonly assignedNodes = new Set<NodeEntity>();
  /** Nodes of all hubs. */
  nodeCount = 0;
  /** Hubs are watched when created (false once watchOwnedOnly ran: cluster mode, watch.ts). */
  watchAll = true;

  constructor(readonly config: TwinConfig) {}

  node(hubId: string, nodeId: string): NodeEntity | undefined {
    return this.hubs.get(hubId)?.nodes.get(nodeId);
  }

  /** Gets or creates a hub; a created one is announced in `out` unless out is null. */
  ensureHub(hubId: string, ts: number, out: TwinChange[] | null): HubEntity {
    let h = this.hubs.get(hubId);
    if (h) return h;
    h = newHubEntity(hubId);
    h.watched = this.watchAll;
    this.hubs.set(hubId, h);
    if (out) out.push({ type: 'hub-upserted', ts, hubId, created: true, hub: hubView(h), previous: null });
    return h;
  }

  /** Gets or creates a node of `hub`; a created one is announced unless out is null. */
  ensureNode(hub: HubEntity, nodeId: string, ts: number, out: TwinChange[] | null): NodeEntity {
    let n = hub.nodes.get(nodeId);
    if (n) return n;
    n = newNodeEntity(hub, nodeId);
    hub.nodes.set(nodeId, n);
    this.nodeCount++;
    if (out) pushNodeCreated(n, ts, out);
    return n;
  }

  /**
   * Gets or creates a vehicle; a created one is announced unless out is null. Its class is
   * set (soc-class from null) at its first SoC or priority.
   */
  ensureVehicle(vehicleId: string, ts: number, out: TwinChange[] | null): VehicleEntity {
    let v = this.vehicles.get(vehicleId);
    if (v) return v;
    v = newVehicleEntity(vehicleId);
    this.vehicles.set(vehicleId, v);
    if (out) out.push({ type: 'vehicle-upserted', ts, vehicleId, created: true, vehicle: vehicleView(v) });
    return v;
  }
}

/** The open sessions, by start time (then id): the same order whatever opened them first. */
export function openSessionViews(st: TwinState): SessionView[] {
  const r: SessionView[] = [];
  for (const n of st.sessionNodes) if (n.session) r.push(sessionView(n.session));
  return r.sort(
    (a, b) => a.startTs - b.startTs || (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0),
  );
}

/** Removes a node from its hub and the indexes (close its session and assignment first). */
export function removeNode(st: TwinState, n: NodeEntity): void {
  if (n.hub.nodes.delete(n.nodeId)) st.nodeCount--;
  st.sessionNodes.delete(n);
  st.assignedNodes.delete(n);
}

function pushNodeCreated(n: NodeEntity, ts: number, out: TwinChange[]): void {
  out.push({
    type: 'node-upserted',
    ts,
    hubId: n.hub.hubId,
    nodeId: n.nodeId,
    created: true,
    node: nodeView(n),
    previous: null,
  });
}
