// wpt-charge: POST /api/nodes/{hub_id}/{node_id}/charge. Checks the token, that the node is free
// and the vehicle known, then sends the VehicleRequest (with the tracked SoC) on output 1 for
// `mqtt out` (QoS 1) and the answer (202 with the request, or the error) on output 2.
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow, Props } from '../lib/node-red';
import { configNode } from '../lib/node-red';
import { nodeStatus, compact } from '../lib/status';
import { apiGuard, respond } from '../lib/api-guard';
import type { FleetNode } from '../lib/config-nodes';
import { planChargeRequest, apiError } from '../lib/api';

export = function register(RED: NodeAPI): void {
  function WptChargeNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const fleet = configNode<FleetNode>(RED, def.fleet);
    const guard = apiGuard(RED, def, { jsonBody: true });
    let published = 0;
    let refused = 0;
    const status = nodeStatus(node, () => ({
      fill: 'green',
      shape: 'dot',
      text: RED._('wpt-charge.status.counts', { published: compact(published), refused: compact(refused) }),
    }));
    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const denied = guard.check(msg);
      if (denied) {
        refused++;
        send([null, respond(msg, denied.response, denied.headers)]);
        status.refresh();
        return done();
      }
      if (!fleet) {
        send([null, respond(msg, apiError(500, 'internal', RED._('wpt-charge.errors.no-fleet')))]);
        return done();
      }
      const req = (msg.req ?? {}) as { params?: Record<string, unknown> };
      const plan = planChargeRequest(fleet.twin, req.params ?? {}, msg.payload, Date.now());
      if (!plan.ok) {
        refused++;
        send([null, respond(msg, plan.response)]);
      } else {
        published++;
        const out: NodeMessage = { topic: plan.topic, payload: plan.request, qos: 1, retain: false };
        send([out, respond(msg, { statusCode: 202, payload: { topic: plan.topic, request: plan.request } })]);
      }
      status.refresh();
      done();
    });
    node.on('close', () => status.stop());
  }
  RED.nodes.registerType('wpt-charge', WptChargeNode);
};
