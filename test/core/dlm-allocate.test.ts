import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { allocate, allocationWeight, effectiveDemandKw, whatIf } from '../../core/dlm';
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
describe('core/dlm allocate — cases', () => {
  // The original system: 140 kW hub, three 78 kW nodes, two charging (SoC 20 % and 70 %),
  // critical_soc 20 → 20 % is NOT critical. It gave 78 and 38.18 and left 23.8 kW unused.
  const issueNodes: AllocInput[] = [
    { nodeId: 'node_01', maxPowerKw: 78, soc: 20, critical: false },
    { nodeId: 'node_02', maxPowerKw: 78, soc: 70, critical: false },
    { nodeId: 'node_03', maxPowerKw: 78, demandKw: 0, soc: null, critical: false },
  ];

  it('original issue case, soc-priority: 78 + 62, all 140 kW used', () => {
    const r = allocate(140, issueNodes, { policy: 'soc-priority', reserve: 0 });
    assert.deepEqual(limits(r), { node_01: 78, node_02: 62, node_03: 0 });
    assert.equal(r.totalKw, 140);
    assert.equal(r.allocations.find((a) => a.nodeId === 'node_03')?.deferred, false);
    assert.deepEqual(
      r.allocations.map((a) => a.weight),
      [80, 30, 50],
    );
  });

  it('original issue case, equal: 70 + 70', () => {
    const r = allocate(140, issueNodes, { policy: 'equal', reserve: 0 });
    assert.deepEqual(limits(r), { node_01: 70, node_02: 70, node_03: 0 });
  });

  it('equal with a saturated node: its unused share goes to the others', () => {
    const r = allocate(
      100,
      [
        { nodeId: 'a', maxPowerKw: 20, soc: 50, critical: false },
        { nodeId: 'b', maxPowerKw: 50, soc: 50, critical: false },
        { nodeId: 'c', maxPowerKw: 78, demandKw: 50, soc: 50, critical: false },
      ],
      { policy: 'equal', reserve: 0 },
    );
    assert.deepEqual(limits(r), { a: 20, b: 40, c: 40 });
  });

  it('soc-priority weights 100 − soc: 90 kW over SoC 10 and 70 → 67.5 / 22.5', () => {
    const r = allocate(
      90,
      [
        { nodeId: 'x', maxPowerKw: 100, soc: 10, critical: false },
        { nodeId: 'y', maxPowerKw: 100, soc: 70, critical: false },
      ],
      { policy: 'soc-priority', reserve: 0 },
    );
    near(limits(r).x as number, 67.5);
    near(limits(r).y as number, 22.5);
  });

  it('critical class is served first, the rest flows to normal', () => {
    const r = allocate(
      100,
      [
        { nodeId: 'crit', maxPowerKw: 78, soc: 12, critical: true },
        { nodeId: 'n1', maxPowerKw: 78, soc: 60, critical: false },
        { nodeId: 'n2', maxPowerKw: 78, soc: 60, critical: false },
      ],
      { policy: 'equal', reserve: 0 },
    );
    assert.deepEqual(limits(r), { crit: 78, n1: 11, n2: 11 });
    assert.equal(r.allocations[0]?.cls, 'critical');
  });

  it('when critical nodes take everything, normal nodes get 0 and are marked deferred', () => {
    const r = allocate(
      50,
      [
        { nodeId: 'c', maxPowerKw: 78, soc: 5, critical: true },
        { nodeId: 'n', maxPowerKw: 78, soc: 60, critical: false },
      ],
      { policy: 'equal', reserve: 0 },
    );
    assert.deepEqual(limits(r), { c: 50, n: 0 });
    assert.equal(r.allocations[1]?.deferred, true);
  });

  it('reserve: C = cap × (1 − reserve)', () => {
    const r = allocate(100, [{ nodeId: 'a', maxPowerKw: 350, soc: 50, critical: false }], {
      policy: 'equal',
      reserve: 0.2,
    });
    assert.equal(r.capacityKw, 80);
    assert.equal(limits(r).a, 80);
  });

  it('a floor lifts a node above its water-filling share', () => {
    const r = allocate(
      100,
      [
        { nodeId: 'a', maxPowerKw: 100, soc: 50, critical: false },
        { nodeId: 'b', maxPowerKw: 100, minPowerKw: 60, soc: 50, critical: false },
      ],
      { policy: 'equal', reserve: 0 },
    );
    assert.deepEqual(limits(r), { a: 40, b: 60 });
  });

  it('floors that do not fit: the lowest weight is deferred, reserve applied', () => {
    // C = 90. Critical a (w 90) gets 50; normal budget 40: c (w 60) fits its 30 kW floor,
    // b (w 50) is deferred; c takes the whole 40.
    const r = allocate(
      100,
      [
        { nodeId: 'a', maxPowerKw: 50, minPowerKw: 30, soc: 10, critical: true },
        { nodeId: 'b', maxPowerKw: 50, minPowerKw: 30, soc: 50, critical: false },
        { nodeId: 'c', maxPowerKw: 50, minPowerKw: 30, soc: 40, critical: false },
      ],
      { policy: 'soc-priority', reserve: 0.1 },
    );
    assert.equal(r.capacityKw, 90);
    assert.deepEqual(limits(r), { a: 50, b: 0, c: 40 });
    assert.deepEqual(
      r.allocations.map((x) => x.deferred),
      [false, true, false],
    );
  });

  it('floors, equal weights: ties are broken by nodeId (the larger id is deferred)', () => {
    const nodes: AllocInput[] = ['n3', 'n1', 'n2'].map((nodeId) => ({
      nodeId,
      maxPowerKw: 50,
      minPowerKw: 40,
      soc: 50,
      critical: false,
    }));
    const r = allocate(100, nodes, { policy: 'equal', reserve: 0 });
    assert.deepEqual(limits(r), { n1: 50, n2: 50, n3: 0 });
  });

  it('floors: a deferred node does not block a lower-priority node whose floor still fits', () => {
    const r = allocate(
      50,
      [
        { nodeId: 'p', maxPowerKw: 30, minPowerKw: 30, soc: 0, critical: false }, // w 100
        { nodeId: 'q', maxPowerKw: 40, minPowerKw: 30, soc: 20, critical: false }, // w 80
        { nodeId: 's', maxPowerKw: 40, minPowerKw: 5, soc: 60, critical: false }, // w 40
      ],
      { policy: 'soc-priority', reserve: 0 },
    );
    assert.deepEqual(limits(r), { p: 30, q: 0, s: 20 });
  });

  it('a normal node’s floor never takes capacity from the critical class', () => {
    const r = allocate(
      100,
      [
        { nodeId: 'x', maxPowerKw: 100, soc: 10, critical: true },
        { nodeId: 'y', maxPowerKw: 50, minPowerKw: 20, soc: 50, critical: false },
      ],
      { policy: 'equal', reserve: 0 },
    );
    assert.deepEqual(limits(r), { x: 100, y: 0 });
  });

  it('taper lowers demand linearly above fromSoc; the freed power goes to others', () => {
    const cfg: AllocConfig = { policy: 'equal', reserve: 0, taper: { fromSoc: 80, minFraction: 0.2 } };
    const full: AllocInput = { nodeId: 'full', maxPowerKw: 50, soc: 90, critical: false };
    near(effectiveDemandKw(full, cfg), 30); // fraction 1 − 0.8 × 10/20 = 0.6
    near(effectiveDemandKw({ ...full, soc: 100 }, cfg), 10);
    near(effectiveDemandKw({ ...full, soc: 80 }, cfg), 50);
    const r = allocate(100, [full, { nodeId: 'low', maxPowerKw: 100, soc: 30, critical: false }], cfg);
    near(limits(r).full as number, 30);
    near(limits(r).low as number, 70);
  });

  it('weights: equal 1, soc-priority max(1, 100 − soc), unknown SoC as 50', () => {
    assert.equal(allocationWeight('equal', 3), 1);
    assert.equal(allocationWeight('soc-priority', 30), 70);
    assert.equal(allocationWeight('soc-priority', 100), 1);
    assert.equal(allocationWeight('soc-priority', null), 50);
  });

  it('bad numbers count as 0; zero capacity gives zeros; no nodes gives an empty result', () => {
    const r = allocate(Number.NaN, [{ nodeId: 'a', maxPowerKw: 50, soc: 50, critical: false }], {
      policy: 'equal',
      reserve: 0,
    });
    assert.deepEqual(limits(r), { a: 0 });
    assert.equal(r.allocations[0]?.deferred, true);
    const r2 = allocate(100, [{ nodeId: 'a', maxPowerKw: -5, soc: 50, critical: false }], {
      policy: 'equal',
      reserve: 0,
    });
    assert.deepEqual(limits(r2), { a: 0 });
    assert.equal(r2.allocations[0]?.deferred, false);
    assert.deepEqual(allocate(100, [], { policy: 'equal', reserve: 0 }), {
      capacityKw: 100,
      totalKw: 0,
      allocations: [],
    });
  });

  it('duplicate nodeIds are rejected', () => {
    const n: AllocInput = { nodeId: 'a', maxPowerKw: 50, soc: 50, critical: false };
    assert.throws(
      () => allocate(100, [n, { ...n }], { policy: 'equal', reserve: 0 }),
      /duplicate nodeId 'a'/,
    );
  });

  it('whatIf: the power a new vehicle would actually get, replacing a node with the same id', () => {
    const cfg: AllocConfig = { policy: 'equal', reserve: 0 };
    const cand: AllocInput = { nodeId: 'node_03', maxPowerKw: 78, soc: 40, critical: false };
    // 140 kW over three 78 kW nodes, equal: 46.67 each, not the 78 kW nameplate.
    near(whatIf(140, issueNodes, cand, cfg), 140 / 3, 1e-9);
    near(whatIf(140, issueNodes, { ...cand, critical: true }, cfg), 78);
  });

  it('1,000 nodes allocate (speed is measured by bench/allocation.ts)', () => {
    const nodes: AllocInput[] = Array.from({ length: 1000 }, (_, i) => ({
      nodeId: `n${i}`,
      maxPowerKw: 10 + (i % 70),
      minPowerKw: i % 7 === 0 ? 5 : 0,
      soc: i % 101,
      critical: i % 11 === 0,
    }));
    const r = allocate(20000, nodes, { policy: 'soc-priority', reserve: 0.05 });
    assert.equal(r.allocations.length, 1000);
    near(r.totalKw, 19000, 1e-6);
  });
});
