// Admission of the hubs, nodes and vehicles a message or command names: bounds on how many
// the twin holds (maxHubs, maxNodes, maxVehicles) and the registered-only mode. Checked
// before anything is changed; a refusal is a TwinRefusal naming the bound and its setting.
import type { HubEntity, NodeEntity, VehicleEntity } from './entities';
import { TwinRefusal } from './errors';
import type { TwinState } from './state';

/** Why hub hubId (found: `hub`) cannot be named now, or null. `operator`: registration is not asked. */
export function hubRefusal(
  st: TwinState,
  hubId: string,
  hub: HubEntity | undefined,
  operator = false,
): TwinRefusal | null {
  if (hub) {
    return !operator && st.config.registeredOnly && !hub.registered
      ? new TwinRefusal('unregistered', `hub ${hubId} is not registered (the twin is set to registeredOnly)`)
      : null;
  }
  if (!operator && st.config.registeredOnly)
    return new TwinRefusal(
      'unregistered',
      `hub ${hubId} is not registered (the twin is set to registeredOnly)`,
    );
  if (st.hubs.size >= st.config.maxHubs)
    return new TwinRefusal(
      'limit-hubs',
      `hub ${hubId} refused: the twin holds ${st.hubs.size} hubs, the most allowed (maxHubs ${st.config.maxHubs})`,
    );
  return null;
}

/** Why node nodeId of hubId (found: `node`) cannot be named now, or null. */
export function nodeRefusal(
  st: TwinState,
  hubId: string,
  nodeId: string,
  node: NodeEntity | undefined,
  operator = false,
): TwinRefusal | null {
  if (node) {
    return !operator && st.config.registeredOnly && !node.registered
      ? new TwinRefusal(
          'unregistered',
          `node ${hubId}/${nodeId} is not registered (the twin is set to registeredOnly)`,
        )
      : null;
  }
  if (!operator && st.config.registeredOnly)
    return new TwinRefusal(
      'unregistered',
      `node ${hubId}/${nodeId} is not registered (the twin is set to registeredOnly)`,
    );
  if (st.nodeCount >= st.config.maxNodes)
    return new TwinRefusal(
      'limit-nodes',
      `node ${hubId}/${nodeId} refused: the twin holds ${st.nodeCount} nodes, the most allowed (maxNodes ${st.config.maxNodes})`,
    );
  return null;
}

/** Why vehicle vehicleId (found: `vehicle`) cannot be named now, or null. */
export function vehicleRefusal(
  st: TwinState,
  vehicleId: string,
  vehicle: VehicleEntity | undefined,
  operator = false,
): TwinRefusal | null {
  if (vehicle) {
    return !operator && st.config.registeredOnly && !vehicle.registered
      ? new TwinRefusal(
          'unregistered',
          `vehicle ${vehicleId} is not registered (the twin is set to registeredOnly)`,
        )
      : null;
  }
  if (!operator && st.config.registeredOnly)
    return new TwinRefusal(
      'unregistered',
      `vehicle ${vehicleId} is not registered (the twin is set to registeredOnly)`,
    );
  if (st.vehicles.size >= st.config.maxVehicles)
    return new TwinRefusal(
      'limit-vehicles',
      `vehicle ${vehicleId} refused: the twin holds ${st.vehicles.size} vehicles, the most allowed (maxVehicles ${st.config.maxVehicles})`,
    );
  return null;
}

/**
 * Throws the first refusal of the entities a message names (hub, then node, then vehicle),
 * each given as found (undefined: not known yet) with its id (null: not named).
 */
export function admit(
  st: TwinState,
  hubId: string,
  hub: HubEntity | undefined,
  nodeId: string | null,
  node: NodeEntity | undefined,
  vehicleId: string | null,
  vehicle: VehicleEntity | undefined,
): void {
  // The common case, cheaply: everything known and no registration asked.
  if (hub && (nodeId === null || node) && (vehicleId === null || vehicle) && !st.config.registeredOnly)
    return;
  const r =
    hubRefusal(st, hubId, hub) ??
    (nodeId !== null ? nodeRefusal(st, hubId, nodeId, node) : null) ??
    (vehicleId !== null ? vehicleRefusal(st, vehicleId, vehicle) : null);
  if (r) throw r;
}
