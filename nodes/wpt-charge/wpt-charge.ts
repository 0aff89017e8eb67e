// wpt-charge: POST /api/nodes/{hub_id}/{node_id}/charge. Checks the node is free and the
// vehicle known, then sends the VehicleRequest (with the tracked SoC) on output 1 for
// `mqtt out` (QoS 1) and the answer (202 with the request, or the error) on output 2.
import type { NodeAPI, NodeDef, NodeInstance, NodeMessage } from '../lib/red';
import { statusThrottle } from '../lib/red';
import type { FleetNode } from '../lib/config-nodes';
import { planChargeRequest, apiError } from '../../core/api';

export = function register(RED: NodeAPI): void {
  function WptChargeNode(this: NodeInstance, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const fleet = RED.nodes.getNode(String(def.fleet ?? '')) as FleetNode | null;
    let published = 0;
    let refused = 0;
    const status = statusThrottle(node, () => ({
      fill: 'green',
      shape: 'dot',
      text: RED._('wpt-charge.status.counts', { published, refused }),
    }));
    node.on('input', (msg: NodeMessage, send, done) => {
      const req = (msg.req ?? {}) as { params?: Record<string, unknown> };
      const json = { 'Content-Type': 'application/json; charset=utf-8' };
      if (!fleet) {
        const r = apiError(500, 'internal', RED._('wpt-charge.errors.no-fleet'));
        send([null, { ...msg, payload: r.payload, statusCode: r.statusCode, headers: json }]);
        return done();
      }
      const plan = planChargeRequest(fleet.twin, req.params ?? {}, msg.payload, Date.now());
      if (!plan.ok) {
        refused++;
        send([
          null,
          { ...msg, payload: plan.response.payload, statusCode: plan.response.statusCode, headers: json },
        ]);
      } else {
        published++;
        const out: NodeMessage = { topic: plan.topic, payload: plan.request, qos: 1, retain: false };
        send([
          out,
          { ...msg, payload: { topic: plan.topic, request: plan.request }, statusCode: 202, headers: json },
        ]);
      }
      status.refresh();
      done();
    });
    node.on('close', (_r: boolean, done: () => void) => {
      status.stop();
      done();
    });
  }
  RED.nodes.registerType('wpt-charge', WptChargeNode);
};
