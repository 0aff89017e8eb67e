// The lease statements of cluster mode (core/cluster LeaseStore) on PostgreSQL, migration
// 004. Each is one statement that reads the server's clock (now()) and decides in the same
// statement, so the row lock of the hub's lease serialises competitors: an acquisition takes
// a lease only when `expires_at < now()` as seen after any concurrent renewal committed, and
// a renewal extends it only while owner and epoch are still the caller's. Two instances can
// never both hold a hub. Local clocks are never compared with the server's.
import type { ClusterTiming, HubLease, LeaseStore } from '../../core/cluster';
import type { Queryable } from './values';

const MS = `* interval '1 millisecond'`;

/** The sorted, distinct hub ids (one lock order for every caller; ON CONFLICT touches a row once). */
function distinctSorted(hubIds: Iterable<string>): string[] {
  return [...new Set(hubIds)].sort();
}

function leasesOf(rows: readonly { hub_id: string; epoch: string | number }[]): HubLease[] {
  return rows.map((r) => ({ hubId: r.hub_id, epoch: Number(r.epoch) }));
}

/** Leases of distinct hubs, sorted by hub id (a lease listed twice counts once). */
function distinctLeases(leases: readonly HubLease[]): { hubs: string[]; epochs: number[] } {
  const byHub = new Map<string, number>();
  for (const l of leases) byHub.set(l.hubId, l.epoch);
  const hubs = [...byHub.keys()].sort();
  return { hubs, epochs: hubs.map((h) => byHub.get(h) as number) };
}

export function pgLeaseStore(db: Queryable, timing: ClusterTiming): LeaseStore {
  const lease = timing.leaseMs;
  return {
    async join(instanceId) {
      const r = await db.query<{ epoch: string }>(
        `INSERT INTO cluster_instances AS i (instance_id, epoch, expires_at)
         VALUES ($1, 1, now() + $2::int ${MS})
         ON CONFLICT (instance_id) DO UPDATE
           SET epoch = i.epoch + 1, expires_at = EXCLUDED.expires_at, joined_at = now()
         RETURNING epoch`,
        [instanceId, lease],
      );
      return Number(r.rows[0]?.epoch);
    },

    async heartbeat(instanceId, epoch) {
      const r = await db.query(
        `UPDATE cluster_instances SET expires_at = now() + $3::int ${MS}
          WHERE instance_id = $1 AND epoch = $2::bigint`,
        [instanceId, epoch, lease],
      );
      return r.rowCount === 1;
    },

    async leave(instanceId, epoch) {
      await db.query(
        `UPDATE cluster_instances SET expires_at = '-infinity'
          WHERE instance_id = $1 AND epoch = $2::bigint`,
        [instanceId, epoch],
      );
    },

    async liveInstances() {
      const r = await db.query<{ instance_id: string }>(
        'SELECT instance_id FROM cluster_instances WHERE expires_at > now() ORDER BY instance_id',
      );
      return r.rows.map((x) => x.instance_id);
    },

    async acquire(instanceId, hubIds) {
      const hubs = distinctSorted(hubIds);
      if (!hubs.length) return [];
      const r = await db.query<{ hub_id: string; epoch: string }>(
        `INSERT INTO hub_leases AS l (hub_id, owner, epoch, expires_at)
         SELECT h, $1, 1, now() + $3::int ${MS} FROM unnest($2::text[]) AS h ORDER BY h
         ON CONFLICT (hub_id) DO UPDATE
           SET owner = EXCLUDED.owner, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at,
               acquired_at = now()
           WHERE l.expires_at < now()
         RETURNING hub_id, epoch`,
        [instanceId, hubs, lease],
      );
      return leasesOf(r.rows);
    },

    async renew(instanceId, leases) {
      const { hubs, epochs } = distinctLeases(leases);
      if (!hubs.length) return [];
      const r = await db.query<{ hub_id: string; epoch: string }>(
        `UPDATE hub_leases AS l SET expires_at = now() + $4::int ${MS}
           FROM unnest($2::text[], $3::bigint[]) AS x(hub_id, epoch)
          WHERE l.hub_id = x.hub_id AND l.epoch = x.epoch AND l.owner = $1
         RETURNING l.hub_id, l.epoch`,
        [instanceId, hubs, epochs, lease],
      );
      return leasesOf(r.rows);
    },

    async release(instanceId, leases) {
      const { hubs, epochs } = distinctLeases(leases);
      if (!hubs.length) return;
      await db.query(
        `UPDATE hub_leases AS l SET expires_at = least(l.expires_at, now() + $4::int ${MS})
           FROM unnest($2::text[], $3::bigint[]) AS x(hub_id, epoch)
          WHERE l.hub_id = x.hub_id AND l.epoch = x.epoch AND l.owner = $1`,
        [instanceId, hubs, epochs, timing.publishLatencyMs],
      );
    },
  };
}

export interface HubLeaseRow {
  hubId: string;
  owner: string;
  epoch: number;
  /** True while the lease has not expired by the server's clock. */
  live: boolean;
}

/** Every hub lease, by hub id (for status pages and tests). */
export async function listHubLeases(db: Queryable): Promise<HubLeaseRow[]> {
  const r = await db.query<{ hub_id: string; owner: string; epoch: string; live: boolean }>(
    'SELECT hub_id, owner, epoch, expires_at > now() AS live FROM hub_leases ORDER BY hub_id',
  );
  return r.rows.map((x) => ({ hubId: x.hub_id, owner: x.owner, epoch: Number(x.epoch), live: x.live }));
}

/**
 * The limits in force before a takeover, for the hubs just acquired: the latest orchestrator
 * DLM event of each of their nodes (as loadState's lastLimits for a whole restart).
 */
export async function lastLimitsOfHubs(
  db: Queryable,
  hubIds: readonly string[],
): Promise<Array<{ hub_id: string; node_id: string; new_limit: number }>> {
  if (!hubIds.length) return [];
  const r = await db.query<{ hub_id: string; node_id: string; new_limit: number }>(
    `SELECT DISTINCT ON (hub_id, node_id) hub_id, node_id, new_limit FROM dlm_events
      WHERE source = 'orchestrator' AND hub_id = ANY($1::text[])
      ORDER BY hub_id, node_id, ts DESC, id DESC`,
    [[...hubIds]],
  );
  return r.rows.map((x) => ({ hub_id: x.hub_id, node_id: x.node_id, new_limit: Number(x.new_limit) }));
}
