// wpt-hub-registry: hub and node `info` and `status` messages → the fleet's twin.
import type { NodeAPI } from '../lib/red';
import { registerTwinInputNode } from '../lib/twin-input';

export = function register(RED: NodeAPI): void {
  registerTwinInputNode(RED, {
    type: 'wpt-hub-registry',
    kinds: ['hubInfo', 'hubStatus', 'nodeInfo', 'nodeStatus'],
    owns: new Set(['hub-upserted', 'hub-state', 'node-upserted', 'node-state']),
  });
};
