// wpt-validate: checks MQTT messages against the WPT-DLM contract (CONTRACT.md).
// Output 1: valid messages, normalised. Output 2: rejects, with the field-precise errors.
import type { NodeAPI, NodeDef, NodeInstance, NodeMessage } from '../lib/red';
import type { FleetNode } from '../lib/config-nodes';
import { decode } from '../../core/contract';

export = function register(RED: NodeAPI): void {
  function WptValidateNode(this: NodeInstance, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const fleet = RED.nodes.getNode(String(def.fleet ?? '')) as FleetNode | null;
    const node = this;
    if (!fleet) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('wpt-validate.status.no-fleet') });
      node.on('input', (_msg: NodeMessage, _send, done) =>
        done(new Error(RED._('wpt-validate.errors.no-fleet'))),
      );
      return;
    }
    let pending: ReturnType<typeof setTimeout> | undefined;
    const showStatus = () => {
      pending = undefined;
      const t = fleet.counters.totals();
      node.status({
        fill: t.rejected ? 'yellow' : 'green',
        shape: 'dot',
        text: RED._('wpt-validate.status.counts', { accepted: t.accepted, rejected: t.rejected }),
      });
    };
    node.status({});
    node.on('input', (msg, send, done) => {
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      const now = Date.now();
      const r = decode(topic, msg.payload, now);
      if (r.ok) {
        fleet.counters.accept(r.msg.kind);
        msg.payload = r.msg.data;
        msg.wpt = r.msg;
        send([msg, null]);
      } else {
        const message = r.errors.map((e) => e.message).join('; ');
        fleet.counters.reject(r.kind, topic, message, now);
        msg.error = { message, source: { id: node.id, type: node.type }, errors: r.errors };
        send([null, msg]);
      }
      // Status at most every 250 ms: status updates are sent to the editor.
      pending ??= setTimeout(showStatus, 250);
      done();
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      if (pending) clearTimeout(pending);
      done();
    });
  }
  RED.nodes.registerType('wpt-validate', WptValidateNode);
};
