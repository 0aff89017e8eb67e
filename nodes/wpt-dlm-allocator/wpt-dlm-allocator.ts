// wpt-dlm-allocator: per-hub dynamic load management. Input: the change lists of wpt-twin
// (msg.payload: TwinChange[]) and, from a `status` node watching the `mqtt out` of the DLM
// events, the broker connection (msg.status). Runs the allocation of each hub in core/dlm and
// sends one message per limit change on output 1, ready for `mqtt out` (topic
// iot/hubs/{hub_id}/dlm/events, QoS 1), for wpt-store (our own DLM events are stored from here,
// never read back from the broker) and for wpt-timeseries; alarms (a hub that ignores its limits,
// a hub waiting for its info) on output 2. Nothing is sent while the broker is away: when it is
// back, every hub is re-sent its limits (RESYNC), decreases first. One timer, set for the
// engine's next wake-up.
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow, Props } from '../lib/node-red';
import { configNode, num } from '../lib/node-red';
import type { ClusterConfigNode, FleetNode, SoleGuard } from '../lib/config-nodes';
import { nodeStatus, compact } from '../lib/status';
import {
  DEFAULT_DLM_CONFIG,
  DlmEngine,
  checkDlmConfig,
  commandToNotification,
  parseOverrides,
  ForeignDlmEvents,
  HubCustody,
  type DlmAlarmEvent,
  type DlmCommand,
  type Policy,
  type RestoredLimit,
  type TakeOverResult,
} from '../../core/dlm';
import { buildTopic, formatTimestamp } from '../../core/contract';
import { isTwinChangeList } from '../../core/twin';
import { brokerState, keepPrompt, type BrokerState, type MqttBrokerNode } from '../lib/broker-status';
import { alarmJson } from './alarms';

/** `source` of the DLM events this node publishes (stored with the event by wpt-store). */
const SOURCE = 'wpt-dlm';
/** Longest delay setTimeout takes. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export = function register(RED: NodeAPI): void {
  const ns = 'wpt-dlm-allocator';

  function WptDlmAllocatorNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const refuse = (text: string, message: string): void => {
      node.status({ fill: 'red', shape: 'ring', text });
      node.on('input', (_m, _s, done) => done(new Error(message)));
    };
    const fleet = configNode<FleetNode>(RED, def.fleet);
    if (!fleet) return refuse(RED._(`${ns}.status.no-fleet`), RED._(`${ns}.errors.no-fleet`));
    const overrides = parseOverrides(def.overrides);
    const d = DEFAULT_DLM_CONFIG;
    const checked = checkDlmConfig({
      policy: (typeof def.policy === 'string' && def.policy ? def.policy : d.policy) as Policy,
      criticalSoc: num(def.criticalSoc, d.criticalSoc),
      reserve: num(def.reserve, d.reserve),
      minChangeKw: num(def.minChangeKw, d.minChangeKw),
      resendS: num(def.resendS, d.resendS),
      resendMaxS: num(def.resendMaxS, d.resendMaxS),
      deliveryWindowS: num(def.deliveryWindowS, d.deliveryWindowS),
      rebalanceS: num(def.rebalanceS, d.rebalanceS),
      coalesceMs: num(def.coalesceMs, d.coalesceMs),
      overrides: overrides.ok ? overrides.value : {},
    });
    if (!overrides.ok || !checked.ok) {
      const message = RED._(`${ns}.errors.config`, {
        message: [...(overrides.ok ? [] : overrides.errors), ...(checked.ok ? [] : checked.errors)].join(
          '; ',
        ),
      });
      node.error(message);
      return refuse(RED._(`${ns}.status.config`), message);
    }
    const engine = new DlmEngine(checked.value);
    // The broker connection the DLM events leave by: its state (nothing is sent while it is
    // away), and small messages out at once (TCP_NODELAY).
    const brokerNode = configNode<MqttBrokerNode>(RED, def.broker);
    const prompt = keepPrompt(brokerNode);
    // Cluster mode (a wpt-cluster linked and on): only the hubs this instance owns are
    // allocated and published for. Off (or not linked): every hub, exactly as before.
    const clusterNode = configNode<ClusterConfigNode>(RED, def.cluster);
    const cluster = clusterNode?.enabled ? clusterNode : null;
    /** A single instance with a database: its sole-orchestrator lock (null in cluster mode). */
    const sole = cluster ? null : (clusterNode?.sole ?? null);
    let offSole: (() => void) | undefined;
    /** Cluster mode: the hubs the engine manages, following the leases (core/dlm/custody.ts). */
    const custody = cluster ? new HubCustody(engine, cluster) : null;
    /** Single instance: since when every hub is allocated here, for foreign events. */
    let startedAtMs = 0;
    /**
     * Events of another orchestrator for our hubs (core/dlm/foreign.ts): an alarm. The grace
     * after a hub is taken on is for a previous owner's last events: cluster mode only.
     */
    const foreign = new ForeignDlmEvents(custody ? {} : { graceMs: 0 });
    let foreignAlarms: DlmAlarmEvent[] = [];
    let offCycle: (() => void) | undefined;

    let started = false;
    let closed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timerAt: number | null = null;
    let sent = 0;
    let broker: BrokerState | null = null;
    const status = nodeStatus(node, () => {
      if (sole && !started && sole.state === 'standby')
        return { fill: 'yellow', shape: 'ring', text: RED._(`${ns}.status.standby`) };
      if (broker === 'down') return { fill: 'red', shape: 'ring', text: RED._(`${ns}.status.broker-down`) };
      const ignoring = engine.alarms().find((a) => a.kind === 'hub-ignores-commands');
      if (ignoring)
        return { fill: 'red', shape: 'dot', text: RED._(`${ns}.status.ignored`, { hub: ignoring.hubId }) };
      const waiting = engine.waitingHubs();
      if (waiting.length) {
        return {
          fill: 'yellow',
          shape: 'ring',
          text: RED._(`${ns}.status.waiting`, {
            hub: waiting[0]!.hubId,
            more: waiting.length > 1 ? ` +${waiting.length - 1}` : '',
          }),
        };
      }
      return {
        fill: 'green',
        shape: 'dot',
        text: RED._(`${ns}.status.counts`, {
          hubs: compact(engine.hubsManaged().length),
          sent: compact(sent),
        }),
      };
    });

    /** Cluster mode: the owner's lease epoch on each event (an extra field, CONTRACT.md allows them). */
    const withEpoch = <T extends object>(payload: T, hubId: string): T =>
      custody ? { ...payload, owner_epoch: custody.epochOf(hubId) } : payload;

    /** Cluster mode, after each lease cycle: drops the hubs whose fence closed, takes over those newly owned. */
    const reconcile = (): void => {
      if (!custody || closed || !started) return;
      const fresh = custody.reconcile(Date.now());
      if (fresh.length) void takeOver(custody, fresh);
    };
    /** Acquired hubs: their limits in force restored from PostgreSQL, then RESYNC (as at a restart). */
    const takeOver = async (c: HubCustody, hubs: string[]): Promise<void> => {
      let done: TakeOverResult | null;
      try {
        done = await c.takeOver(hubs, fleet!.twin, Date.now);
      } catch (err) {
        // Not restored: not allocated; the next cycle tries again.
        node.warn(RED._(`${ns}.log.takeover-failed`, { message: (err as Error).message }));
        return;
      }
      if (!done || closed) return;
      node.log(RED._(`${ns}.log.takeover`, { hubs: done.hubs, limits: done.limits }));
      run();
      status.refresh();
    };

    const toMsg = (cmd: DlmCommand): NodeMessage => ({
      topic: buildTopic('dlmEvent', { hubId: cmd.hubId }),
      payload: withEpoch(commandToNotification(cmd, engine.settingsFor(cmd.hubId).policy, SOURCE), cmd.hubId),
      qos: 1,
      retain: false,
      dlm: cmd,
    });
    /** Sends the commands (output 1, in publishing order: break before make) and the alarms. */
    const emit = (cmds: DlmCommand[]): void => {
      if (closed) return;
      // The fence, right before the batch leaves (the cluster cycle drops the others within renewMs).
      if (custody && cmds.length) cmds = custody.fence(cmds, Date.now());
      for (const c of cmds) foreign.sent(c.allocationId);
      const alarms = [...engine.takeAlarmEvents(), ...foreignAlarms, ...foreign.tick(Date.now())];
      foreignAlarms = [];
      for (const e of alarms) {
        const text = alarmJson(e.alarm).message as string;
        if (e.state === 'raised') node.warn(text);
        else node.log(RED._(`${ns}.log.cleared`, { message: text }));
      }
      if (!cmds.length && !alarms.length) return;
      sent += cmds.length;
      node.send([
        cmds.length ? cmds.map(toMsg) : null,
        alarms.length
          ? alarms.map((e) => ({
              topic: `wpt/alarms/${e.alarm.hubId}`,
              payload: { state: e.state, timestamp: formatTimestamp(e.ts), ...alarmJson(e.alarm) },
            }))
          : null,
      ]);
      status.refresh();
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
      } catch (err) {
        node.error(err);
      }
      schedule();
    }

    /** The broker connection went down or came back (status node, or the broker node itself). */
    const setBroker = (b: BrokerState): void => {
      if (b === broker) return;
      const was = broker;
      broker = b;
      const now = Date.now();
      if (b === 'down') {
        engine.brokerDown(now);
        if (was === 'up') node.warn(RED._(`${ns}.log.broker-down`));
      } else {
        prompt.connected();
        engine.brokerUp(fleet!.twin, now);
        if (was === 'down' && started) node.log(RED._(`${ns}.log.resync`));
        if (started) run();
      }
      status.set(null);
      status.refresh();
    };
    // Without a status node wired, the broker node's own state tells (checked four times a second).
    const watch = brokerNode
      ? setInterval(() => {
          if (started && !closed) setBroker(brokerNode.connected ? 'up' : 'down');
        }, 250)
      : undefined;

    // Limits in force before a restart come from PostgreSQL (through the fleet); nothing is
    // allocated before they are known, so a restart never oversubscribes a hub.
    void fleet.ready.then(() => {
      if (closed) return;
      startedAtMs = Date.now();
      if (cluster) {
        // Nothing is owned yet: each hub is restored and RESYNCed when its lease is acquired.
        started = true;
        offCycle = cluster.onCycle(() => reconcile());
        if (brokerNode && !brokerNode.connected) setBroker('down');
        reconcile();
        status.refresh();
        return;
      }
      const limits = fleet.restoredLimits.map((l) => ({
        hubId: l.hub_id,
        nodeId: l.node_id,
        limitKw: l.new_limit,
      }));
      // The hubs restored from PostgreSQL, as the twin has them now (before any message: its
      // input waits for the fleet too, and this callback was registered first). Hubs heard
      // after this come as changes, as new hubs, even while the lock below is settled.
      const restoredHubs = fleet.twin.hubs().map((h) => h.hubId);
      if (!sole) return startSingle(limits, restoredHubs);
      // A single instance with a database allocates only as its sole orchestrator.
      void sole.settled.then(() => {
        if (closed) return;
        offSole = sole.onChange(() => void soleChanged(sole));
        if (sole.mayAllocate()) startSingle(limits, restoredHubs);
        else status.refresh();
      });
    });

    /**
     * Single instance: the hubs restored (at start: those stored; at a takeover: every hub of
     * the twin) and those with limits stored, restored as after a restart (RESYNC as each reports).
     */
    function startSingle(limits: RestoredLimit[], hubIds: readonly string[]): void {
      const now = Date.now();
      startedAtMs = now;
      engine.restoreHubs([...hubIds, ...limits.map((l) => l.hubId)], limits, fleet!.twin, now);
      if (limits.length)
        node.log(RED._(`${ns}.log.restored`, { limits: limits.length, hubs: engine.hubsManaged().length }));
      started = true;
      if (brokerNode && !brokerNode.connected) setBroker('down');
      run();
      status.refresh();
    }
    /**
     * The sole-orchestrator lock changed hands. Taken (the other orchestrator is gone): the limits
     * it stored are read now and restored as at a restart. Lost to another orchestrator:
     * nothing more is allocated or sent here; every hub is dropped.
     */
    let activating = false;
    async function soleChanged(guard: SoleGuard): Promise<void> {
      if (closed) return;
      if (guard.mayAllocate() && !started && !activating) {
        activating = true;
        let limits: RestoredLimit[] = [];
        try {
          limits = await clusterNode!.storedLimits(fleet!.twin.hubs().map((h) => h.hubId));
        } catch (err) {
          // Unknown limits: every node counts at its max power until its hub reports it (restart.ts).
          node.warn(RED._(`${ns}.log.sole-limits-failed`, { message: (err as Error).message }));
        } finally {
          activating = false;
        }
        if (!closed && guard.mayAllocate() && !started)
          startSingle(
            limits,
            fleet!.twin.hubs().map((h) => h.hubId),
          );
      } else if (!guard.mayAllocate() && started) {
        started = false;
        if (timer) clearTimeout(timer);
        timer = undefined;
        timerAt = null;
        const now = Date.now();
        for (const h of engine.hubsManaged()) engine.dropHub(h, now);
        status.refresh();
      }
    }

    node.on('input', async (msg: NodeMessageInFlow, _send, done) => {
      if (!started) await fleet.ready;
      // Changes that came before the start wait for it, as at a restart: the sole-orchestrator
      // lock's first round too (the start runs first: its callback was registered earlier).
      if (!started && sole) await sole.settled;
      if (closed) return done();
      if (isTwinChangeList(msg.payload)) {
        // A standby allocates nothing: the twin keeps the state for when it takes over.
        if (!started) return done();
        const changes = custody ? custody.ownChanges(msg.payload) : msg.payload;
        // DLM events on the bus that claim to be an orchestrator's and are not ours.
        const t = Date.now();
        for (const c of changes)
          if (c.type === 'hub-dlm-event') {
            const since = custody ? custody.managedSince(c.hubId) : startedAtMs;
            const raised = foreign.seen(c, SOURCE, since, t);
            if (raised) foreignAlarms.push(raised);
          }
        try {
          emit(engine.onChanges(changes, fleet.twin, t));
        } catch (err) {
          return done(err as Error);
        }
        // Most batches are telemetry that triggers nothing: no need to rescan for the wake time.
        if (engine.takeWakeHint()) schedule();
        return done();
      }
      const b = brokerState(msg.status);
      if (b !== null) {
        setBroker(b);
        return done();
      }
      done(new Error(RED._(`${ns}.errors.input`)));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      custody?.close();
      offCycle?.();
      offSole?.();
      if (timer) clearTimeout(timer);
      if (watch) clearInterval(watch);
      timer = undefined;
      status.stop();
      prompt.stop();
      done();
    });
  }
  RED.nodes.registerType(ns, WptDlmAllocatorNode);
};
