import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { allocate, floorToResolution, WIRE_RESOLUTION_KW } from '../../core/dlm';
import type { AllocInput } from '../../core/dlm';

const steps = (kw: number) => Math.round(kw * 1000);

describe('core/dlm limits at the wire resolution', () => {
  it('floorToResolution rounds down to 0.001 kW, to the double a JSON round trip keeps', () => {
    for (const [x, y] of [
      [55.828220858895705, 55.828],
      [46.666, 46.666],
      [0.29, 0.29],
      [0.0009999, 0],
      [1e-9, 0],
      [-3, 0],
      [Number.NaN, 0],
      [140, 140],
    ] as const) {
      assert.equal(floorToResolution(x), y, String(x));
    }
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1000, noNaN: true }), (x) => {
        const q = floorToResolution(x, WIRE_RESOLUTION_KW);
        assert.ok(q <= x, 'never up');
        assert.ok(x - q < 0.001 + 1e-9, 'less than a step down');
        assert.equal(JSON.parse(JSON.stringify(q)), q);
        assert.equal(Number(q.toFixed(3)), q, 'exactly a decimal of 3 places');
      }),
    );
  });

  it('allocate with resolutionKw: limits at the resolution, Σ ≤ C, ≤ demand, and the steps lost to rounding given back', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.uniqueArray(
          fc.record({
            id: fc.integer({ min: 0, max: 30 }),
            max: fc.oneof(fc.double({ min: 0, max: 120, noNaN: true }), fc.constantFrom(0, 22, 50, 78)),
            soc: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
            critical: fc.boolean(),
          }),
          { selector: (n) => n.id, maxLength: 12 },
        ),
        fc.constantFrom('equal' as const, 'soc-priority' as const),
        (cap, ns, policy) => {
          const nodes: AllocInput[] = ns.map((n) => ({
            nodeId: `n${n.id}`,
            maxPowerKw: n.max,
            soc: n.soc,
            critical: n.critical,
          }));
          const exact = allocate(cap, nodes, { policy, reserve: 0 });
          const r = allocate(cap, nodes, { policy, reserve: 0, resolutionKw: WIRE_RESOLUTION_KW });
          let sum = 0;
          for (const [i, a] of r.allocations.entries()) {
            const e = exact.allocations[i]!;
            assert.equal(a.limitKw, floorToResolution(a.limitKw), 'at the resolution');
            assert.ok(a.limitKw <= floorToResolution(nodes.find((n) => n.nodeId === a.nodeId)!.maxPowerKw));
            assert.ok(Math.abs(a.limitKw - e.limitKw) <= 0.001 + 1e-9, 'within a step of the exact share');
            if (e.limitKw === 0) assert.equal(a.limitKw, 0, 'nothing for a node the allocation left out');
            sum += steps(a.limitKw);
          }
          assert.ok(sum <= steps(floorToResolution(cap)), 'Σ ≤ ⌊C⌋');
          assert.equal(sum, steps(r.totalKw));
          // Nothing stranded by rounding: Σ is what the exact allocation used, at the resolution.
          const demand = nodes.reduce((s, n) => s + steps(floorToResolution(n.maxPowerKw)), 0);
          if (Math.abs(exact.totalKw - cap) < 1e-6)
            assert.equal(sum, Math.min(steps(floorToResolution(cap)), demand));
          else assert.equal(sum, demand);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the step left by rounding goes to the critical class first, then by nodeId', () => {
    const r = allocate(
      100,
      [
        { nodeId: 'a', maxPowerKw: 100, soc: 50, critical: false },
        { nodeId: 'b', maxPowerKw: 100, soc: 50, critical: false },
        { nodeId: 'c', maxPowerKw: 100, soc: 50, critical: false },
      ],
      { policy: 'equal', reserve: 0, resolutionKw: WIRE_RESOLUTION_KW },
    );
    assert.deepEqual(
      r.allocations.map((a) => a.limitKw),
      [33.334, 33.333, 33.333],
    );
    assert.equal(r.totalKw, 100);
  });
});
