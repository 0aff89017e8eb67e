// Shared body of the nodes that feed the twin from MQTT (wpt-hub-registry, wpt-soc-tracker):
// decode (or take msg.wpt from wpt-validate), apply to the fleet's twin, send the changes on
// output 1 and rejects on output 2, count both. Changes made by the fleet's clock (tick), a
// restore or an operator are sent by the node that owns their type, so each change leaves the
// flow once.
import type { NodeAPI, NodeDef, NodeInstance, NodeMessage } from './red';
import type { FleetNode, ChangeOrigin } from './config-nodes';
import type { TopicKind, ValidationError } from '../../core/contract';
import { inboundOf } from './messages';
import { TwinInputError, type TwinChange, type TwinChangeType } from '../../core/twin';

export interface TwinInputSpec {
  type: string;
  /** Message kinds this node takes; others are rejected with a clear error. */
  kinds: readonly TopicKind[];
  /** Change types this node sends when they come from the fleet's clock or a restore. */
  owns: ReadonlySet<TwinChangeType>;
}

function rejectMsg(
  node: NodeInstance,
  msg: NodeMessage,
  errors: Array<Pick<ValidationError, 'message'>>,
): NodeMessage {
  const message = errors.map((e) => e.message).join('; ');
  msg.error = { message, errors, source: { id: node.id, type: node.type } };
  return msg;
}

export function registerTwinInputNode(RED: NodeAPI, spec: TwinInputSpec): void {
  const ns = spec.type;
  function TwinInputNode(this: NodeInstance, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const fleet = RED.nodes.getNode(String(def.fleet ?? '')) as FleetNode | null;
    if (!fleet) {
      node.status({ fill: 'red', shape: 'ring', text: RED._(`${ns}.status.no-fleet`) });
      node.on('input', (_m: NodeMessage, _s, done) => done(new Error(RED._(`${ns}.errors.no-fleet`))));
      return;
    }
    const kinds = new Set<string>(spec.kinds);
    let accepted = 0;
    let rejected = 0;
    let statusTimer: ReturnType<typeof setTimeout> | undefined;
    const showStatus = () => {
      statusTimer = undefined;
      const s = fleet.twin.stats();
      node.status({
        fill: rejected ? 'yellow' : 'green',
        shape: 'dot',
        text: RED._(`${ns}.status.counts`, { ...s, accepted, rejected }),
      });
    };
    const refresh = () => {
      statusTimer ??= setTimeout(showStatus, 500);
    };

    const onChanges = (changes: TwinChange[], origin: ChangeOrigin) => {
      // Changes of messages are sent by the node that took the message (below). Those of the
      // clock, a restore or an operator action (a request assigned by wpt-dlm-allocator, a
      // profile edited through the API) have no message: the node owning their type sends them.
      if (origin === 'message') return;
      const mine = changes.filter((c) => spec.owns.has(c.type));
      if (mine.length) node.send([{ topic: origin, payload: mine }, null]);
      refresh();
    };
    fleet.events.on('changes', onChanges);

    node.on('input', async (msg: NodeMessage, send, done) => {
      await fleet.ready;
      const now = Date.now();
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      // Messages decoded here are counted here; those from wpt-validate were counted there.
      const r = inboundOf(msg, now);
      if (!r.ok) {
        rejected++;
        fleet.counters.reject(r.kind, topic, r.errors.map((e) => e.message).join('; '), now);
        send([null, rejectMsg(node, msg, r.errors)]);
        refresh();
        return done();
      }
      const inbound = r.msg;
      const decodedHere = r.decodedHere;
      if (!kinds.has(inbound.kind)) {
        rejected++;
        const message = RED._(`${ns}.errors.kind`, { kind: inbound.kind, topic });
        if (decodedHere) fleet.counters.reject(inbound.kind, topic, message, now);
        send([null, rejectMsg(node, msg, [{ message }])]);
        refresh();
        return done();
      }
      if (decodedHere) fleet.counters.accept(inbound.kind);
      try {
        const changes = fleet.ingest(inbound, now);
        accepted++;
        if (changes.length) {
          msg.payload = changes;
          msg.wpt = inbound;
          send([msg, null]);
        }
      } catch (err) {
        // The twin refuses malformed input before changing anything.
        if (!(err instanceof TwinInputError)) throw err;
        rejected++;
        send([null, rejectMsg(node, msg, [{ message: err.message }])]);
      }
      refresh();
      done();
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      fleet.events.off('changes', onChanges);
      if (statusTimer) clearTimeout(statusTimer);
      done();
    });
  }
  RED.nodes.registerType(spec.type, TwinInputNode);
}
