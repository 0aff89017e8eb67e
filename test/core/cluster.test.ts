import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  assignHubs,
  checkClusterTiming,
  ClusterLoop,
  ClusterMember,
  ClusterNode,
  clusterModeFromEnv,
  DEFAULT_CLUSTER_TIMING,
  ownerOf,
  planHandover,
  rendezvousScore,
  type ClusterTiming,
  type LeaseStore,
} from '../../core/cluster';
import { LeaseTables } from './cluster-sim';

const T: ClusterTiming = { renewMs: 200, leaseMs: 1000, marginMs: 200, publishLatencyMs: 100 };
const ids = (n: number, prefix = 'i') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('core/cluster timing and mode', () => {
  it('the defaults are valid and give the fence window they document', () => {
    const c = checkClusterTiming();
    assert.ok(c.ok);
    assert.deepEqual(c.value, DEFAULT_CLUSTER_TIMING);
    assert.ok(checkClusterTiming(T).ok);
  });

  it('refuses a margin that does not cover the publish latency and the clock drift, with the arithmetic', () => {
    const c = checkClusterTiming({ leaseMs: 10000, marginMs: 1005, publishLatencyMs: 1000 });
    assert.equal(c.ok, false);
    assert.deepEqual(!c.ok && c.errors, [
      'marginMs: must be at least publishLatencyMs + clock drift over a lease = 1000 + 10 = 1010 ms (got 1005), or a publish checked before the fence could reach the broker after another instance took the lease',
    ]);
    assert.ok(checkClusterTiming({ leaseMs: 10000, marginMs: 1010, publishLatencyMs: 1000 }).ok);
  });

  it('refuses a lease a healthy owner could lose after one missed renewal', () => {
    const c = checkClusterTiming({ renewMs: 3000, leaseMs: 7999, marginMs: 2000 });
    assert.equal(c.ok, false);
    assert.match(
      (!c.ok && c.errors[0]) || '',
      /^leaseMs: must be at least 2 × renewMs \+ marginMs = 8000 ms \(got 7999\)/,
    );
    assert.ok(checkClusterTiming({ renewMs: 3000, leaseMs: 8000, marginMs: 2000 }).ok);
  });

  it('names every field that is not an integer in range', () => {
    const c = checkClusterTiming({ renewMs: 0, leaseMs: 1.5, marginMs: Number.NaN, publishLatencyMs: -1 });
    assert.equal(c.ok, false);
    assert.deepEqual(!c.ok && c.errors.map((e) => e.split(':')[0]), [
      'renewMs',
      'leaseMs',
      'marginMs',
      'publishLatencyMs',
    ]);
    assert.match((!c.ok && c.errors[0]) || '', /in \[100, 60000\] \(got 0\)/);
  });

  it('WPT_CLUSTER: off by default, on with a valid instance id, clear errors otherwise', () => {
    assert.deepEqual(clusterModeFromEnv({}), { ok: true, value: { enabled: false } });
    assert.deepEqual(clusterModeFromEnv({ WPT_CLUSTER: '0', WPT_INSTANCE_ID: 'x' }), {
      ok: true,
      value: { enabled: false },
    });
    assert.deepEqual(clusterModeFromEnv({ WPT_CLUSTER: '1', WPT_INSTANCE_ID: ' orch-a.1 ' }), {
      ok: true,
      value: { enabled: true, instanceId: 'orch-a.1' },
    });
    const bad = [
      [{ WPT_CLUSTER: 'yes' }, /^WPT_CLUSTER: must be 1/],
      [{ WPT_CLUSTER: '1' }, /^WPT_INSTANCE_ID: required with WPT_CLUSTER=1/],
      [{ WPT_CLUSTER: '1', WPT_INSTANCE_ID: 'a/b' }, /^WPT_INSTANCE_ID: 1–64 characters/],
      [{ WPT_CLUSTER: '1', WPT_INSTANCE_ID: 'x'.repeat(65) }, /^WPT_INSTANCE_ID: 1–64 characters/],
    ] as const;
    for (const [env, re] of bad) {
      const c = clusterModeFromEnv(env);
      assert.equal(c.ok, false, JSON.stringify(env));
      assert.match((!c.ok && c.errors[0]) || '', re);
    }
  });
});

describe('core/cluster rendezvous hashing', () => {
  it('is pinned: every instance of a cluster must compute the same scores', () => {
    // Changing the hash would split a cluster running two versions: these values never change.
    const pinned = [
      rendezvousScore('orch-1', 'hub-0001'),
      rendezvousScore('orch-2', 'hub-0001'),
      rendezvousScore('', ''),
    ];
    assert.deepEqual(pinned, PINNED);
    for (const s of pinned) assert.ok(Number.isSafeInteger(s) && s >= 0);
    assert.notEqual(
      rendezvousScore('ab', 'c'),
      rendezvousScore('a', 'bc'),
      'the separator keeps pairs apart',
    );
  });

  it('does not depend on the order of the live set and ignores duplicates', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 8 }),
        fc.string(),
        (inst, hub) => {
          const owner = ownerOf(hub, inst);
          assert.ok(owner !== undefined && inst.includes(owner));
          assert.equal(ownerOf(hub, [...inst].reverse()), owner);
          assert.equal(ownerOf(hub, [...inst, ...inst]), owner);
        },
      ),
    );
    assert.equal(ownerOf('h', []), undefined);
  });

  it("moves only the hubs the joining instance wins, and only the leaving instance's hubs", () => {
    const hubs = ids(5000, 'hub-');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1000 }), (n, k) => {
        const live = ids(n, `orch-${k}-`);
        const before = assignHubs(hubs, live);
        const joiner = `orch-${k}-new`;
        const after = assignHubs(hubs, [...live, joiner]);
        for (const h of hubs) {
          if (after.get(h) !== before.get(h))
            assert.equal(after.get(h), joiner, `${h} moved between old instances`);
        }
        const leaver = live[k % n] as string;
        const without = assignHubs(
          hubs,
          live.filter((i) => i !== leaver),
        );
        for (const h of hubs) {
          if (before.get(h) !== leaver)
            assert.equal(without.get(h), before.get(h), `${h} moved but its owner stayed`);
          else if (n > 1) assert.notEqual(without.get(h), leaver);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('spreads hubs evenly: each of 10 instances gets 10 % ± 1 % of 100,000 hubs', () => {
    const live = ids(10, 'orchestrator-');
    const counts = new Map<string, number>();
    for (let i = 0; i < 100000; i++) {
      const o = ownerOf(`hub-${i}`, live) as string;
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    assert.equal(counts.size, 10);
    for (const [id, c] of counts) assert.ok(c >= 9000 && c <= 11000, `${id}: ${c}`);
  });
});

describe('core/cluster member (lease book and fence)', () => {
  it('publishes only while joined and until sentAt + lease − margin of the last confirmation', () => {
    const m = new ClusterMember('a', T);
    assert.equal(m.mayPublish('h1', 0), false);
    assert.deepEqual(m.acquired(0, [{ hubId: 'h1', epoch: 1 }]), [], 'nothing before join');
    m.joined(1);
    assert.deepEqual(m.acquired(1000, [{ hubId: 'h1', epoch: 3 }]), [{ hubId: 'h1', epoch: 3 }]);
    assert.equal(m.epochOf('h1'), 3);
    assert.equal(m.mayPublish('h1', 1000), true);
    assert.equal(m.mayPublish('h1', 1799), true);
    assert.equal(m.mayPublish('h1', 1800), false, 'fence closed at 1000 + 1000 − 200');
    assert.equal(m.mayPublish('h2', 1000), false);
    // A renewal sent at 1700 whose answer arrives after the fence closed reopens it up to 2500.
    assert.deepEqual(m.renewed(1700, [{ hubId: 'h1', epoch: 3 }], [{ hubId: 'h1', epoch: 3 }]), []);
    assert.equal(m.mayPublish('h1', 2499), true);
    assert.equal(m.mayPublish('h1', 2500), false);
    // An older renewal answering late never shortens the fence.
    m.renewed(1100, [{ hubId: 'h1', epoch: 3 }], [{ hubId: 'h1', epoch: 3 }]);
    assert.equal(m.fenceOf('h1'), 2500);
  });

  it('a lease not confirmed by a renewal is lost at once; one re-acquired meanwhile is kept', () => {
    const m = new ClusterMember('a', T);
    m.joined(1);
    m.acquired(0, [
      { hubId: 'h1', epoch: 1 },
      { hubId: 'h2', epoch: 5 },
    ]);
    const req = m.heldLeases();
    assert.deepEqual(m.renewed(100, req, [{ hubId: 'h2', epoch: 5 }]), [{ hubId: 'h1', epoch: 1 }]);
    assert.equal(m.mayPublish('h1', 100), false);
    assert.equal(m.epochOf('h1'), undefined);
    assert.equal(m.mayPublish('h2', 100), true);
    m.acquired(200, [{ hubId: 'h1', epoch: 2 }]);
    assert.deepEqual(m.renewed(300, [{ hubId: 'h1', epoch: 1 }], []), [], 'epoch 1 is no longer held');
    assert.equal(m.epochOf('h1'), 2);
    assert.deepEqual(m.acquired(300, [{ hubId: 'h1', epoch: 2 }]), [], 'not started twice');
  });

  it('release closes the fence before returning the leases for the release statement', () => {
    const m = new ClusterMember('a', T);
    m.joined(1);
    m.acquired(0, [
      { hubId: 'h1', epoch: 1 },
      { hubId: 'h2', epoch: 2 },
    ]);
    assert.deepEqual(m.release(['h1', 'nope']), [{ hubId: 'h1', epoch: 1 }]);
    assert.equal(m.mayPublish('h1', 1), false);
    assert.deepEqual(m.heldHubs(), ['h2']);
    assert.deepEqual(m.leave(), [{ hubId: 'h2', epoch: 2 }]);
    assert.equal(m.state, 'left');
    assert.equal(m.mayPublish('h2', 1), false);
    assert.deepEqual(m.acquired(2, [{ hubId: 'h3', epoch: 1 }]), []);
  });

  it('a failed heartbeat (another process joined with this id) drops every lease', () => {
    const m = new ClusterMember('a', T);
    m.joined(4);
    m.acquired(0, [{ hubId: 'h1', epoch: 1 }]);
    assert.deepEqual(m.heartbeat(true), []);
    assert.equal(m.mayPublish('h1', 1), true);
    assert.deepEqual(m.heartbeat(false), [{ hubId: 'h1', epoch: 1 }]);
    assert.equal(m.state, 'superseded');
    assert.equal(m.mayPublish('h1', 1), false);
    assert.throws(() => m.joined(5), /join in state superseded/);
  });
});

describe('core/cluster handover plan', () => {
  const hubs = ids(300, 'hub-');

  it('alone: acquires every hub; keeps what it holds', () => {
    assert.deepEqual(planHandover({ self: 'a', live: ['a'], hubs, held: [] }).acquire, hubs);
    const p = planHandover({ self: 'a', live: ['a'], hubs, held: hubs.slice(0, 10) });
    assert.deepEqual([p.release, p.keep, p.acquire.length], [[], hubs.slice(0, 10), 290]);
  });

  it('on a join, releases exactly the hubs the new instance wins; the new one asks for exactly those', () => {
    const a = planHandover({ self: 'a', live: ['a', 'b'], hubs, held: hubs });
    const b = planHandover({ self: 'b', live: ['a', 'b'], hubs, held: [] });
    assert.ok(a.release.length > 100 && a.release.length < 200, String(a.release.length));
    assert.deepEqual(a.release, b.acquire);
    assert.deepEqual([...a.keep, ...a.release].sort(), [...hubs].sort());
    assert.deepEqual(a.acquire, []);
  });

  it('not live itself: acquires nothing and keeps what no live instance can take', () => {
    const p = planHandover({ self: 'a', live: [], hubs, held: ['hub-1'] });
    assert.deepEqual(p, { release: [], acquire: [], keep: ['hub-1'] });
    const q = planHandover({ self: 'a', live: ['b'], hubs, held: ['hub-1'] });
    assert.deepEqual(q, { release: ['hub-1'], acquire: [], keep: [] });
  });

  it('releases held hubs that left the fleet; counts a repeated hub once', () => {
    const p = planHandover({ self: 'a', live: ['a'], hubs: ['x', 'x', 'y'], held: ['gone', 'x'] });
    assert.deepEqual(p, { release: ['gone'], acquire: ['y'], keep: ['x'] });
  });
});

const PINNED = [7163433910520748, 1539863077517373, 4446763975410778];

describe('core/cluster loop', () => {
  /** The lease tables behind an async store, on a manual clock; timers fire when advanced. */
  function rig() {
    let t = 0;
    const timers = new Map<number, { at: number; fn: () => void }>();
    let next = 1;
    const tables = new LeaseTables(T);
    const store: LeaseStore = {
      join: async (id) => tables.join(t, id),
      heartbeat: async (id, e) => tables.heartbeat(t, id, e),
      leave: async (id, e) => tables.leave(t, id, e),
      liveInstances: async () => tables.live(t),
      acquire: async (id, hubs) => tables.acquire(t, id, hubs),
      renew: async (id, leases) => tables.renew(t, id, leases),
      release: async (id, leases) => tables.release(t, id, leases),
    };
    const settle = () => new Promise<void>((r) => setImmediate(r));
    return {
      tables,
      store,
      timers: {
        now: () => t,
        setTimeout: (fn: () => void, ms: number) => {
          timers.set(next, { at: t + ms, fn });
          return next++;
        },
        clearTimeout: (h: unknown) => void timers.delete(h as number),
      },
      pending: () => [...timers.values()].map((x) => x.at),
      async advance(to: number) {
        await settle();
        for (;;) {
          const due = [...timers].filter(([, x]) => x.at <= to).sort((a, b) => a[1].at - b[1].at)[0];
          if (!due) break;
          timers.delete(due[0]);
          t = due[1].at;
          due[1].fn();
          await settle();
        }
        t = to;
      },
    };
  }

  it('renews every renewMs from each cycle start, keeps going when the callback throws, stops cleanly', async () => {
    const r = rig();
    const member = new ClusterMember('a', T);
    const cycles: number[] = [];
    const loop = new ClusterLoop(new ClusterNode(member, r.store, r.timers.now), {
      renewMs: T.renewMs,
      hubs: () => ['h1', 'h2'],
      timers: r.timers,
      onCycle: () => {
        cycles.push(r.timers.now());
        throw new Error('a broken callback');
      },
    });
    await loop.start();
    await r.advance(1000);
    assert.deepEqual(cycles, [0, 200, 400, 600, 800, 1000]);
    assert.ok(member.mayPublish('h1', 1000) && member.mayPublish('h2', 1000));
    assert.deepEqual((await loop.stop()).map((l) => l.hubId).sort(), ['h1', 'h2']);
    assert.equal(member.mayPublish('h1', 1000), false);
    assert.deepEqual(r.pending(), [], 'no timer left');
    assert.deepEqual(r.tables.live(1000), []);
    await assert.rejects(loop.start(), /already started/);
  });

  it('stopped while joining: never joined, the membership just created is ended', async () => {
    const r = rig();
    const member = new ClusterMember('a', T);
    const loop = new ClusterLoop(new ClusterNode(member, r.store, r.timers.now), {
      renewMs: T.renewMs,
      hubs: () => ['h1'],
      timers: r.timers,
    });
    const starting = loop.start();
    await loop.stop();
    await starting;
    assert.equal(member.state, 'left');
    assert.deepEqual(r.tables.live(0), []);
    assert.deepEqual(r.pending(), []);
  });

  it('refuses a jitter outside [0, 0.25]', () => {
    const r = rig();
    const node = new ClusterNode(new ClusterMember('a', T), r.store, r.timers.now);
    assert.throws(
      () => new ClusterLoop(node, { renewMs: 200, hubs: () => [], jitter: 0.5 }),
      /jitter must be in \[0, 0.25\]/,
    );
  });
});
