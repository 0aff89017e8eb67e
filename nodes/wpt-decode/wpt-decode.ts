// wpt-decode: the one place where an MQTT message of the WPT-DLM contract is parsed and
// validated. Output 1: the decoded message (msg.wpt, typed; msg.payload the normalised data);
// output 2: rejects with the field-precise errors. Both are counted in the fleet (GET /api/ingest).
// Every node after it relies on msg.wpt and never decodes again.
// `wpt-validate` (the first wave's name) is the same node.
import type { NodeAPI, NodeMessageInFlow, Props } from '../lib/node-red';
import { configNode } from '../lib/node-red';
import type { FleetNode } from '../lib/config-nodes';
import { nodeStatus, compact } from '../lib/status';
import { decode } from '../../core/contract';

export = function register(RED: NodeAPI): void {
  function WptDecodeNode(this: import('../lib/node-red').Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const fleet = configNode<FleetNode>(RED, def.fleet);
    if (!fleet) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('wpt-decode.status.no-fleet') });
      node.on('input', (_msg, _send, done) => done(new Error(RED._('wpt-decode.errors.no-fleet'))));
      return;
    }
    let accepted = 0;
    let rejected = 0;
    const status = nodeStatus(node, () => ({
      fill: rejected ? 'yellow' : 'green',
      shape: 'dot',
      text: RED._('wpt-decode.status.counts', { accepted: compact(accepted), rejected: compact(rejected) }),
    }));
    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      const now = Date.now();
      const r = decode(topic, msg.payload, now);
      if (r.ok) {
        accepted++;
        fleet.counters.accept(r.msg.kind);
        msg.payload = r.msg.data;
        msg.wpt = r.msg;
        send([msg, null]);
      } else {
        rejected++;
        const message = r.errors.map((e) => e.message).join('; ');
        fleet.counters.reject(r.kind, topic, message, now);
        msg.error = { message, source: { id: node.id, type: node.type }, errors: r.errors };
        send([null, msg]);
      }
      status.refresh();
      done();
    });
    node.on('close', () => status.stop());
  }
  RED.nodes.registerType('wpt-decode', WptDecodeNode);
  RED.nodes.registerType('wpt-validate', WptDecodeNode);
};
