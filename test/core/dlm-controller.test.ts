import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { allocate, HubLimitController } from '../../core/dlm';
import type { AllocInput, AllocResult, DlmCommand, Policy } from '../../core/dlm';

const EPS = 1e-9;

/** A target allocation with the given limits (normal class, weight 1). */
function target(limits: Record<string, number>, capacityKw = 1000): AllocResult {
  const allocations = Object.keys(limits)
    .sort()
    .map((nodeId) => ({
      nodeId,
      limitKw: limits[nodeId] as number,
      cls: 'normal' as const,
      weight: 1,
      deferred: false,
    }));
  return { capacityKw, totalKw: allocations.reduce((s, a) => s + a.limitKw, 0), allocations };
}

function brief(cmds: DlmCommand[]): Array<[string, number, number]> {
  return cmds.map((c) => [c.nodeId, c.originalLimitKw, c.newLimitKw]);
}

function sum(m: Map<string, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}

describe('core/dlm HubLimitController', () => {
  it('never counts less than the hub reports: a decrease within the confirmation tolerance stays in force', () => {
    // Found by the property below: a limit of 1e-9 kW decreased to 0, and the hub still
    // reporting 1e-9 (within the 0.01 kW tolerance of the new limit) must not count as 0.
    const c = new HubLimitController('h', { capacityKw: 50 });
    c.apply(target({ n5: 1e-9 }, 50), 'VEHICLE_CONNECTED', 0);
    c.confirm('n5', 1e-9, 10);
    c.apply(target({ n5: 0 }, 50), 'VEHICLE_DISCONNECTED', 20);
    c.confirm('n5', 1e-9, 30); // the hub has not applied the decrease yet
    assert.ok((c.inForce().get('n5') ?? 0) >= 1e-9);
    c.confirm('n5', 0, 40);
    assert.equal(c.inForce().get('n5'), 0);
  });

  it('first allocation: increases published at once, with totals and available capacity', () => {
    const c = new HubLimitController('hub_01', { capacityKw: 140 });
    const cmds = c.apply(target({ node_01: 78, node_02: 62 }), 'VEHICLE_CONNECTED', 1000);
    assert.deepEqual(brief(cmds), [
      ['node_01', 0, 78],
      ['node_02', 0, 62],
    ]);
    assert.deepEqual(
      cmds.map((x) => [x.totalGridLoadKw, x.availableCapacityKw]),
      [
        [78, 62],
        [140, 0],
      ],
    );
    assert.ok(cmds.every((x) => x.hubId === 'hub_01' && x.reason === 'VEHICLE_CONNECTED' && x.ts === 1000));
    assert.equal(new Set(cmds.map((x) => x.allocationId)).size, 1);
    assert.deepEqual(
      [...c.inForce()],
      [
        ['node_01', 78],
        ['node_02', 62],
      ],
    );
  });

  it('break before make: an increase waits until the hub confirms the decrease', () => {
    const c = new HubLimitController('h', { capacityKw: 140 });
    c.apply(target({ a: 70, b: 70 }), 'VEHICLE_CONNECTED', 0);
    const cmds = c.apply(target({ a: 78, b: 62 }), 'PRIORITY_SHIFT', 100);
    assert.deepEqual(brief(cmds), [['b', 70, 62]]);
    assert.equal(cmds[0]?.totalGridLoadKw, 140, 'b still counts at its old 70 kW');
    assert.deepEqual([...c.pendingIncreases()], [['a', 78]]);
    // Telemetry still showing the old limit confirms nothing.
    assert.deepEqual(c.confirm('b', 70, 200), []);
    assert.equal(c.inForce().get('b'), 70);
    const later = c.confirm('b', 62, 300);
    assert.deepEqual(brief(later), [['a', 70, 78]]);
    assert.equal(later[0]?.reason, 'PRIORITY_SHIFT');
    assert.equal(later[0]?.allocationId, cmds[0]?.allocationId);
    assert.equal(later[0]?.ts, 300);
    assert.equal(later[0]?.totalGridLoadKw, 140);
    assert.equal(c.pendingIncreases().size, 0);
  });

  it('a decrease counts as applied after confirmTimeoutS without confirmation', () => {
    const c = new HubLimitController('h', { capacityKw: 100, confirmTimeoutS: 10 });
    c.apply(target({ a: 60, b: 40 }), 'REBALANCE', 0);
    assert.deepEqual(brief(c.apply(target({ a: 30, b: 70 }), 'REBALANCE', 1000)), [['a', 60, 30]]);
    assert.equal(c.nextDeadlineMs(), 11000);
    assert.deepEqual(c.tick(10999), []);
    assert.deepEqual(brief(c.tick(11000)), [['b', 40, 70]]);
    assert.equal(c.nextDeadlineMs(), null);
    assert.equal(sum(c.inForce()), 100);
  });

  it('a stale report of an older, lower limit does not confirm a later decrease', () => {
    const c = new HubLimitController('h', { capacityKw: 100 });
    c.apply(target({ a: 10, b: 90 }), 'REBALANCE', 0);
    c.confirm('a', 10, 1);
    c.apply(target({ a: 50, b: 50 }), 'REBALANCE', 2); // b 90→50 now, a waits
    c.confirm('b', 50, 3); // a 10→50 published
    assert.deepEqual(brief(c.apply(target({ a: 40, b: 60 }), 'REBALANCE', 4)), [['a', 50, 40]]);
    // The hub has not applied a's 50 yet and still reports 10: it may still go to 50.
    c.confirm('a', 10, 5);
    assert.equal(c.inForce().get('a'), 50);
    assert.deepEqual(c.pendingIncreases(), new Map([['b', 60]]));
    // Now it reports 50 (applied the increase, not the decrease yet): still 50.
    c.confirm('a', 50, 6);
    assert.equal(c.inForce().get('a'), 50);
    assert.deepEqual(brief(c.confirm('a', 40, 7)), [['b', 50, 60]]);
  });

  it('hysteresis: small changes are held while Σ in force ≤ C; changes to or from 0 never', () => {
    const c = new HubLimitController('h', { capacityKw: 100, minChangeKw: 0.5 });
    c.apply(target({ a: 50, b: 40 }), 'REBALANCE', 0);
    assert.deepEqual(c.apply(target({ a: 50.3, b: 39.8 }), 'REBALANCE', 10), []);
    assert.deepEqual(brief(c.apply(target({ a: 50.3, b: 0 }), 'REBALANCE', 20)), [['b', 40, 0]]);
    assert.deepEqual(brief(c.apply(target({ a: 50.3, b: 0.2 }), 'REBALANCE', 30)), [['b', 0, 0.2]]);
    assert.deepEqual(brief(c.apply(target({ a: 51, b: 0.2 }), 'REBALANCE', 40)), [['a', 50, 51]]);
  });

  it('hysteresis: a small decrease is sent when an increase needs the capacity it frees', () => {
    const c = new HubLimitController('h', { capacityKw: 100, minChangeKw: 0.5 });
    c.apply(target({ a: 50, b: 50 }), 'REBALANCE', 0);
    const cmds = c.apply(target({ a: 49.7, b: 50, n: 0.3 }), 'VEHICLE_CONNECTED', 10);
    assert.deepEqual(brief(cmds), [['a', 50, 49.7]]);
    assert.deepEqual(brief(c.confirm('a', 49.7, 20)), [['n', 0, 0.3]]);
  });

  it('capacity drop: only decreases are sent, Σ in force never grows while above C', () => {
    const c = new HubLimitController('h', { capacityKw: 150, minChangeKw: 0.5 });
    c.apply(target({ a: 75, b: 75 }), 'REBALANCE', 0);
    c.setCapacity(100);
    assert.equal(c.capacityKw, 100);
    // Over C: even small decreases are not held back; the increase of c waits.
    const cmds = c.apply(target({ a: 74.8, b: 25, c: 0.2 }), 'CAPACITY_CHANGED', 10);
    assert.deepEqual(brief(cmds), [
      ['a', 75, 74.8],
      ['b', 75, 25],
    ]);
    assert.ok(cmds.every((x) => x.totalGridLoadKw === 150 && x.availableCapacityKw === 0));
    assert.deepEqual(c.confirm('a', 74.8, 20), []);
    assert.equal(sum(c.inForce()), 149.8);
    assert.deepEqual(brief(c.confirm('b', 25, 30)), [['c', 0, 0.2]]);
    assert.ok(sum(c.inForce()) <= 100 + EPS);
  });

  it('measured overload (ctx.gridLoadKw > C) disables the hold on small decreases', () => {
    const c = new HubLimitController('h', { capacityKw: 100 });
    c.apply(target({ a: 50, b: 50 }), 'REBALANCE', 0);
    assert.deepEqual(c.apply(target({ a: 49.8, b: 50 }), 'REBALANCE', 10, { gridLoadKw: 99 }), []);
    const cmds = c.apply(target({ a: 49.8, b: 50 }), 'GRID_OVERLOAD', 20, { gridLoadKw: 104 });
    assert.deepEqual(brief(cmds), [['a', 50, 49.8]]);
    assert.equal(cmds[0]?.reason, 'GRID_OVERLOAD');
  });

  it('nodes missing from the target go to 0', () => {
    const c = new HubLimitController('h', { capacityKw: 100 });
    c.apply(target({ a: 50, b: 50 }), 'REBALANCE', 0);
    assert.deepEqual(brief(c.apply(target({ a: 50 }), 'VEHICLE_DISCONNECTED', 10)), [['b', 50, 0]]);
  });

  it('increases are released critical first, then by weight', () => {
    const c = new HubLimitController('h', { capacityKw: 100 });
    c.apply(target({ x: 100 }), 'REBALANCE', 0);
    const t: AllocResult = {
      capacityKw: 100,
      totalKw: 100,
      allocations: [
        { nodeId: 'a', limitKw: 40, cls: 'normal', weight: 90, deferred: false },
        { nodeId: 'b', limitKw: 40, cls: 'critical', weight: 10, deferred: false },
        { nodeId: 'x', limitKw: 20, cls: 'normal', weight: 1, deferred: false },
      ],
    };
    assert.deepEqual(brief(c.apply(t, 'VEHICLE_CONNECTED', 10)), [['x', 100, 20]]);
    assert.deepEqual(brief(c.confirm('x', 20, 20)), [
      ['b', 0, 40],
      ['a', 0, 40],
    ]);
  });

  it('resync re-sends every published limit with original == new; restore seeds the state', () => {
    const c = new HubLimitController('h', { capacityKw: 100 });
    c.restore(
      new Map([
        ['b', 30],
        ['a', 60],
      ]),
    );
    assert.deepEqual(
      [...c.inForce()],
      [
        ['a', 60],
        ['b', 30],
      ],
    );
    const cmds = c.resync(5000);
    assert.deepEqual(brief(cmds), [
      ['a', 60, 60],
      ['b', 30, 30],
    ]);
    assert.ok(
      cmds.every((x) => x.reason === 'RESYNC' && x.totalGridLoadKw === 90 && x.availableCapacityKw === 10),
    );
    // Resync changes nothing: the next allocation starts from the restored limits.
    assert.deepEqual(brief(c.apply(target({ a: 50, b: 50 }), 'REBALANCE', 6000)), [['a', 60, 50]]);
  });

  // ---- property: a simulated hub applying our commands in order, late ----
  type Op =
    | {
        k: 'alloc';
        nodes: Array<{ id: number; max: number; soc: number | null; critical: boolean }>;
        policy: Policy;
      }
    | { k: 'deliver'; n: number }
    | { k: 'report'; id: number }
    | { k: 'advance'; ms: number }
    | { k: 'capacity'; kw: number }
    | { k: 'resync' };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      k: fc.constant('alloc' as const),
      nodes: fc.uniqueArray(
        fc.record({
          id: fc.integer({ min: 0, max: 5 }),
          max: fc.oneof(fc.double({ min: 0, max: 120, noNaN: true }), fc.constantFrom(0, 22, 50, 78)),
          soc: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
          critical: fc.boolean(),
        }),
        { selector: (n) => n.id, maxLength: 6 },
      ),
      policy: fc.constantFrom<Policy>('equal', 'soc-priority'),
    }),
    fc.record({ k: fc.constant('deliver' as const), n: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ k: fc.constant('report' as const), id: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 6000 }) }),
    fc.record({
      k: fc.constant('capacity' as const),
      kw: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(140)),
    }),
    fc.constant({ k: 'resync' as const }),
  );

  it('property: Σ in force ≤ C after every command (only decreases while above C); the real hub never exceeds it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 300 }),
        fc.constantFrom(0, 0.5, 2),
        fc.array(opArb, { maxLength: 60 }),
        (cap0, minChangeKw, ops) => {
          const timeoutS = 10;
          const c = new HubLimitController('h', { capacityKw: cap0, minChangeKw, confirmTimeoutS: timeoutS });
          const hub = new Map<string, number>(); // what the hub applies
          const queue: Array<{ cmd: DlmCommand; at: number }> = []; // published, not yet applied
          let now = 0;
          let hubOk = true; // the real hub is at most at C (until C drops)

          const check = (cmds: DlmCommand[], before: number) => {
            let prev = before;
            for (const cmd of cmds) {
              const total = cmd.totalGridLoadKw;
              if (prev > c.capacityKw + EPS) {
                // Above C: nothing but decreases, and the sum never grows.
                assert.ok(
                  cmd.newLimitKw <= cmd.originalLimitKw || cmd.reason === 'RESYNC',
                  'increase while above C',
                );
                assert.ok(total <= prev + EPS, 'Σ in force grew while above C');
              } else {
                assert.ok(total <= c.capacityKw + EPS, `Σ in force ${total} > C ${c.capacityKw}`);
              }
              assert.equal(cmd.availableCapacityKw, Math.max(0, c.capacityKw - total));
              prev = total;
              queue.push({ cmd, at: now });
            }
          };
          const hubTotal = () => sum(hub);
          const applyOne = () => {
            const q = queue.shift();
            if (!q) return;
            hub.set(q.cmd.nodeId, q.cmd.newLimitKw);
            // Pessimism holds: the hub is never above what the controller counts.
            for (const [id, v] of hub)
              assert.ok(v <= (c.inForce().get(id) ?? 0) + EPS, `hub ${id} above in force`);
            if (hubOk)
              assert.ok(hubTotal() <= c.capacityKw + EPS, `hub at ${hubTotal()} > C ${c.capacityKw}`);
          };

          for (const op of ops) {
            const before = c.totalInForceKw();
            switch (op.k) {
              case 'alloc': {
                const nodes: AllocInput[] = op.nodes.map((n) => ({
                  nodeId: `n${n.id}`,
                  maxPowerKw: n.max,
                  soc: n.soc,
                  critical: n.critical,
                }));
                const t = allocate(c.capacityKw, nodes, { policy: op.policy, reserve: 0 });
                check(c.apply(t, 'REBALANCE', now), before);
                break;
              }
              case 'deliver':
                for (let i = 0; i < op.n; i++) applyOne();
                break;
              case 'report': {
                const id = `n${op.id}`;
                check(c.confirm(id, hub.get(id) ?? 0, now), before);
                break;
              }
              case 'advance':
                now += op.ms;
                // The hub's contract: it applies every message within the confirm timeout.
                while (queue.length > 0 && (queue[0] as { at: number }).at <= now - timeoutS * 1000)
                  applyOne();
                check(c.tick(now), before);
                break;
              case 'capacity':
                c.setCapacity(op.kw);
                if (c.totalInForceKw() > op.kw + EPS) hubOk = false;
                break;
              case 'resync':
                check(c.resync(now), before);
                break;
            }
            if (!hubOk && c.totalInForceKw() <= c.capacityKw + EPS && hubTotal() <= c.capacityKw + EPS)
              hubOk = true;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
