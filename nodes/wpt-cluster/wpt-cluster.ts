// wpt-cluster: config node for cluster mode (issue #14, docs/scaling.md). Off unless its
// `enabled` property is 1 (the shipped flows: `${WPT_CLUSTER}`): then it costs nothing and
// `mayPublish` is always true. On: it joins the cluster under `instanceId` and runs the lease
// cycle of core/cluster (ClusterLoop) over PostgreSQL (pgLeaseStore, on a small pool of its
// own, so a redeploy that ends wpt-postgres's pool does not stop its release) with the fleet's
// hubs (the twin of wpt-fleet, read at each cycle). Nodes that publish for a hub ask
// `mayPublish(hubId)` (the fence) right before each publish batch and put `epochOf(hubId)` on
// their events; `onCycle` tells them which hubs were acquired, lost or released. On close it
// stops gracefully: fences closed at once, leases released, membership ended.
//
// Off, with a database linked: the single instance holds the sole-orchestrator lock of that
// database (core/cluster/sole.ts, adapters/postgres/sole-lock.ts) and `sole` tells the DLM
// allocator whether it may allocate; a second single instance on the same database stands by
// and takes over when the first is gone. The lock is tried every `renewMs`. Cluster instances
// hold the same lock shared: none joins while a single instance holds the database, and a
// single instance started on a cluster's database stands by.
import os from 'node:os';
import { Pool } from 'pg';
import type { NodeAPI, Props } from '../lib/node-red';
import type { ClusterConfigNode, FleetNode, PostgresNode } from '../lib/config-nodes';
import { configNode, fromEnvRef, num, registerNode } from '../lib/node-red';
import {
  ClusterLoop,
  ClusterMember,
  ClusterNode,
  checkClusterTiming,
  clusterModeFromEnv,
  SoleOrchestrator,
  type CycleResult,
  type SoleChange,
} from '../../core/cluster';
import { lastLimitsOfHubs, pgLeaseStore, pgSoleLock } from '../../adapters/postgres';
import type { RestoredLimit } from '../../core/dlm';

const ns = 'wpt-cluster';
const now = (): number => performance.now();

/**
 * How long PostgreSQL keeps the lock of a holder that went silent (its host died without closing
 * the connection): 5 checks missed, at least 10 s.
 */
const idleTimeoutFor = (checkMs: number): number => Math.max(10_000, 5 * checkMs);

/** The limits in force stored for some hubs (latest orchestrator DLM event per node), for a takeover. */
const storedLimitsIn =
  (pool: Pool) =>
  async (hubIds: readonly string[]): Promise<RestoredLimit[]> =>
    (await lastLimitsOfHubs(pool, hubIds)).map((l) => ({
      hubId: l.hub_id,
      nodeId: l.node_id,
      limitKw: l.new_limit,
    }));

export = function register(RED: NodeAPI): void {
  function WptClusterNode(this: ClusterConfigNode, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const text = (v: unknown): string => fromEnvRef(typeof v === 'string' ? v : String(v ?? '')) ?? '';
    const mode = clusterModeFromEnv({
      WPT_CLUSTER: text(def.enabled),
      WPT_INSTANCE_ID: text(def.instanceId),
    });
    const listeners = new Set<(r: CycleResult) => void>();
    node.enabled = false;
    node.instanceId = '';
    node.configError = null;
    node.member = null;
    node.mayPublish = () => true;
    node.epochOf = () => undefined;
    node.ownedHubs = () => [];
    node.storedLimits = () => Promise.resolve([]);
    node.sole = null;
    node.onCycle = (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    };
    /** Cluster mode off: the sole-orchestrator lock of the linked database, if any. */
    const guardSole = (): void => {
      const pg = configNode<PostgresNode>(RED, def.postgres);
      const pool = pg?.pool;
      if (!pg || !pool) return;
      const changed = new Set<() => void>();
      const name = `wpt-dlm ${os.hostname()} pid ${process.pid}`;
      const onChange = (c: SoleChange): void => {
        if (c.to === 'standby')
          node.warn(RED._(`${ns}.log.standby`, { holder: c.holder ?? RED._(`${ns}.log.unknown-holder`) }));
        else if (c.to === 'sole' && c.from !== 'starting') node.log(RED._(`${ns}.log.sole`));
        else if (c.to === 'unsure') node.warn(RED._(`${ns}.log.unsure`, { message: c.error ?? '' }));
        for (const fn of changed) fn();
      };
      const retryMs = Math.max(500, num(text(def.renewMs), 2000));
      const guard = new SoleOrchestrator(
        pgSoleLock({ connection: pool.options, name, idleTimeoutMs: idleTimeoutFor(retryMs) }),
        onChange,
      );
      let closed = false;
      let timer: ReturnType<typeof setInterval> | undefined;
      // After the migrations (or their failure): the first round settles the state.
      const settled = pg.ready
        .catch(() => {})
        .then(() => (closed ? undefined : guard.cycle()))
        .then(() => {
          if (!closed) timer = setInterval(() => void guard.cycle(), retryMs);
        });
      node.storedLimits = storedLimitsIn(pool);
      node.sole = {
        get state() {
          return guard.state;
        },
        get holder() {
          return guard.holder;
        },
        mayAllocate: () => guard.mayAllocate(),
        settled,
        onChange: (fn) => {
          changed.add(fn);
          return () => changed.delete(fn);
        },
      };
      node.on('close', (_removed: boolean, done: () => void) => {
        closed = true;
        if (timer) clearInterval(timer);
        void guard
          .release()
          .catch(() => {})
          .then(() => done());
      });
    };
    const fail = (message: string): void => {
      node.configError = message;
      node.error(RED._(`${ns}.errors.config`, { message }));
      // Cluster mode asked for but not possible: publish nothing rather than act as sole owner.
      node.enabled = true;
      node.mayPublish = () => false;
    };
    if (!mode.ok) return fail(mode.errors.join('; '));
    if (!mode.value.enabled) return guardSole();

    const timing = checkClusterTiming({
      renewMs: num(text(def.renewMs), 2000),
      leaseMs: num(text(def.leaseMs), 10000),
      marginMs: num(text(def.marginMs), 2000),
      publishLatencyMs: num(text(def.publishLatencyMs), 1000),
    });
    if (!timing.ok) return fail(timing.errors.join('; '));
    const fleet = configNode<FleetNode>(RED, def.fleet);
    const pg = configNode<PostgresNode>(RED, def.postgres);
    if (!fleet || !pg?.pool) return fail(RED._(`${ns}.errors.needs`));

    const instanceId = mode.value.instanceId;
    const member = new ClusterMember(instanceId, timing.value);
    node.enabled = true;
    node.instanceId = instanceId;
    node.member = member;
    node.mayPublish = (hubId) => member.mayPublish(hubId, now());
    node.epochOf = (hubId) => member.epochOf(hubId);
    node.ownedHubs = () => {
      const t = now();
      return member.heldHubs().filter((h) => member.mayPublish(h, t));
    };

    const pool = new Pool({ ...pg.pool.options, max: 2, application_name: `wpt-dlm-cluster-${instanceId}` });
    pool.on('error', () => {}); // an idle client's error: the next statement fails and says so
    node.storedLimits = storedLimitsIn(pool);
    const loop = new ClusterLoop(new ClusterNode(member, pgLeaseStore(pool, timing.value), now), {
      renewMs: timing.value.renewMs,
      jitter: 0.1,
      hubs: () => [...fleet.twin.hubs()].map((h) => h.hubId),
      onCycle: (r) => {
        if (r.error) node.warn(RED._(`${ns}.log.cycle-error`, { message: r.error.message }));
        if (r.started.length || r.lost.length || r.released.length)
          node.log(
            RED._(`${ns}.log.changed`, {
              owned: member.heldHubs().length,
              started: r.started.length,
              lost: r.lost.length,
              released: r.released.length,
            }),
          );
        if (member.state === 'superseded') node.error(RED._(`${ns}.errors.superseded`, { id: instanceId }));
        for (const fn of listeners) {
          try {
            fn(r);
          } catch (err) {
            node.error(err);
          }
        }
      },
    });
    let closed = false;
    // Graceful stop (once): fences close now, then the leases are released for the next owner.
    let stopping: Promise<void> | undefined;
    const stopLoop = (): Promise<void> =>
      (stopping ??= loop.stop().then((released) => {
        for (const fn of listeners) {
          try {
            fn({ lost: [], released, started: [] });
          } catch {
            /* stopping */
          }
        }
      }));

    // The database's sole-orchestrator lock, held shared with the other cluster instances: no
    // joining while a single instance (not in cluster mode) holds it, and no staying once one
    // took it (possible only after this instance's lock connection was lost).
    const gate = new SoleOrchestrator(
      pgSoleLock({
        connection: pg.pool.options,
        name: `wpt-dlm cluster ${instanceId} ${os.hostname()} pid ${process.pid}`,
        shared: true,
        idleTimeoutMs: idleTimeoutFor(timing.value.renewMs),
      }),
      (c) => {
        if (c.to === 'standby')
          node.warn(
            RED._(`${ns}.log.single-holds`, { holder: c.holder ?? RED._(`${ns}.log.unknown-holder`) }),
          );
      },
    );
    let gateTimer: ReturnType<typeof setInterval> | undefined;
    const watchGate = (): void => {
      gateTimer = setInterval(() => {
        void gate.cycle().then(() => {
          if (closed || gate.state !== 'standby' || stopping) return;
          node.error(RED._(`${ns}.errors.single-took`, { id: instanceId }));
          void stopLoop();
        });
      }, timing.value.renewMs);
    };
    const started = Promise.all([pg.ready, fleet.ready])
      .then(async () => {
        for (;;) {
          if (closed) return;
          await gate.cycle();
          if (gate.state !== 'standby') break;
          await new Promise((r) => setTimeout(r, timing.value.renewMs));
        }
        if (closed) return;
        node.log(RED._(`${ns}.log.joining`, { id: instanceId }));
        await loop.start();
        if (!closed) watchGate();
      })
      .catch((err: Error) => node.error(RED._(`${ns}.errors.start`, { message: err.message })));

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      if (gateTimer) clearInterval(gateTimer);
      const stopped = stopLoop();
      void Promise.race([started, new Promise((r) => setTimeout(r, 3000))])
        .then(() => stopped)
        .catch(() => {})
        .then(() => gate.release().catch(() => {}))
        .then(() => pool.end().catch(() => {}))
        .then(() => done());
    });
  }
  registerNode(RED, ns, WptClusterNode);
};
