// wpt-fleet: config node that holds one fleet's digital twin (hubs, nodes, vehicles, sessions)
// and its ingest counters, like `mqtt-broker` holds a connection. Restores the twin from
// PostgreSQL at start when a wpt-postgres is linked. It changes nothing by itself: the one
// wpt-twin node that claims it applies messages, requests, operator commands and the clock,
// and sends the changes on its wires.
import type { NodeAPI, Props } from '../lib/node-red';
import { configNode, num, registerNode } from '../lib/node-red';
import type { FleetNode, PostgresNode } from '../lib/config-nodes';
import { IngestCounters } from '../lib/ingest-counters';
import { Twin, type TwinChange, type TwinConfig } from '../../core/twin';
import { loadState } from '../../adapters/postgres';
import { loadedStateToSnapshot } from '../../adapters/postgres/twin-mapping';

export = function register(RED: NodeAPI): void {
  function WptFleetNode(this: FleetNode, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config: Partial<TwinConfig> = {
      staleAfterS: num(def.staleAfterS, 10),
      criticalSoc: num(def.criticalSoc, 20),
      socHysteresis: num(def.socHysteresis, 2),
      defaultBatteryKwh: num(def.defaultBatteryKwh, 60),
      offlineSessionCloseS: num(def.offlineSessionCloseS, 300),
      maxHubs: num(def.maxHubs, 10_000),
      maxNodes: num(def.maxNodes, 100_000),
      maxVehicles: num(def.maxVehicles, 100_000),
      registeredOnly: def.registeredOnly === true || def.registeredOnly === 'true',
    };
    node.counters = new IngestCounters();
    node.twin = new Twin(config);
    node.restoredLimits = [];
    let restoreChanges: TwinChange[] = [];
    node.takeRestoreChanges = () => {
      const c = restoreChanges;
      restoreChanges = [];
      return c;
    };
    let owner: string | null = null;
    Object.defineProperty(node, 'owner', { get: () => owner, enumerable: true });
    node.claim = (id: string) => {
      if (owner !== null && owner !== id) return false;
      owner = id;
      return true;
    };
    node.release = (id: string) => {
      if (owner === id) owner = null;
    };

    const pg = configNode<PostgresNode>(RED, def.postgres);
    node.ready = (async () => {
      if (!pg?.pool) return;
      await pg.ready;
      const state = await loadState(pg.pool);
      const { twin, changes } = Twin.restoreWithChanges(loadedStateToSnapshot(state), config, Date.now());
      node.twin = twin;
      node.restoredLimits = state.lastLimits;
      restoreChanges = changes;
      node.log(
        RED._('wpt-fleet.log.restored', {
          hubs: state.hubs.length,
          nodes: state.nodes.length,
          vehicles: state.vehicles.length,
          sessions: state.openSessions.length,
        }),
      );
    })().catch((err: Error) =>
      // Without its history the fleet still runs (from retained info/status); say so loudly.
      node.error(RED._('wpt-fleet.errors.restore', { message: err.message })),
    );
  }
  registerNode(RED, 'wpt-fleet', WptFleetNode);
};
