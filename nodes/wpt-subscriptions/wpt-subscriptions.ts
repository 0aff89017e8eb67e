// wpt-subscriptions: what this instance subscribes to, beside the flow's static `mqtt in`
// nodes (core/cluster/subscriptions.ts), sent to a dynamic `mqtt in` (one with an input) as
// its subscribe / unsubscribe actions; and, in cluster mode, which hubs the twin watches,
// sent to wpt-twin (msg.watch). One instance (no wpt-cluster, or one that is off): every
// hub's node telemetry and DLM events and every vehicle's telemetry, sent once the flows
// started (again at each deploy: the `mqtt in` may be new). Cluster mode: vehicle telemetry
// as a shared subscription, and per hub this instance acquires, first its open sessions
// from PostgreSQL to the twin, then its topics; per hub lost or released, first its topics
// off, then the twin stops watching it. Also in cluster mode, the operator settings other
// instances applied (read from PostgreSQL after each new audit record, every `syncMs`) go to
// the twin (msg.controls), so that an operator command taken by any instance acts on the DLM
// of the hub's owner; and the node telemetry the owners of the other hubs store (msg.remote),
// so that this instance's REST API, dashboard and recommendations show every hub's load.
// One instance that stands by (another holds its database: wpt-cluster's sole-orchestrator
// lock): its twin refuses operator commands (msg.readOnly) and follows the operator settings
// the other applies (msg.controls), until it takes over.
import type { Node, NodeAPI, NodeMessage, Props } from '../lib/node-red';
import { configNode, num } from '../lib/node-red';
import type { ClusterConfigNode, PostgresNode } from '../lib/config-nodes';
import type { WatchOrder } from '../lib/messages';
import {
  DEFAULT_SHARE_GROUP,
  hubSubscriptions,
  isShareGroup,
  singleSubscriptions,
  vehicleSubscriptions,
  type Subscription,
} from '../../core/cluster';
import type { SessionRecord } from '../../core/twin';
import {
  controlsAfter,
  lastAuditId,
  loadOpenSessionsOfHubs,
  nodeTelemetryAfter,
  vehiclesAfter,
} from '../../adapters/postgres';
import { controlRecordsOf, remoteStateOf, sessionRecordsOf } from '../../adapters/postgres/twin-mapping';

const ns = 'wpt-subscriptions';
/**
 * The read of rows other instances changed overlaps the previous one by this much (ms): a
 * write committed after a later one is still read (the write queue commits within ms).
 */
const REMOTE_OVERLAP_MS = 2000;

export = function register(RED: NodeAPI): void {
  function WptSubscriptionsNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const clusterNode = configNode<ClusterConfigNode>(RED, def.cluster);
    const cluster = clusterNode?.enabled ? clusterNode : null;
    const pg = configNode<PostgresNode>(RED, def.postgres);
    const group = typeof def.shareGroup === 'string' && def.shareGroup ? def.shareGroup : DEFAULT_SHARE_GROUP;
    let closed = false;

    // The dynamic `mqtt in` takes msg.topic as an array of {topic, qos} (not a string).
    const actions = (action: 'subscribe' | 'unsubscribe', subs: Subscription[]): NodeMessage =>
      ({ topic: subs.map((s) => ({ topic: s.topic, qos: s.qos })), action }) as unknown as NodeMessage;
    // Outputs: 1 hub topics (the persistent-session mqtt in), 2 vehicle telemetry (the
    // clean-session one: core/cluster/subscriptions.ts), 3 wpt-twin.
    const toMqtt = (m: NodeMessage) => node.send([m, null, null]);
    const toVehicles = (m: NodeMessage) => node.send([null, m, null]);
    const toTwin = (w: WatchOrder) =>
      node.send([null, null, { topic: 'twin/watch', watch: w } as NodeMessage]);
    const syncMs = Math.max(200, num(def.syncMs, 1000));
    const mqtt5 = def.mqtt5 !== false && def.mqtt5 !== 'false';

    // Operator settings other instances applied: after each audit record newer than the last
    // one read, the settings of the entities it names as stored now, and what was deleted (rows
    // of this instance's own commands come back too: equal settings change nothing).
    let lastAudit: number | null = null;
    const syncControls = async (pool: NonNullable<PostgresNode['pool']>): Promise<void> => {
      await pg!.ready;
      // At the first read, the actions of the last minute again: one taken by another
      // instance between this twin's restore and now is not missed.
      lastAudit ??= await lastAuditId(pool, 60);
      const r = await controlsAfter(pool, lastAudit);
      lastAudit = r.lastId;
      const d = r.deleted;
      const any =
        r.hubs.length ||
        r.nodes.length ||
        r.vehicles.length ||
        d.hubs.length ||
        d.nodes.length ||
        d.vehicles.length;
      if (!closed && any)
        node.send([null, null, { topic: 'twin/controls', controls: controlRecordsOf(r) } as NodeMessage]);
    };

    if (!cluster) {
      const subs = singleSubscriptions();
      const onStarted = () => {
        if (closed) return;
        toMqtt(actions('subscribe', subs));
        toVehicles(actions('subscribe', vehicleSubscriptions()));
        node.status({
          fill: 'green',
          shape: 'dot',
          text: RED._(`${ns}.status.single`, { n: subs.length + 1 }),
        });
      };
      RED.events.on('flows:started', onStarted);
      const offStandby = followSole();
      node.on('close', (_removed: boolean, done: () => void) => {
        closed = true;
        offStandby();
        RED.events.removeListener('flows:started', onStarted);
        done();
      });
      return;
    }

    /**
     * One instance with a database (the sole-orchestrator lock of wpt-cluster): while another
     * orchestrator holds the database this one is a standby — its twin refuses operator commands
     * (they belong to the instance that allocates) and follows those taken there (msg.controls,
     * every `syncMs`), so that it allocates with the operator's settings when it takes over.
     */
    function followSole(): () => void {
      const sole = clusterNode?.sole ?? null;
      const pool = pg?.pool;
      if (!sole || !pool) return () => {};
      let timer: ReturnType<typeof setInterval> | undefined;
      let told: string | null | undefined;
      let failed = false;
      const sync = () =>
        syncControls(pool)
          .then(() => {
            if (failed) node.log(RED._(`${ns}.log.sync-back`));
            failed = false;
          })
          .catch((err: Error) => {
            if (!failed) node.warn(RED._(`${ns}.errors.sync`, { message: err.message }));
            failed = true;
          });
      const follow = () => {
        if (closed || sole.state === 'starting') return;
        const standby = sole.state === 'standby';
        const reason = standby
          ? RED._(`${ns}.standby`, { holder: sole.holder ?? RED._(`${ns}.unknown-holder`) })
          : null;
        if (reason !== told) {
          told = reason;
          node.send([null, null, { topic: 'twin/read-only', readOnly: reason } as NodeMessage]);
        }
        if (standby && !timer) {
          timer = setInterval(() => void sync(), syncMs);
          void sync();
        } else if (!standby && timer) {
          clearInterval(timer);
          timer = undefined;
          void sync(); // the commands of the last moments before the takeover
          lastAudit = null;
        }
      };
      const off = sole.onChange(follow);
      void sole.settled.then(follow);
      // A redeploy may have given a new twin: told again once the flows started.
      const onStarted = () => {
        told = undefined;
        follow();
      };
      RED.events.on('flows:started', onStarted);
      return () => {
        off();
        RED.events.removeListener('flows:started', onStarted);
        if (timer) clearInterval(timer);
      };
    }

    if (!isShareGroup(group)) {
      node.status({ fill: 'red', shape: 'ring', text: RED._(`${ns}.status.bad-group`) });
      node.error(RED._(`${ns}.errors.group`, { group }));
      return;
    }
    const watched = new Set<string>();
    const status = () =>
      node.status({
        fill: 'green',
        shape: 'dot',
        text: RED._(`${ns}.status.cluster`, { hubs: watched.size }),
      });
    const sessionsOf = async (hubIds: string[]): Promise<SessionRecord[]> => {
      if (!pg?.pool || !hubIds.length) return [];
      try {
        await pg.ready;
        return sessionRecordsOf(await loadOpenSessionsOfHubs(pg.pool, hubIds));
      } catch (err) {
        // The sessions start again from the next sample; the DLM does not wait for them.
        node.warn(RED._(`${ns}.errors.sessions`, { message: (err as Error).message }));
        return [];
      }
    };
    const acquire = async (hubIds: string[]) => {
      const fresh = hubIds.filter((h) => !watched.has(h));
      if (!fresh.length || closed) return;
      const sessions = await sessionsOf(fresh);
      if (closed) return;
      for (const h of fresh) watched.add(h);
      // The twin watches them before their telemetry can arrive (it comes after the subscribe).
      toTwin({
        watch: fresh.map((hubId) => ({ hubId, sessions: sessions.filter((s) => s.hubId === hubId) })),
      });
      toMqtt(actions('subscribe', fresh.flatMap(hubSubscriptions)));
    };
    const release = (hubIds: string[]) => {
      const gone = hubIds.filter((h) => watched.delete(h));
      if (!gone.length) return;
      toMqtt(actions('unsubscribe', gone.flatMap(hubSubscriptions)));
      toTwin({ unwatch: gone });
    };
    // After each lease cycle the hubs watched follow the hubs owned with an open fence (as the
    // allocator's): a hub whose fence closed (leases not renewed) is let go at once. Cycles are
    // handled one after the other (an acquisition waits for its sessions), once the flows
    // started: the twin must hear ownedOnly first.
    let begun = false;
    let chain: Promise<void> = Promise.resolve();
    const reconcile = () => {
      chain = chain
        .then(async () => {
          const owned = new Set(cluster.ownedHubs());
          release([...watched].filter((h) => !owned.has(h)));
          await acquire([...owned]);
          status();
        })
        .catch((err: Error) => node.error(err));
    };
    const offCycle = clusterNode!.onCycle(() => {
      if (begun) reconcile();
    });
    const onStarted = () => {
      if (closed) return;
      toVehicles(actions('subscribe', vehicleSubscriptions(group)));
      if (!begun) {
        begun = true;
        // MQTT 5 on the flow's broker connection (cluster mode needs an MQTT 5 broker anyway):
        // Node-RED's mqtt-broker hands every message to the handler of every subscription, one
        // per owned hub here; with MQTT 5 subscription identifiers each handler passes over a
        // message of another subscription by an integer instead of matching its topic. The
        // session then ends with the connection (no session expiry): no per-hub subscription
        // of a stopped instance stays on the broker.
        if (mqtt5)
          toMqtt({
            action: 'connect',
            broker: { protocolVersion: 5, force: true },
          } as unknown as NodeMessage);
        toTwin({ ownedOnly: true });
        reconcile();
      } else if (watched.size) {
        // A redeploy may have given a new `mqtt in`: the hubs watched are subscribed again.
        toMqtt(actions('subscribe', [...watched].flatMap(hubSubscriptions)));
      }
      status();
    };
    RED.events.on('flows:started', onStarted);

    let remoteSince: Date | null = null;
    let vehiclesSince: Date | null = null;
    let syncing = false;
    let syncFailed = false;
    const sync = async () => {
      if (syncing || closed || !pg?.pool || !begun) return;
      syncing = true;
      try {
        await syncControls(pg.pool);
        if (syncFailed) node.log(RED._(`${ns}.log.sync-back`));
        syncFailed = false;
        // What other instances hear, as they store it: the node telemetry of the hubs they own,
        // and vehicles (each read overlaps the last by REMOTE_OVERLAP_MS: a row committed late
        // is not missed; the twin takes only what is newer than it has).
        const back = (d: Date | null) => d && new Date(d.getTime() - REMOTE_OVERLAP_MS);
        const [t, v] = await Promise.all([
          nodeTelemetryAfter(pg.pool, back(remoteSince), [...watched]),
          vehiclesAfter(pg.pool, back(vehiclesSince)),
        ]);
        remoteSince = t.until;
        vehiclesSince = v.until;
        if (!closed && (t.rows.length || v.rows.length))
          node.send([
            null,
            null,
            { topic: 'twin/remote', remote: remoteStateOf(t.rows, v.rows) } as NodeMessage,
          ]);
      } catch (err) {
        if (!syncFailed) node.warn(RED._(`${ns}.errors.sync`, { message: (err as Error).message }));
        syncFailed = true;
      } finally {
        syncing = false;
      }
    };
    const syncTimer = pg?.pool ? setInterval(() => void sync(), syncMs) : null;

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      offCycle();
      if (syncTimer) clearInterval(syncTimer);
      RED.events.removeListener('flows:started', onStarted);
      done();
    });
  }
  RED.nodes.registerType(ns, WptSubscriptionsNode);
};
