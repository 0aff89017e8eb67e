// wpt-feed: live twin changes for WebSocket clients. Input: twin changes (from the
// "twin changes" link) and client messages from `websocket in` (msg._session; a JSON filter
// {"hub_id": …} / {"vehicle_id": …}, {} for everything). Output: one message per client and
// batch of changes, with msg._session, for `websocket out`.
import type { NodeAPI, NodeDef, NodeInstance, NodeMessage } from '../lib/red';
import type { FleetNode, ChangeOrigin } from '../lib/config-nodes';
import { FeedSubscriptions, parseFeedFilter } from '../../core/api';
import type { TwinChange } from '../../core/twin';
import { num } from '../lib/red';

export = function register(RED: NodeAPI): void {
  function WptFeedNode(this: NodeInstance, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const fleet = RED.nodes.getNode(String(def.fleet ?? '')) as FleetNode | null;
    const subs = new FeedSubscriptions<unknown>(num(def.maxClients, 1000));
    const showStatus = () =>
      node.status({ fill: 'green', shape: 'dot', text: RED._('wpt-feed.status.clients', { n: subs.size }) });
    const forward = (changes: TwinChange[]) => {
      for (const r of subs.route(changes)) node.send({ payload: r.changes, _session: r.handle });
    };
    // Every change of the fleet, including those of its clock and of operators.
    const onChanges = (changes: TwinChange[], _origin: ChangeOrigin) => forward(changes);
    fleet?.events.on('changes', onChanges);
    showStatus();

    node.on('input', (msg: NodeMessage, send, done) => {
      const session = msg._session as { id?: string } | undefined;
      if (session?.id) {
        const f = parseFeedFilter(msg.payload);
        if (f.ok) {
          subs.set(session.id, f.value, session);
          send({
            payload: { subscribed: { hub_id: f.value.hubId ?? null, vehicle_id: f.value.vehicleId ?? null } },
            _session: session,
          });
        } else {
          send({ payload: { error: 'bad_request', message: f.error }, _session: session });
        }
        showStatus();
      }
      done();
    });
    node.on('close', (_r: boolean, done: () => void) => {
      fleet?.events.off('changes', onChanges);
      done();
    });
  }
  RED.nodes.registerType('wpt-feed', WptFeedNode);
};
