// wpt-dlm-allocator: per-hub dynamic load management. Listens to the fleet's twin changes
// (every change, including the clock's), takes VehicleRequests on its input, runs the
// allocation of each hub in core/dlm/engine and sends one message per limit change, ready
// for `mqtt out` to iot/hubs/{hub_id}/dlm/events (output 1); rejected requests go to
// output 2. One timer, set for the engine's next wake-up.
import type { NodeAPI, NodeDef, NodeInstance, NodeMessage } from '../lib/red';
import { num } from '../lib/red';
import type { ChangeOrigin, FleetNode } from '../lib/config-nodes';
import { DlmEngine, checkDlmConfig, commandToNotification, parseOverrides } from '../../core/dlm/engine';
import type { DlmCommand, Policy } from '../../core/dlm';
import { buildTopic, type VehicleRequestMessage } from '../../core/contract';
import { inboundOf } from '../lib/messages';
import type { AssignRejectReason, TwinChange } from '../../core/twin';

/** `source` of the DLM events this node publishes (stored with the event by wpt-store). */
const SOURCE = 'wpt-dlm';
/** Longest delay setTimeout takes. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export = function register(RED: NodeAPI): void {
  const ns = 'wpt-dlm-allocator';

  function WptDlmAllocatorNode(this: NodeInstance, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const refuse = (text: string, message: string): void => {
      node.status({ fill: 'red', shape: 'ring', text });
      node.on('input', (_m: NodeMessage, _s, done) => done(new Error(message)));
    };
    const fleet = RED.nodes.getNode(String(def.fleet ?? '')) as FleetNode | null;
    if (!fleet) {
      refuse(RED._(`${ns}.status.no-fleet`), RED._(`${ns}.errors.no-fleet`));
      return;
    }
    const overrides = parseOverrides(def.overrides);
    const checked = checkDlmConfig({
      policy: (typeof def.policy === 'string' && def.policy ? def.policy : 'soc-priority') as Policy,
      criticalSoc: num(def.criticalSoc, 20),
      reserve: num(def.reserve, 0),
      minChangeKw: num(def.minChangeKw, 0.5),
      confirmTimeoutS: num(def.confirmTimeoutS, 10),
      rebalanceS: num(def.rebalanceS, 5),
      coalesceMs: num(def.coalesceMs, 50),
      overrides: overrides.ok ? overrides.value : {},
    });
    if (!overrides.ok || !checked.ok) {
      const message = RED._(`${ns}.errors.config`, {
        message: [...(overrides.ok ? [] : overrides.errors), ...(checked.ok ? [] : checked.errors)].join(
          '; ',
        ),
      });
      node.error(message);
      refuse(RED._(`${ns}.status.config`), message);
      return;
    }
    const engine = new DlmEngine(checked.value);

    let started = false;
    let closed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timerAt: number | null = null;
    let sent = 0;
    let rejected = 0;
    let statusTimer: ReturnType<typeof setTimeout> | undefined;

    const showStatus = (): void => {
      statusTimer = undefined;
      const last = engine.lastAllocation();
      node.status({
        fill: rejected ? 'yellow' : 'green',
        shape: 'dot',
        text: RED._(`${ns}.status.counts`, {
          hubs: engine.hubsManaged().length,
          reason: last ? last.reason : '–',
          sent,
          rejected,
        }),
      });
    };
    const refresh = (): void => {
      if (!closed) statusTimer ??= setTimeout(showStatus, 500);
    };

    const toMsg = (cmd: DlmCommand): NodeMessage => ({
      topic: buildTopic('dlmEvent', { hubId: cmd.hubId }),
      payload: commandToNotification(cmd, engine.settingsFor(cmd.hubId).policy, SOURCE),
      qos: 1,
      retain: false,
      dlm: cmd,
    });
    const emit = (cmds: DlmCommand[]): void => {
      if (!cmds.length || closed) return;
      sent += cmds.length;
      // One message per command, in publishing order (break before make).
      node.send([cmds.map(toMsg), null]);
      refresh();
    };

    const schedule = (): void => {
      if (closed) return;
      const next = engine.nextWakeMs();
      if (next === null) return;
      // An earlier timer runs and reschedules; only move it when the next wake is sooner.
      if (timerAt !== null && timerAt <= next) return;
      if (timer) clearTimeout(timer);
      timerAt = next;
      timer = setTimeout(run, Math.min(MAX_DELAY_MS, Math.max(0, next - Date.now())));
    };
    function run(): void {
      timer = undefined;
      timerAt = null;
      engine.takeWakeHint();
      if (!started || closed) return;
      try {
        const now = Date.now();
        const cmds = engine.tick(now);
        cmds.push(...engine.due(fleet!.twin, now));
        emit(cmds);
        refresh();
      } catch (err) {
        node.error(err);
      }
      schedule();
    }

    const onChanges = (changes: TwinChange[], _origin: ChangeOrigin): void => {
      if (!started || closed) return;
      try {
        emit(engine.onChanges(changes, fleet.twin, Date.now()));
      } catch (err) {
        node.error(err);
      }
      // Most batches are telemetry that triggers nothing: no need to rescan for the wake time.
      if (engine.takeWakeHint()) schedule();
    };
    fleet.events.on('changes', onChanges);

    // Limits in force before a restart come from dlm_events (through the fleet); nothing is
    // allocated before they are known, so a restart never oversubscribes a hub.
    void fleet.ready.then(() => {
      if (closed) return;
      const limits = fleet.restoredLimits.map((l) => ({
        hubId: l.hub_id,
        nodeId: l.node_id,
        limitKw: l.new_limit,
      }));
      engine.restore(limits, fleet.twin, Date.now());
      if (limits.length)
        node.log(RED._(`${ns}.log.restored`, { limits: limits.length, hubs: engine.hubsManaged().length }));
      started = true;
      run();
      refresh();
    });

    const reject = (msg: NodeMessage, message: string, reason: string): NodeMessage => {
      rejected++;
      msg.error = { message, reason, source: { id: node.id, type: node.type } };
      refresh();
      return msg;
    };

    node.on('input', async (msg: NodeMessage, send, done) => {
      await fleet.ready;
      // Twin changes arrive through the fleet's events; arrays on the input are not needed.
      if (Array.isArray(msg.payload)) return done();
      const now = Date.now();
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      const r = inboundOf(msg, now);
      if (!r.ok) {
        const message = RED._(`${ns}.errors.invalid`, {
          message: r.errors.map((e) => e.message).join('; '),
        });
        send([null, reject(msg, message, 'invalid')]);
        return done();
      }
      if (r.msg.kind !== 'vehicleRequest') {
        send([null, reject(msg, RED._(`${ns}.errors.kind`, { kind: r.msg.kind, topic }), 'not-a-request')]);
        return done();
      }
      const request: VehicleRequestMessage = r.msg;
      const d = request.data;
      const result = fleet.twin.assign(
        request.hubId,
        d.node_id,
        d.vehicle_id,
        d.soc_percent,
        now,
        request.ts,
      );
      if (!result.ok) {
        const busyWith = fleet.twin.node(request.hubId, d.node_id)?.vehicleId ?? '?';
        const message = RED._(`${ns}.errors.${result.reason}`, {
          hub: request.hubId,
          node: d.node_id,
          vehicle: d.vehicle_id,
          other: busyWith,
        });
        send([null, reject(msg, message, result.reason satisfies AssignRejectReason)]);
        return done();
      }
      // The assignment reaches the engine (and every other listener) as twin changes.
      fleet.publish(result.changes, 'operator');
      refresh();
      done();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      fleet.events.off('changes', onChanges);
      if (timer) clearTimeout(timer);
      if (statusTimer) clearTimeout(statusTimer);
      timer = statusTimer = undefined;
      done();
    });
  }
  RED.nodes.registerType(ns, WptDlmAllocatorNode);
};
