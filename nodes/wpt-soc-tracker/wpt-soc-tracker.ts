// wpt-soc-tracker: node and vehicle telemetry → the fleet's twin: SoC (reported and
// estimated), SoC classes, charging sessions.
import type { NodeAPI } from '../lib/red';
import { registerTwinInputNode } from '../lib/twin-input';

export = function register(RED: NodeAPI): void {
  registerTwinInputNode(RED, {
    type: 'wpt-soc-tracker',
    kinds: ['nodeTelemetry', 'vehicleTelemetry'],
    owns: new Set([
      'node-telemetry',
      'vehicle-upserted',
      'soc',
      'soc-class',
      'session-opened',
      'session-updated',
      'session-closed',
      'node-assignment-cleared',
    ]),
  });
};
