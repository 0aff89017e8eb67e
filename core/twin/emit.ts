// Transition changes of hubs and nodes: state, staleness, availability, maintenance.
import { hubAvailable, maintenanceOf, type HubEntity, type NodeEntity } from './entities';
import type { TwinChange } from './changes';
import type { HubStateName, NodeStateName } from './view-types';

/** What a hub-state change compares against: taken before a change is applied. */
export interface HubBefore {
  state: HubStateName;
  stale: boolean;
  available: boolean;
}

export function hubBefore(h: HubEntity): HubBefore {
  return { state: h.state, stale: h.stale, available: hubAvailable(h) };
}

/** A hub-state change when state, staleness or availability differ from `before`. */
export function emitHubState(h: HubEntity, before: HubBefore, ts: number, out: TwinChange[]): void {
  const available = hubAvailable(h);
  if (before.state === h.state && before.stale === h.stale && before.available === available) return;
  out.push({
    type: 'hub-state',
    ts,
    hubId: h.hubId,
    state: h.state,
    previousState: before.state,
    stale: h.stale,
    previousStale: before.stale,
    available,
    previousAvailable: before.available,
    cpuTempC: h.cpuTempC,
  });
}

export function emitNodeState(
  n: NodeEntity,
  previousState: NodeStateName,
  previousMaintenance: boolean,
  ts: number,
  out: TwinChange[],
): void {
  out.push({
    type: 'node-state',
    ts,
    hubId: n.hub.hubId,
    nodeId: n.nodeId,
    state: n.state,
    previousState,
    maintenance: maintenanceOf(n),
    previousMaintenance,
    errorCode: n.errorCode,
    vehicleId: n.session?.vehicleId ?? n.statusVehicleId,
  });
}
