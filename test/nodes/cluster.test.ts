// wpt-cluster on the real PostgreSQL: in cluster mode the instance holds the database's
// sole-orchestrator lock shared, so a single instance (WPT_CLUSTER forgotten) on the same
// database is refused and told which cluster instance holds it; and a cluster instance does not
// join while a single instance holds the database, then joins once it is gone.
import assert from 'node:assert/strict';
import { nr } from '../helpers/node-red';
import { createTestDatabase } from '../helpers/services';
import { until } from '../helpers/wait';
import { pgSoleLock } from '../../adapters/postgres';
import type { SoleLockPort } from '../../core/cluster';
import type { ClusterConfigNode } from '../../nodes/lib/config-nodes';

const postgresNode = require('../../nodes/wpt-postgres/wpt-postgres');
const fleetNode = require('../../nodes/wpt-fleet/wpt-fleet');
const clusterNode = require('../../nodes/wpt-cluster/wpt-cluster');

describe('node: wpt-cluster and the sole-orchestrator lock (PostgreSQL)', function () {
  this.timeout(30000);
  let db: string;
  const locks: SoleLockPort[] = [];
  const single = (): SoleLockPort => {
    const l = pgSoleLock({ connection: { connectionString: db }, name: 'wpt-dlm single-host pid 7' });
    locks.push(l);
    return l;
  };
  const flow = (instanceId: string): unknown[] => [
    { id: 'p', type: 'wpt-postgres', url: db },
    { id: 'f', type: 'wpt-fleet', postgres: 'p' },
    {
      id: 'c',
      type: 'wpt-cluster',
      enabled: '1',
      instanceId,
      fleet: 'f',
      postgres: 'p',
      renewMs: 200,
      leaseMs: 1500,
      marginMs: 500,
      publishLatencyMs: 200,
    },
  ];
  const member = () => (nr.getNode('c') as unknown as ClusterConfigNode).member;

  before(async () => {
    db = await createTestDatabase('wpt_cluster_node');
    await nr.startServer();
  });
  after(() => nr.stopServer());
  afterEach(async () => {
    await nr.unload();
    await Promise.all(locks.splice(0).map((l) => l.release()));
  });

  it('holds the database shared once joined: a single instance is refused and told who holds it', async () => {
    await nr.load([postgresNode, fleetNode, clusterNode], flow('node-test-a'));
    await until(() => member()?.state === 'joined', 10000, 'joined', { detail: () => member()?.state });
    const r = await single().tryAcquire();
    assert.equal(r.kind, 'other');
    assert.match((r as { holder: string }).holder, /^wpt-dlm cluster node-test-a \S+ pid \d+ from /);
  });

  it('does not join while a single instance holds the database, and joins once it is gone', async () => {
    const holder = single();
    assert.equal((await holder.tryAcquire()).kind, 'held');
    await nr.load([postgresNode, fleetNode, clusterNode], flow('node-test-b'));
    const warned: string[] = [];
    nr.getNode('c').on('call:warn', (c) => warned.push(String(c.args[0])));
    await until(() => warned.some((w) => /single-holds/.test(w)), 10000, 'the warning', {
      detail: () => warned,
    });
    await new Promise((r) => setTimeout(r, 1000));
    assert.notEqual(member()?.state, 'joined', 'not joined beside a single instance');
    await holder.release();
    await until(() => member()?.state === 'joined', 10000, 'joined after the single instance left', {
      detail: () => member()?.state,
    });
  });
});
