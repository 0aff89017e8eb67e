// Properties of the cluster protocol (core/cluster) in a simulation (cluster-sim.ts) over many
// seeds: at every sampled instant no hub has two instances allowed to publish (and the last
// publish of the previous owner reaches the broker before the first of the next), epochs grow
// at each change of owner, and after a kill every hub is owned again within
// lease + renew (+ the statements' network time).
import { strict as assert } from 'node:assert';
import { checkClusterTiming, ownerOf, type ClusterTiming } from '../../core/cluster';
import { ClusterSim, type SimOptions } from './cluster-sim';

const T: ClusterTiming = { renewMs: 200, leaseMs: 1000, marginMs: 200, publishLatencyMs: 100 };
const HUBS = Array.from({ length: 40 }, (_, i) => `hub-${i}`);
const MAX_DELAY = 10; // ms, each direction of a statement
const SAMPLE_MS = 10;
/** Statements of one cycle (heartbeat, renew, live, release, acquire), each a round trip. */
const CYCLE_MS = 5 * 2 * MAX_DELAY;
const JITTER = 0.1;

const base = (seed: number, extra: Partial<SimOptions> = {}): SimOptions => ({
  timing: T,
  seed,
  hubs: HUBS,
  delayMs: [1, MAX_DELAY],
  drift: 5e-4,
  jitter: JITTER,
  ...extra,
});

function noViolations(sim: ClusterSim, seed: number): void {
  assert.deepEqual(sim.violations.slice(0, 5), [], `seed ${seed}: ${sim.violations.length} violation(s)`);
}

/** Every hub published by exactly its rendezvous owner among `ids` in this sample. */
function ownedByRendezvous(publishers: Map<string, string[]>, ids: string[]): string[] {
  const wrong: string[] = [];
  for (const h of HUBS) {
    const p = publishers.get(h) ?? [];
    const want = ownerOf(h, ids);
    if (p.length !== 1 || p[0] !== want) wrong.push(`${h}: ${p.join(',') || 'nobody'} (want ${want})`);
  }
  return wrong;
}

describe('core/cluster protocol in simulation', function () {
  this.timeout(120000);

  it('steady state: each hub published by exactly its rendezvous owner at every instant', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const sim = new ClusterSim(base(seed));
      for (const id of ['a', 'b', 'c']) sim.spawn(id);
      const settled = T.leaseMs + 3 * T.renewMs;
      const wrong: string[] = [];
      await sim.runSampled(8000, SAMPLE_MS, (t, p) => {
        if (t >= settled) wrong.push(...ownedByRendezvous(p, ['a', 'b', 'c']).map((w) => `${t}: ${w}`));
      });
      noViolations(sim, seed);
      assert.deepEqual(wrong.slice(0, 5), [], `seed ${seed}`);
    }
  });

  it("kill: the dead instance's hubs are owned again within lease + renew + network time, never before its fence closed", async () => {
    // Its last renewal may still run ≤ MAX_DELAY after the kill; the survivor's cycle that
    // starts after the expiry may read the old live set, so one more cycle; then its acquire.
    const bound = MAX_DELAY + T.leaseMs + T.renewMs * (1 + JITTER) + 2 * CYCLE_MS;
    for (let seed = 1; seed <= 10; seed++) {
      const sim = new ClusterSim(base(seed));
      const procs = ['a', 'b', 'c'].map((id) => sim.spawn(id));
      await sim.runSampled(3000, SAMPLE_MS);
      const victim = procs[seed % 3]!;
      const killedAt = sim.now;
      sim.kill(victim);
      const survivors = procs.filter((p) => p !== victim).map((p) => p.id);
      const theirs = HUBS.filter(
        (h) =>
          ownerOf(
            h,
            procs.map((p) => p.id),
          ) === victim.id,
      );
      assert.ok(theirs.length > 0);
      const fences = new Map(theirs.map((h) => [h, victim.member.fenceOf(h)!]));
      const wrong: string[] = [];
      const ownedAgain = new Map<string, number>();
      await sim.runSampled(killedAt + 4000, SAMPLE_MS, (t, p) => {
        for (const h of theirs) if (!ownedAgain.has(h) && p.get(h)?.length) ownedAgain.set(h, t - killedAt);
        if (t - killedAt > bound) wrong.push(...ownedByRendezvous(p, survivors).map((w) => `${t}: ${w}`));
      });
      noViolations(sim, seed);
      assert.deepEqual(wrong.slice(0, 5), [], `seed ${seed}`);
      const worst = Math.max(...ownedAgain.values());
      assert.equal(ownedAgain.size, theirs.length, `seed ${seed}`);
      assert.ok(worst <= bound, `seed ${seed}: owned again after ${worst} ms > ${bound}`);
      // Never before the dead owner's fence closed plus the publish latency (server time).
      for (const h of theirs) {
        const fenceAt = (fences.get(h)! - victim.offset) / victim.rate;
        const at = killedAt + ownedAgain.get(h)!;
        assert.ok(
          at >= fenceAt + T.publishLatencyMs,
          `seed ${seed}: ${h} taken over ${fenceAt + T.publishLatencyMs - at} ms too early`,
        );
      }
    }
  });

  it('join and graceful leave hand hubs over with a gap of at most a cycle + the publish latency, moving only what must move', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const sim = new ClusterSim(base(seed));
      const a = sim.spawn('a');
      sim.spawn('b');
      await sim.runSampled(3000, SAMPLE_MS);
      const owners = new Map<string, string>();
      const d = sim.spawn('d');
      const gaps = new Map<string, number>();
      const lastSeen = new Map<string, number>();
      const track = (t: number, p: Map<string, string[]>): void => {
        for (const h of HUBS) {
          const who = p.get(h)?.[0];
          if (who) {
            const prev = owners.get(h);
            if (prev && prev !== who) {
              gaps.set(h, Math.max(gaps.get(h) ?? 0, t - (lastSeen.get(h) ?? t)));
              assert.equal(who, ownerOf(h, ['a', 'b', 'd']), `seed ${seed}: ${h} moved to ${who}`);
            }
            owners.set(h, who);
            lastSeen.set(h, t);
          }
        }
      };
      await sim.runSampled(6000, SAMPLE_MS, track);
      const toD = HUBS.filter((h) => ownerOf(h, ['a', 'b', 'd']) === 'd');
      assert.deepEqual(
        HUBS.filter((h) => owners.get(h) === 'd'),
        toD,
        `seed ${seed}: d owns its share`,
      );
      // Released (free publishLatencyMs later), then acquired in the next cycle of d.
      for (const [h, g] of gaps)
        assert.ok(
          g <= T.renewMs * (1 + JITTER) + CYCLE_MS + T.publishLatencyMs + SAMPLE_MS,
          `seed ${seed}: ${h} gap ${g} ms`,
        );
      assert.ok(gaps.size >= toD.length);

      gaps.clear();
      sim.stop(a);
      await sim.runSampled(9000, SAMPLE_MS, (t, p) => {
        for (const h of HUBS) {
          const who = p.get(h)?.[0];
          if (who && owners.get(h) !== who) {
            gaps.set(h, t - (lastSeen.get(h) ?? t));
            assert.equal(who, ownerOf(h, ['b', 'd']), `seed ${seed}: ${h} moved to ${who}`);
          }
          if (who) {
            owners.set(h, who);
            lastSeen.set(h, t);
          }
        }
      });
      assert.equal(a.member.state, 'left');
      assert.deepEqual(sim.tables.live(sim.now).sort(), ['b', 'd']);
      for (const [h, g] of gaps)
        assert.ok(
          g <= T.renewMs * (1 + JITTER) + CYCLE_MS + T.publishLatencyMs + SAMPLE_MS,
          `seed ${seed}: ${h} gap ${g} ms`,
        );
      assert.ok(gaps.size > 0);
      noViolations(sim, seed);
      void d;
    }
  });

  it('chaos: kills, restarts, duplicate ids, pauses and cut-offs longer than the lease, slow statements, drift — never two publishers', async () => {
    const seen = { superseded: 0, takeovers: 0 };
    for (let seed = 1; seed <= 40; seed++) {
      const sim = new ClusterSim(base(seed, { spike: { p: 0.005, ms: 1500 } }));
      const rng = sim.rng;
      const names = ['a', 'b', 'c', 'd', 'e'];
      for (const id of names.slice(0, 3)) sim.spawn(id);
      for (let t = 500; t < 15000; t += 500) {
        await sim.runSampled(t, SAMPLE_MS);
        const r = rng();
        const procs = sim.active();
        const pick = procs[Math.floor(rng() * procs.length)];
        if (r < 0.1 && pick) sim.kill(pick);
        else if (r < 0.3 && pick) sim.pause(pick, rng() * 3 * T.leaseMs);
        else if (r < 0.4 && pick) sim.stop(pick);
        else if (r < 0.5 && pick) sim.cut(pick, rng() * 3 * T.leaseMs);
        else if (r < 0.6) sim.spawn(names[Math.floor(rng() * names.length)]!); // may duplicate a running id
      }
      if (sim.active().length === 0) sim.spawn('z');
      // Quiet: no new faults (cuts and pauses run out, spikes stop), then every hub settles
      // on its rendezvous owner among the processes still joined.
      sim.opts = { ...sim.opts, spike: undefined };
      await sim.runSampled(15000 + 3 * T.leaseMs + 2 * 1500 + 3 * T.leaseMs, SAMPLE_MS);
      noViolations(sim, seed);
      const ids = [...new Set(sim.active().map((i) => i.id))];
      let last = new Map<string, string[]>();
      await sim.runSampled(sim.now + 500, SAMPLE_MS, (_t, p) => (last = p));
      noViolations(sim, seed);
      assert.deepEqual(ownedByRendezvous(last, ids), [], `seed ${seed}, active ${ids.join(',')}`);
      seen.superseded += sim.instances.filter((i) => i.member.state === 'superseded').length;
      seen.takeovers += sim.instances.reduce((n, i) => n + i.started.filter((s) => s.epoch > 1).length, 0);
    }
    // The faults happened: processes replaced by a duplicate id, hubs taken over from another owner.
    assert.ok(seen.superseded > 0 && seen.takeovers > 100, JSON.stringify(seen));
  });

  it('the checks catch double publishing: a margin below the publish latency fails them', async () => {
    // Bypasses checkClusterTiming on purpose: the simulation must notice the overlap.
    // An owner cut off from PostgreSQL publishes up to its fence; the next owner starts right
    // after the expiry, less than publishLatencyMs after the last publish.
    const bad: ClusterTiming = { renewMs: 200, leaseMs: 1000, marginMs: 1, publishLatencyMs: 500 };
    let caught = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const sim = new ClusterSim(base(seed, { timing: bad }));
      const [a] = ['a', 'b'].map((id) => sim.spawn(id));
      await sim.runSampled(2000, SAMPLE_MS);
      sim.cut(a!, 3000);
      await sim.runSampled(6000, SAMPLE_MS);
      caught += sim.violations.length;
    }
    assert.ok(caught > 0, 'no overlap detected with a 1 ms margin');
    assert.ok(!checkClusterTiming(bad).ok, 'and the configuration check refuses that timing');
  });
});
