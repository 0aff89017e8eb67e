// wpt-fleet: config node that owns one fleet's state — the ingest counters now, the digital
// twin once the twin is wired in. Every WPT-DLM node points at one wpt-fleet.
import type { NodeAPI, NodeDef } from '../lib/red';
import type { FleetNode } from '../lib/config-nodes';
import { IngestCounters } from '../../core/ingest/counters';

export = function register(RED: NodeAPI): void {
  function WptFleetNode(this: FleetNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    this.name = typeof def.name === 'string' ? def.name : '';
    this.counters = new IngestCounters();
    this.on('close', (_removed: boolean, done: () => void) => {
      done();
    });
  }
  RED.nodes.registerType('wpt-fleet', WptFleetNode);
};
