// wpt-twin: the one node that changes the fleet's digital twin. It takes decoded contract
// messages (msg.wpt from wpt-decode), vehicle requests (they assign a vehicle to a node) and
// operator commands, runs the twin's clock, and sends every change on its first output:
// one message per event-loop turn, msg.payload = TwinChange[] (the allocator, the store, the
// time series and the live feed take what they need from it). Output 2 answers operator
// commands (for the link call that sent them); output 3 has what was refused, with msg.error.
// `wpt-hub-registry` and `wpt-soc-tracker` (the first wave's two halves of it) still load, and
// say that this node replaces them.
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow, Props, SendFn } from '../lib/node-red';
import { configNode, num } from '../lib/node-red';
import type { FleetNode } from '../lib/config-nodes';
import { nodeStatus, compact } from '../lib/status';
import { inboundOf, isControlRecords, isRemoteState, isWatchOrder } from '../lib/messages';
import { TwinInputError, type TwinChange } from '../../core/twin';
import { isOperatorCommand } from '../lib/api';
import { runCommand } from './commands';
import { SHARED_PAYLOAD, freezeList, installSharedPayloadHook } from '../lib/shared-messages';

/** A batch is sent at once when it reaches this many changes (else at the end of the turn). */
const MAX_BATCH = 2000;

export = function register(RED: NodeAPI): void {
  const ns = 'wpt-twin';
  installSharedPayloadHook(RED);

  function WptTwinNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const fleet = configNode<FleetNode>(RED, def.fleet);
    const refuse = (text: string, message: string) => {
      node.status({ fill: 'red', shape: 'ring', text });
      node.on('input', (_m, _s, done) => done(new Error(message)));
    };
    if (!fleet) return refuse(RED._(`${ns}.status.no-fleet`), RED._(`${ns}.errors.no-fleet`));
    if (!fleet.claim(node.id)) {
      return refuse(RED._(`${ns}.status.taken`), RED._(`${ns}.errors.taken`, { owner: fleet.owner ?? '?' }));
    }

    let rejected = 0;
    let closed = false;
    const status = nodeStatus(node, () => {
      const s = fleet.twin.stats();
      return {
        fill: rejected ? 'yellow' : 'green',
        // A ring: a standby's twin, refusing operator commands.
        shape: fleet.twin.readOnly === null ? 'dot' : 'ring',
        text: RED._(`${ns}.status.counts`, {
          hubs: compact(s.hubs),
          nodes: compact(s.nodes),
          rejected: rejected ? ` · ✗ ${compact(rejected)}` : '',
        }),
      };
    });

    // Changes of one event-loop turn leave as one message: downstream nodes get fewer, larger
    // messages (Node-RED clones a message for every wire after the first).
    let batch: TwinChange[] = [];
    let flushScheduled = false;
    const flush = () => {
      flushScheduled = false;
      if (!batch.length || closed) return;
      const payload = freezeList(batch);
      batch = [];
      // Frozen and marked: the further wires get it without a deep copy (shared-messages.ts).
      node.send([{ topic: 'twin/changes', payload, [SHARED_PAYLOAD]: true } as NodeMessage, null, null]);
      status.refresh();
    };
    const emit = (changes: readonly TwinChange[]) => {
      if (!changes.length || closed) return;
      for (const c of changes) batch.push(c);
      if (batch.length >= MAX_BATCH) flush();
      else if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    };
    const reject = (send: SendFn, msg: NodeMessage, message: string, extra: Record<string, unknown> = {}) => {
      rejected++;
      msg.error = { message, ...extra, source: { id: node.id, type: node.type } };
      send([null, null, msg]);
      status.refresh();
    };

    let ready = false;
    const tick = setInterval(
      () => {
        if (!ready) return;
        try {
          emit(fleet.twin.tick(Date.now()));
        } catch (err) {
          node.error(err);
        }
      },
      Math.max(100, num(def.tickMs, 1000)),
    );
    void fleet.ready.then(() => {
      ready = true;
      if (!closed) emit(fleet.takeRestoreChanges());
      status.refresh();
    });

    node.on('input', async (msg: NodeMessageInFlow, send, done) => {
      if (!ready) await fleet.ready;
      const now = Date.now();
      if (isOperatorCommand(msg.command)) {
        // An operator command (from wpt-command, through a link call): answered on output 2.
        const actor = typeof msg.actor === 'string' && msg.actor ? msg.actor : 'api';
        let r: ReturnType<typeof runCommand>;
        try {
          r = runCommand(fleet.twin, msg.command, actor, now);
        } catch (err) {
          return done(err as Error);
        }
        emit(r.changes);
        msg.payload = r.answer.payload;
        msg.statusCode = r.answer.statusCode;
        msg.headers = {
          ...(msg.headers as object | undefined),
          'Content-Type': 'application/json; charset=utf-8',
        };
        send([null, msg, null]);
        status.refresh();
        return done();
      }
      if (msg.watch !== undefined) {
        // Cluster mode (wpt-subscriptions): the hubs this instance's twin watches.
        if (!isWatchOrder(msg.watch)) return done(new Error(RED._(`${ns}.errors.watch`)));
        const w = msg.watch;
        if (w.ownedOnly) fleet.twin.watchOwnedOnly();
        for (const h of w.unwatch ?? []) fleet.twin.unwatch(h);
        for (const h of w.watch ?? []) {
          try {
            emit(fleet.twin.watch(h.hubId, h.sessions, now));
          } catch (err) {
            node.error(err);
          }
        }
        status.refresh();
        return done();
      }
      if (msg.remote !== undefined) {
        // Cluster mode (wpt-subscriptions): live values of hubs other instances own (views only).
        if (!isRemoteState(msg.remote)) return done(new Error(RED._(`${ns}.errors.remote`)));
        fleet.twin.applyRemote(msg.remote);
        return done();
      }
      if (msg.readOnly !== undefined) {
        // A standby single instance (wpt-subscriptions): operator commands refused with this reason.
        if (msg.readOnly !== null && typeof msg.readOnly !== 'string')
          return done(new Error(RED._(`${ns}.errors.read-only`)));
        fleet.twin.setReadOnly(msg.readOnly);
        status.refresh();
        return done();
      }
      if (msg.controls !== undefined) {
        // Cluster mode, or a standby (wpt-subscriptions): operator settings another instance applied.
        if (!isControlRecords(msg.controls)) return done(new Error(RED._(`${ns}.errors.controls`)));
        emit(fleet.twin.syncControls(msg.controls, now));
        status.refresh();
        return done();
      }
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      // Decoded by wpt-decode (msg.wpt), or raw MQTT decoded here — once either way.
      const r = inboundOf(msg, now);
      if (!r.ok) {
        const message = r.errors.map((e) => e.message).join('; ');
        fleet.counters.reject(r.kind, topic, message, now);
        reject(send, msg, message, { errors: r.errors });
        return done();
      }
      const inbound = r.msg;
      let changes: TwinChange[];
      try {
        changes = fleet.twin.apply(inbound, now, { retained: msg.retain === true });
      } catch (err) {
        // The twin refuses malformed input and entities beyond its bounds before changing anything:
        // counted as rejected (GET /api/ingest) like what does not decode.
        if (!(err instanceof TwinInputError)) return done(err as Error);
        fleet.counters.reject(inbound.kind, topic, err.message, now);
        reject(send, msg, err.message, { reason: (err as { reason?: string }).reason ?? 'invalid' });
        return done();
      }
      if (r.decodedHere) fleet.counters.accept(inbound.kind);
      emit(changes);
      // A refused request goes to output 3 with its reason (an accepted one shows in the changes:
      // node-assigned); output 2 answers operator commands only.
      const refused =
        inbound.kind === 'vehicleRequest' ? changes.find((c) => c.type === 'request-rejected') : undefined;
      if (refused && refused.type === 'request-rejected' && inbound.kind === 'vehicleRequest') {
        reject(
          send,
          msg,
          RED._(`${ns}.errors.request.${refused.reason}`, {
            hub: inbound.hubId,
            node: inbound.data.node_id,
            vehicle: inbound.data.vehicle_id,
          }),
          { reason: refused.reason },
        );
      }
      status.refresh();
      done();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      // What this turn changed still goes out: wpt-store writes it on its way out.
      flush();
      closed = true;
      clearInterval(tick);
      status.stop();
      fleet.release(node.id);
      done();
    });
  }

  /** The first wave's two halves of wpt-twin: they load, and say what replaces them. */
  function ReplacedNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const message = RED._(`${ns}.errors.replaced`, { type: def.type });
    this.status({ fill: 'red', shape: 'ring', text: RED._(`${ns}.status.replaced`) });
    this.warn(message);
    this.on('input', (_m, _s, done) => done(new Error(message)));
  }

  RED.nodes.registerType(ns, WptTwinNode);
  RED.nodes.registerType('wpt-hub-registry', ReplacedNode);
  RED.nodes.registerType('wpt-soc-tracker', ReplacedNode);
};
