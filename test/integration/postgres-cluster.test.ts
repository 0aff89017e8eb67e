// Cluster leases on the real PostgreSQL (migration 004, adapters/postgres/leases.ts) driven by
// the real cycle of core/cluster: concurrent acquisitions from separate connections never give
// a hub to two instances; three instances settle on the rendezvous assignment; one that stops
// renewing (killed) is taken over only after its fences closed; a graceful stop hands over;
// a second process with a running instance's id supersedes it.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { createTestDatabase } from '../helpers/services';
import { until } from '../helpers/wait';
import { createPool, listHubLeases, migrate, pgLeaseStore } from '../../adapters/postgres';
import {
  checkClusterTiming,
  ClusterLoop,
  ClusterMember,
  ClusterNode,
  ownerOf,
  type ClusterTiming,
  type HubLease,
  type LeaseStore,
} from '../../core/cluster';
import { mulberry32 } from '../../sim/prng';

const TIMING: ClusterTiming = { renewMs: 200, leaseMs: 1500, marginMs: 500, publishLatencyMs: 200 };
const tag = `${process.pid}`;
const HUBS = Array.from({ length: 60 }, (_, i) => `cl-${tag}-hub-${i}`);
const now = (): number => performance.now();

/** Deterministic shuffle (the simulator's seeded generator). */
function shuffle<T>(xs: T[], seed: number): T[] {
  const rng = mulberry32(seed);
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

interface Running {
  id: string;
  node: ClusterNode;
  member: ClusterMember;
  pool: pg.Pool;
  /** Local instant at which each hub was started (acquire answered), with its epoch. */
  started: { hubId: string; epoch: number; at: number }[];
  errors: Error[];
  loop: ClusterLoop;
}

describe('postgres cluster leases (integration)', function () {
  this.timeout(120000);
  let url: string;
  const pools: pg.Pool[] = [];
  const pool = (): pg.Pool => {
    const p = createPool({ connectionString: url, max: 3 });
    pools.push(p);
    return p;
  };

  before(async () => {
    assert.ok(checkClusterTiming(TIMING).ok);
    url = await createTestDatabase('wpt_cluster');
    await migrate(pool());
  });
  beforeEach(() => pools[0]!.query('TRUNCATE cluster_instances, hub_leases'));
  after(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  /** Starts an instance: join, then a cycle every renewMs from each cycle's start (no overlap). */
  /** Starts an instance: the real ClusterLoop (system timers) over PostgreSQL. */
  async function start(id: string): Promise<Running> {
    const p = pool();
    const member = new ClusterMember(id, TIMING);
    const node = new ClusterNode(member, pgLeaseStore(p, TIMING), now);
    const r = { id, node, member, pool: p, started: [], errors: [] } as unknown as Running;
    r.loop = new ClusterLoop(node, {
      renewMs: TIMING.renewMs,
      hubs: () => HUBS,
      onCycle: (res) => {
        const at = now();
        for (const s of res.started) r.started.push({ ...s, at });
        if (res.error) r.errors.push(res.error);
      },
    });
    await r.loop.start();
    return r;
  }

  /** Polls every 10 ms: fails if two instances may publish for one hub at the same instant. */
  function watchFences(members: () => ClusterMember[]): { stop: () => string[] } {
    const problems: string[] = [];
    const timer = setInterval(() => {
      const t = now();
      for (const h of HUBS) {
        const who = members().filter((m) => m.mayPublish(h, t));
        if (who.length > 1) problems.push(`${h}: ${who.map((m) => m.instanceId).join(' and ')}`);
      }
    }, 10);
    return {
      stop: () => {
        clearInterval(timer);
        return problems;
      },
    };
  }

  async function settled(rs: Running[]): Promise<void> {
    const ids = rs.map((r) => r.id);
    await until(
      async () => {
        const t = now();
        const leases = await listHubLeases(pools[0]!);
        const byHub = new Map(leases.map((l) => [l.hubId, l]));
        return HUBS.every((h) => {
          const want = ownerOf(h, ids);
          const l = byHub.get(h);
          const r = rs.find((x) => x.id === want);
          return (
            l !== undefined &&
            l.owner === want &&
            l.live &&
            r !== undefined &&
            r.member.mayPublish(h, t) &&
            rs.every((x) => x === r || !x.member.mayPublish(h, t))
          );
        });
      },
      30000,
      `hubs settled on ${ids.join(', ')}`,
      { every: 50 },
    );
  }

  it('migration 004: a bad instance id is refused by the table itself', async () => {
    await assert.rejects(
      pools[0]!.query(
        `INSERT INTO cluster_instances (instance_id, epoch, expires_at) VALUES ('a/b', 1, now())`,
      ),
      /cluster_instances_instance_id_check/,
    );
  });

  it('three instances racing for the same expired leases: each hub goes to exactly one, epochs +1 per round', async () => {
    const short: ClusterTiming = { ...TIMING, leaseMs: 300 };
    const stores: LeaseStore[] = ['a', 'b', 'c'].map(() => pgLeaseStore(pool(), short));
    const wins = new Map<string, number>();
    for (let round = 1; round <= 5; round++) {
      // Each instance asks for every hub (plus some twice) in chunks of 6, in its own shuffled
      // order, all chunks at once over its three connections: statements interleave.
      const results = await Promise.all(
        stores.map(async (s, i) => {
          const order = shuffle([...HUBS, ...HUBS.slice(0, 5)], round * 10 + i);
          const chunks = Array.from({ length: Math.ceil(order.length / 6) }, (_, k) =>
            order.slice(k * 6, k * 6 + 6),
          );
          return (await Promise.all(chunks.map((c) => s.acquire(`${'abc'[i]}-${tag}`, c)))).flat();
        }),
      );
      const got = new Map<string, HubLease & { by: string }>();
      results.forEach((leases, i) => {
        for (const l of leases) {
          assert.ok(!got.has(l.hubId), `round ${round}: ${l.hubId} acquired twice`);
          got.set(l.hubId, { ...l, by: 'abc'[i]! });
          wins.set('abc'[i]!, (wins.get('abc'[i]!) ?? 0) + 1);
        }
      });
      assert.equal(got.size, HUBS.length, `round ${round}: every hub taken`);
      for (const l of got.values()) assert.equal(l.epoch, round, `${l.hubId} epoch`);
      // Nobody gets anything while the leases run.
      const again = await Promise.all(stores.map((s, i) => s.acquire(`${'abc'[i]}-${tag}`, HUBS)));
      assert.deepEqual(again, [[], [], []], `round ${round}: taken while leased`);
      await until(
        async () => (await listHubLeases(pools[0]!)).every((l) => !l.live),
        10000,
        'leases expired',
      );
    }
    console.log(`      (hubs won over 5 rounds: ${JSON.stringify(Object.fromEntries(wins))})`);
    assert.ok(wins.size > 1, 'the statements did not interleave: one instance took everything');
  });

  it("renew and release act only on the caller's epoch; a released lease is free publishLatencyMs later", async () => {
    // A long lease and publish latency here, so "not yet" cannot be an accident of a slow machine.
    const slow: ClusterTiming = { ...TIMING, leaseMs: 60000, publishLatencyMs: 1500 };
    const a = pgLeaseStore(pool(), slow);
    const b = pgLeaseStore(pool(), slow);
    const [l] = await a.acquire('a', [HUBS[0]!]);
    assert.deepEqual(l, { hubId: HUBS[0], epoch: 1 });
    assert.deepEqual(await b.renew('b', [l!]), [], 'not the owner');
    assert.deepEqual(await a.renew('a', [{ hubId: HUBS[0]!, epoch: 2 }]), [], 'not this epoch');
    assert.deepEqual(await a.renew('a', [l!, l!]), [l]);
    await b.release('b', [l!]);
    assert.deepEqual(await b.acquire('b', [HUBS[0]!]), [], 'a release by another instance does nothing');
    const releasedAt = now();
    await a.release('a', [l!]);
    assert.deepEqual(await b.acquire('b', [HUBS[0]!]), [], 'not before publishLatencyMs');
    await until(async () => (await b.acquire('b', [HUBS[0]!])).length === 1, 10000, 'released lease taken');
    assert.ok(now() - releasedAt >= slow.publishLatencyMs, 'taken before publishLatencyMs passed');
    assert.deepEqual(await listHubLeases(pools[0]!).then((r) => r.map((x) => [x.owner, x.epoch])), [
      ['b', 2],
    ]);
    assert.deepEqual(await a.renew('a', [l!]), [], 'the old owner cannot renew it back');
  });

  it('three instances share the hubs, a killed one is taken over after its fences closed, a stopped one hands over', async () => {
    const [a, b, c] = [await start(`a-${tag}`), await start(`b-${tag}`), await start(`c-${tag}`)];
    const all = [a!, b!, c!];
    const watch = watchFences(() => all.map((r) => r.member));
    await settled(all);
    const epochsBefore = new Map((await listHubLeases(pools[0]!)).map((l) => [l.hubId, l]));

    // Kill b: it stops renewing (no release, no leave), as a crashed process would.
    await b!.loop.halt();
    const killedAt = now();
    const bHubs = HUBS.filter((h) => epochsBefore.get(h)?.owner === b!.id);
    assert.ok(bHubs.length > 0);
    const fences = new Map(bHubs.map((h) => [h, b!.member.fenceOf(h)!]));
    await settled([a!, c!]);
    for (const h of bHubs) {
      const s = [...a!.started, ...c!.started].find((x) => x.hubId === h && x.at > killedAt);
      assert.ok(s, `${h} taken over`);
      assert.equal(s.epoch, epochsBefore.get(h)!.epoch + 1, `${h}: epoch +1`);
      // The takeover answered only after b's fence closed plus the publish latency.
      assert.ok(
        s.at >= fences.get(h)! + TIMING.publishLatencyMs,
        `${h}: started ${s.at - fences.get(h)!} ms after b's fence`,
      );
      assert.equal(b!.member.mayPublish(h, now()), false);
    }
    const takeover =
      Math.max(
        ...bHubs.map((h) => [...a!.started, ...c!.started].find((x) => x.hubId === h && x.at > killedAt)!.at),
      ) - killedAt;
    console.log(
      `      (killed instance's ${bHubs.length} hubs all taken over ${Math.round(takeover)} ms after the kill; lease ${TIMING.leaseMs} ms, renew ${TIMING.renewMs} ms)`,
    );

    // Graceful stop of c: its hubs go to a without waiting for the lease to expire.
    const cHubs = HUBS.filter((h) => ownerOf(h, [a!.id, c!.id]) === c!.id);
    const stoppedAt = now();
    const released = await c!.loop.stop();
    assert.deepEqual(released.map((l) => l.hubId).sort(), [...cHubs].sort());
    await settled([a!]);
    const handover =
      Math.max(...cHubs.map((h) => a!.started.find((x) => x.hubId === h && x.at > stoppedAt)!.at)) -
      stoppedAt;
    console.log(`      (stopped instance's ${cHubs.length} hubs handed over in ${Math.round(handover)} ms)`);
    assert.deepEqual(await pgLeaseStore(pools[0]!, TIMING).liveInstances(), [a!.id]);

    await a!.loop.stop();
    assert.deepEqual(watch.stop(), [], 'two instances allowed to publish for one hub');
    assert.deepEqual([...a!.errors, ...c!.errors].map(String), []);
  });

  it("a second process with a running instance's id supersedes it: the first stops publishing at its next heartbeat", async () => {
    const first = await start(`dup-${tag}`);
    await settled([first]);
    const second = await start(`dup-${tag}`);
    await until(() => first.member.state === 'superseded', 10000, 'first process superseded');
    assert.deepEqual(first.member.heldHubs(), []);
    assert.equal(
      HUBS.some((h) => first.member.mayPublish(h, now())),
      false,
    );
    assert.equal(second.member.instanceEpoch, first.member.instanceEpoch! + 1);
    await settled([second]);
    await first.loop.halt();
    await second.loop.stop();
  });
});
