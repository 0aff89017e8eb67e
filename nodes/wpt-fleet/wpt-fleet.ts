// wpt-fleet: config node that owns one fleet's digital twin (hubs, nodes, vehicles,
// sessions) and its ingest counters. Restores the twin from PostgreSQL at start when a
// wpt-postgres is linked; ticks the twin once a second (staleness, SoC estimates, sessions of
// hubs gone offline). Every WPT-DLM node points at one wpt-fleet.
import { EventEmitter } from 'node:events';
import type { NodeAPI, NodeDef } from '../lib/red';
import { num } from '../lib/red';
import type { FleetNode, PostgresNode, ChangeOrigin } from '../lib/config-nodes';
import { IngestCounters } from '../../core/ingest/counters';
import { Twin, type TwinChange, type TwinConfig } from '../../core/twin';
import { loadState } from '../../adapters/postgres';
import { loadedStateToSnapshot } from '../../adapters/postgres/twin-mapping';

export = function register(RED: NodeAPI): void {
  function WptFleetNode(this: FleetNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config: Partial<TwinConfig> = {
      staleAfterS: num(def.staleAfterS, 10),
      criticalSoc: num(def.criticalSoc, 20),
      socHysteresis: num(def.socHysteresis, 2),
      defaultBatteryKwh: num(def.defaultBatteryKwh, 60),
      offlineSessionCloseS: num(def.offlineSessionCloseS, 300),
    };
    node.counters = new IngestCounters();
    node.events = new EventEmitter();
    node.events.setMaxListeners(100);
    node.twin = new Twin(config);
    node.restoredLimits = [];
    node.publish = (changes: TwinChange[], origin: ChangeOrigin) => {
      if (changes.length) node.events.emit('changes', changes, origin);
    };
    node.ingest = (msg, nowMs) => {
      const changes = node.twin.apply(msg, nowMs);
      node.publish(changes, 'message');
      return changes;
    };

    const pg = def.postgres ? (RED.nodes.getNode(String(def.postgres)) as PostgresNode | null) : null;
    node.ready = (async () => {
      if (!pg?.pool) return;
      await pg.ready;
      const state = await loadState(pg.pool);
      const { twin, changes } = Twin.restoreWithChanges(loadedStateToSnapshot(state), config, Date.now());
      node.twin = twin;
      node.restoredLimits = state.lastLimits;
      node.log(
        RED._('wpt-fleet.log.restored', {
          hubs: state.hubs.length,
          nodes: state.nodes.length,
          vehicles: state.vehicles.length,
          sessions: state.openSessions.length,
        }),
      );
      node.publish(changes, 'restore');
    })();
    // Without its history the fleet still runs (from retained info/status); say so loudly.
    node.ready = node.ready.catch((err: Error) =>
      node.error(RED._('wpt-fleet.errors.restore', { message: err.message })),
    );

    const tick = setInterval(
      () => {
        try {
          node.publish(node.twin.tick(Date.now()), 'tick');
        } catch (err) {
          node.error(err);
        }
      },
      num(def.tickMs, 1000),
    );
    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(tick);
      node.events.removeAllListeners();
      done();
    });
  }
  RED.nodes.registerType('wpt-fleet', WptFleetNode);
};
