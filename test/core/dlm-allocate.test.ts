import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { allocate, effectiveDemandKw, whatIf } from '../../core/dlm';
import type { AllocConfig, AllocInput, AllocResult, Policy } from '../../core/dlm';

const TOL = 1e-9;

function limits(r: AllocResult): Record<string, number> {
  return Object.fromEntries(r.allocations.map((a) => [a.nodeId, a.limitKw]));
}

function near(actual: number, expected: number, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

// ---------- generators ----------
const kw = (max: number) => fc.double({ min: 0, max, noNaN: true, noDefaultInfinity: true });
const socArb = fc.option(fc.integer({ min: 0, max: 100 }), { nil: null });

// Mix of arbitrary doubles and round values, so exact ties and boundaries (floors that
// just fit, equal d/w) come up often.
const roundKw = fc.constantFrom(0, 5, 10, 11, 20, 22, 30, 50, 60, 78, 100);
const kwMix = (max: number) => fc.oneof(kw(max), roundKw);

function nodeArb(withFloors: boolean): fc.Arbitrary<Omit<AllocInput, 'nodeId'>> {
  return fc.record(
    {
      maxPowerKw: kwMix(350),
      demandKw: kwMix(400),
      minPowerKw: withFloors ? kwMix(120) : fc.constant(0),
      soc: socArb,
      critical: fc.boolean(),
    },
    { requiredKeys: ['maxPowerKw', 'soc', 'critical'] },
  );
}

function nodesArb(withFloors: boolean, maxLength = 25): fc.Arbitrary<AllocInput[]> {
  return fc
    .uniqueArray(fc.tuple(fc.stringMatching(/^[a-z0-9_]{1,6}$/), nodeArb(withFloors)), {
      maxLength,
      selector: (t) => t[0],
    })
    .map((ts) => ts.map(([nodeId, n]) => ({ nodeId, ...n })));
}

const cfgArb: fc.Arbitrary<AllocConfig> = fc.record({
  policy: fc.constantFrom<Policy>('equal', 'soc-priority'),
  reserve: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
});
const capArb = fc.oneof(kw(1000), fc.integer({ min: 0, max: 300 }), roundKw);

function demands(nodes: AllocInput[], cfg: AllocConfig): Map<string, number> {
  return new Map(nodes.map((n) => [n.nodeId, effectiveDemandKw(n, cfg)]));
}

// ---------- properties ----------
describe('core/dlm allocate — properties', () => {
  it('Σa ≤ C, 0 ≤ a ≤ demand ≤ max power, one sorted entry per node (with floors)', () => {
    fc.assert(
      fc.property(capArb, nodesArb(true), cfgArb, (cap, nodes, cfg) => {
        const r = allocate(cap, nodes, cfg);
        const d = demands(nodes, cfg);
        near(r.capacityKw, cap * (1 - cfg.reserve), 1e-12 * (1 + cap));
        let sum = 0;
        for (const a of r.allocations) {
          const n = nodes.find((x) => x.nodeId === a.nodeId) as AllocInput;
          assert.ok(a.limitKw >= 0);
          assert.ok(a.limitKw <= n.maxPowerKw);
          assert.ok(a.limitKw <= (d.get(a.nodeId) as number));
          sum += a.limitKw;
        }
        assert.ok(sum <= r.capacityKw + TOL, `Σa ${sum} > C ${r.capacityKw}`);
        near(r.totalKw, sum, 1e-9);
        assert.deepEqual(
          r.allocations.map((a) => a.nodeId),
          nodes.map((n) => n.nodeId).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
        );
      }),
      { numRuns: 400 },
    );
  });

  it('no floors: Σa = min(C, Σd) (no stranded capacity) and nobody is deferred while capacity is left', () => {
    fc.assert(
      fc.property(capArb, nodesArb(false), cfgArb, (cap, nodes, cfg) => {
        const r = allocate(cap, nodes, cfg);
        let sumD = 0;
        for (const v of demands(nodes, cfg).values()) sumD += v;
        near(r.totalKw, Math.min(r.capacityKw, sumD), 1e-9 * (1 + r.capacityKw));
        if (r.totalKw < r.capacityKw - 1e-6) assert.ok(r.allocations.every((a) => !a.deferred));
      }),
      { numRuns: 400 },
    );
  });

  it('no floors: inside a class unsaturated nodes have equal a/w, saturated ones d/w ≤ that level; classes in order', () => {
    fc.assert(
      fc.property(capArb, nodesArb(false), cfgArb, (cap, nodes, cfg) => {
        const r = allocate(cap, nodes, cfg);
        const d = demands(nodes, cfg);
        for (const cls of ['critical', 'normal'] as const) {
          const members = r.allocations.filter((a) => a.cls === cls && (d.get(a.nodeId) as number) > 0);
          const unsat = members.filter((a) => a.limitKw < (d.get(a.nodeId) as number) - 1e-9);
          if (unsat.length === 0) continue;
          const level = (unsat[0] as (typeof unsat)[0]).limitKw / (unsat[0] as (typeof unsat)[0]).weight;
          for (const a of unsat) near(a.limitKw / a.weight, level, 1e-9 * (1 + level));
          for (const a of members) {
            if (a.limitKw >= (d.get(a.nodeId) as number) - 1e-9) {
              assert.ok((d.get(a.nodeId) as number) / a.weight <= level + 1e-9 * (1 + level));
            }
          }
        }
        // Every critical node is saturated before any normal node gets power.
        const normalGets = r.allocations.some((a) => a.cls === 'normal' && a.limitKw > 1e-9);
        if (normalGets) {
          for (const a of r.allocations.filter((x) => x.cls === 'critical')) {
            near(a.limitKw, d.get(a.nodeId) as number, 1e-9 * (1 + a.limitKw));
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  // Precisely: a critical node gets at least what it would get if the class split were
  // removed (all nodes one class, same policy). Under `equal` that is "never less than
  // under equal". (Under soc-priority a critical node with a high SoC may get less than
  // an equal split, because other critical nodes weigh more — that is intended.)
  it('no floors: critical nodes get at least their share with all nodes in one class, same policy', () => {
    fc.assert(
      fc.property(capArb, nodesArb(false), cfgArb, (cap, nodes, cfg) => {
        const ours = limits(allocate(cap, nodes, cfg));
        const oneClass = limits(
          allocate(
            cap,
            nodes.map((n) => ({ ...n, critical: false })),
            cfg,
          ),
        );
        for (const n of nodes.filter((x) => x.critical)) {
          const a = ours[n.nodeId] as number;
          const ref = oneClass[n.nodeId] as number;
          assert.ok(a >= ref - 1e-9 * (1 + ref), `${n.nodeId}: ${a} < ${ref}`);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('no floors, policy equal: critical nodes never get less than an equal split over all nodes', () => {
    fc.assert(
      fc.property(capArb, nodesArb(false), (cap, nodes) => {
        const cfg: AllocConfig = { policy: 'equal', reserve: 0 };
        const ours = limits(allocate(cap, nodes, cfg));
        const flat = limits(
          allocate(
            cap,
            nodes.map((n) => ({ ...n, critical: false })),
            cfg,
          ),
        );
        for (const n of nodes.filter((x) => x.critical)) {
          assert.ok((ours[n.nodeId] as number) >= (flat[n.nodeId] as number) - 1e-9);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('floors: inside a class, nodes strictly between floor and demand share one a/w level', () => {
    fc.assert(
      fc.property(capArb, nodesArb(true), cfgArb, (cap, nodes, cfg) => {
        const r = allocate(cap, nodes, cfg);
        const byId = new Map(nodes.map((n) => [n.nodeId, n]));
        const d = demands(nodes, cfg);
        for (const cls of ['critical', 'normal'] as const) {
          const members = r.allocations.filter(
            (a) => a.cls === cls && !a.deferred && (d.get(a.nodeId) as number) > 0,
          );
          const floorOf = (id: string) =>
            Math.min((byId.get(id) as AllocInput).minPowerKw ?? 0, d.get(id) as number);
          const free = members.filter(
            (a) => a.limitKw > floorOf(a.nodeId) + 1e-9 && a.limitKw < (d.get(a.nodeId) as number) - 1e-9,
          );
          if (free.length === 0) continue;
          const level = (free[0] as (typeof free)[0]).limitKw / (free[0] as (typeof free)[0]).weight;
          const tol = 1e-9 * (1 + level);
          for (const a of free) near(a.limitKw / a.weight, level, tol);
          for (const a of members) {
            // At its floor: the level would give it less. Saturated: the level would give it more.
            const atFloor = a.limitKw <= floorOf(a.nodeId) + 1e-9;
            const saturated = a.limitKw >= (d.get(a.nodeId) as number) - 1e-9;
            if (atFloor && !saturated) assert.ok(floorOf(a.nodeId) / a.weight >= level - tol);
            if (saturated && !atFloor) assert.ok((d.get(a.nodeId) as number) / a.weight <= level + tol);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('same input in any order gives the same output', () => {
    fc.assert(
      fc.property(
        capArb,
        nodesArb(true).chain((nodes) =>
          fc.tuple(fc.constant(nodes), fc.shuffledSubarray(nodes, { minLength: nodes.length })),
        ),
        cfgArb,
        (cap, [nodes, shuffled], cfg) => {
          assert.deepEqual(allocate(cap, shuffled, cfg), allocate(cap, nodes, cfg));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('floors: every node gets 0 or at least its floor; deferral only when the floor did not fit', () => {
    fc.assert(
      fc.property(capArb, nodesArb(true), cfgArb, (cap, nodes, cfg) => {
        const r = allocate(cap, nodes, cfg);
        const byId = new Map(nodes.map((n) => [n.nodeId, n]));
        const d = demands(nodes, cfg);
        const floorOf = (id: string) =>
          Math.min((byId.get(id) as AllocInput).minPowerKw ?? 0, d.get(id) as number);
        let budget = r.capacityKw;
        for (const cls of ['critical', 'normal'] as const) {
          const members = r.allocations.filter((a) => a.cls === cls);
          for (const a of members) {
            assert.ok(
              a.limitKw === 0 || a.limitKw >= floorOf(a.nodeId) - 1e-9,
              `${a.nodeId} below its floor`,
            );
            assert.equal(a.deferred, (d.get(a.nodeId) as number) > 0 && a.limitKw === 0);
          }
          const admitted = members.filter((a) => !a.deferred);
          for (const j of members.filter((a) => a.deferred)) {
            const fj = floorOf(j.nodeId);
            if (fj === 0) {
              // A floorless node only gets 0 when the floors of its class take the whole budget.
              const classFloors = admitted.reduce((s, a) => s + floorOf(a.nodeId), 0);
              assert.ok(
                budget <= classFloors + 1e-9,
                `floorless ${j.nodeId} deferred with ${budget} kW left`,
              );
              continue;
            }
            // Its floor did not fit next to the floors of the higher-priority admitted nodes.
            const higher = admitted.filter(
              (a) => a.weight > j.weight || (a.weight === j.weight && a.nodeId < j.nodeId),
            );
            const floors = higher.reduce((s, a) => s + floorOf(a.nodeId), 0);
            assert.ok(floors + fj > budget - 1e-9, `${j.nodeId} deferred although its floor fits`);
          }
          budget = Math.max(0, budget - members.reduce((s, a) => s + a.limitKw, 0));
        }
        // No stranded capacity: if capacity is left, every admitted node is saturated.
        if (r.totalKw < r.capacityKw - 1e-6) {
          for (const a of r.allocations.filter((x) => !x.deferred)) {
            near(a.limitKw, d.get(a.nodeId) as number, 1e-9 * (1 + a.limitKw));
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('whatIf equals the candidate’s limit in allocate with it added', () => {
    fc.assert(
      fc.property(capArb, nodesArb(true, 12), nodeArb(true), cfgArb, (cap, nodes, cand, cfg) => {
        const candidate: AllocInput = { nodeId: 'candidate!', ...cand };
        const r = allocate(cap, [...nodes, candidate], cfg);
        assert.equal(whatIf(cap, nodes, candidate, cfg), limits(r)['candidate!']);
      }),
      { numRuns: 200 },
    );
  });
});

// ---------- hand-computed cases ----------
