// HubLimitController after a restart (restart.ts): stored limits are only a hint; each node
// counts at max(stored, its max power) until the hub's reports settle it; a send never goes
// above what the hub reported for the node since the restore; no increase before the hub has
// shown that it applied everything sent before the restart (or reported a delivery window).
import { strict as assert } from 'node:assert';
import { HubLimitController } from '../../core/dlm';
import type { AllocResult, DlmCommand } from '../../core/dlm';

function target(limits: Record<string, number>): AllocResult {
  const allocations = Object.keys(limits)
    .sort()
    .map((nodeId) => ({
      nodeId,
      limitKw: limits[nodeId] as number,
      cls: 'normal' as const,
      weight: 1,
      deferred: false,
    }));
  return { capacityKw: 1000, totalKw: allocations.reduce((s, a) => s + a.limitKw, 0), allocations };
}

const brief = (cmds: DlmCommand[]) => cmds.map((c) => [c.nodeId, c.originalLimitKw, c.newLimitKw, c.reason]);

function restored(capacityKw: number, hints: Record<string, number>, maxKw: Record<string, number>) {
  const c = new HubLimitController('h', { capacityKw });
  c.restore(new Map(Object.entries(hints)), 0, new Map(Object.entries(maxKw)));
  assert.deepEqual(c.resync(0), [], 'nothing stored is re-sent');
  return c;
}

describe('core/dlm HubLimitController — restart', () => {
  it('a stored limit above what the hub has: never re-sent; the report is adopted; an increase waits a delivery window of reports when nothing can show the drain', () => {
    const c = restored(100, { a: 50 }, { a: 50, b: 50 });
    assert.equal(c.totalInForceKw(), 100);
    // a's decrease to 20 could raise the hub (it may be below 20): it waits for a's report,
    // also past the first re-send period.
    assert.deepEqual(c.apply(target({ a: 20, b: 0 }), 'REBALANCE', 10), []);
    assert.equal(c.nextDeadlineMs(), 5000);
    assert.deepEqual(c.tick(5000), []);
    assert.equal(c.nextDeadlineMs(), null);
    // The hub has a at 0: adopted and re-sent as it is; the increase to 20 waits.
    assert.deepEqual(brief(c.confirm('a', 0, 6000)), [['a', 0, 0, 'RESYNC']]);
    assert.deepEqual(brief(c.confirm('b', 0, 6100)), [['b', 0, 0, 'RESYNC']]);
    assert.equal(c.held(), 'restart');
    assert.deepEqual([...c.pendingIncreases()], [['a', 20]]);
    // Every node at 0: no probe can show the drain. Reports a delivery window (30 s) after the
    // restore settle the nodes; then the increase goes.
    assert.deepEqual(c.confirm('a', 0, 29_000), []);
    assert.deepEqual(c.confirm('a', 0, 30_001), []);
    assert.deepEqual(brief(c.confirm('b', 0, 30_002)), [['a', 0, 20, 'REBALANCE']]);
    assert.equal(c.held(), null);
  });

  it('a stored limit below what the hub has: the report is adopted, the decrease goes at once and its report shows the drain', () => {
    const c = restored(60, { b: 30 }, { a: 50, b: 50 });
    assert.deepEqual(c.apply(target({ a: 30, b: 30 }), 'REBALANCE', 10), []);
    assert.deepEqual(brief(c.confirm('a', 50, 1000)), [['a', 50, 30, 'REBALANCE']]);
    assert.deepEqual(brief(c.confirm('b', 30, 1100)), [['b', 30, 30, 'RESYNC']]);
    assert.equal(c.held(), 'restart');
    assert.equal(c.totalInForceKw(), 100);
    // a at 30: the hub applied our decrease, so everything sent before it: a settles, b at its
    // next report.
    assert.deepEqual(c.confirm('a', 30, 1200), []);
    assert.deepEqual(c.unsettled(), { sinceMs: 0, nodes: ['b'] });
    assert.deepEqual(c.confirm('b', 30, 1300), []);
    assert.equal(c.held(), null);
    assert.equal(c.totalInForceKw(), 60);
  });

  it('reports that all match what the hub had, an increase waiting: one node lowered by minChangeKw shows the drain, then raised back', () => {
    const c = restored(60, { a: 40 }, { a: 50, b: 50 });
    assert.deepEqual(c.apply(target({ a: 40, b: 20 }), 'VEHICLE_CONNECTED', 10), []);
    assert.deepEqual(brief(c.confirm('a', 40, 1000)), [['a', 40, 40, 'RESYNC']]);
    assert.deepEqual(brief(c.confirm('b', 0, 1100)), [
      ['b', 0, 0, 'RESYNC'],
      ['a', 40, 39.5, 'RESYNC'],
    ]);
    assert.deepEqual(c.confirm('a', 39.5, 1200), []);
    assert.deepEqual(brief(c.confirm('b', 0, 1300)), [
      ['a', 39.5, 40, 'VEHICLE_CONNECTED'],
      ['b', 0, 20, 'VEHICLE_CONNECTED'],
    ]);
    assert.equal(c.held(), null);
  });
});
