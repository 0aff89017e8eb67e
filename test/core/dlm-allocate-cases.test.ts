import { strict as assert } from 'node:assert';
import { allocate, allocationWeight, effectiveDemandKw, whatIf } from '../../core/dlm';
import type { AllocConfig, AllocInput, AllocResult } from '../../core/dlm';

function limits(r: AllocResult): Record<string, number> {
  return Object.fromEntries(r.allocations.map((a) => [a.nodeId, a.limitKw]));
}

function near(actual: number, expected: number, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

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
