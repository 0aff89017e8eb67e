// Hub load aggregation (pure) for the hub_load time series.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HubLoadTracker, type AnyChange, type NodeTelemetryChange } from '../../adapters/influx';

function tel(hubId: string, nodeId: string, powerKw: number, ts: number): NodeTelemetryChange {
  return {
    type: 'node-telemetry',
    ts,
    hubId,
    nodeId,
    powerKw,
    powerLimitKw: 50,
    voltage: 400,
    current: 10,
    isOccupied: powerKw > 0,
    vehicleId: null,
    soc: null,
  };
}
const caps: Record<string, number> = { h1: 100, h2: 40 };
const capacityOf = (h: string): number | undefined => caps[h];

describe('adapters/influx: HubLoadTracker', () => {
  it('sums the latest power of each node of a hub against its capacity', () => {
    const t = new HubLoadTracker();
    const out = t.update(
      [tel('h1', 'a', 20, 1000), tel('h1', 'b', 30, 1001), tel('h2', 'a', 10, 1002)],
      capacityOf,
      5000,
    );
    assert.deepEqual(out, [
      { hubId: 'h1', ts: 1001, loadKw: 50, capacityKw: 100, utilisation: 0.5, nodes: 2 },
      { hubId: 'h2', ts: 1002, loadKw: 10, capacityKw: 40, utilisation: 0.25, nodes: 1 },
    ]);
    // a node's new reading replaces its old one; it is not added to it
    const later = t.update([tel('h1', 'a', 25, 3000)], capacityOf, 6000);
    assert.deepEqual(later, [
      { hubId: 'h1', ts: 3000, loadKw: 55, capacityKw: 100, utilisation: 0.55, nodes: 2 },
    ]);
  });

  it('emits at most once per interval per hub; the held-back change comes out through due()', () => {
    const t = new HubLoadTracker({ minIntervalMs: 1000 });
    assert.equal(t.update([tel('h1', 'a', 10, 1)], capacityOf, 10_000).length, 1);
    assert.deepEqual(t.update([tel('h1', 'a', 11, 2)], capacityOf, 10_400), []);
    assert.deepEqual(t.update([tel('h1', 'b', 5, 3)], capacityOf, 10_900), []);
    // other hubs are not held back by h1
    assert.equal(t.update([tel('h2', 'a', 1, 4)], capacityOf, 10_950).length, 1);
    assert.deepEqual(t.due(capacityOf, 10_999), []);
    const d = t.due(capacityOf, 11_000);
    assert.equal(d.length, 1);
    assert.equal(d[0]?.hubId, 'h1');
    assert.equal(d[0]?.loadKw, 16);
    // nothing new: nothing due
    assert.deepEqual(t.due(capacityOf, 20_000), []);
  });

  it('ignores other change types, out-of-order readings and non-finite power', () => {
    const t = new HubLoadTracker({ minIntervalMs: 0 });
    const other = {
      type: 'hub-state',
      ts: 1,
      hubId: 'h1',
      state: 'online',
      previousState: 'unknown',
      stale: false,
      previousStale: false,
      available: true,
      previousAvailable: false,
      cpuTempC: 40,
    } as AnyChange;
    assert.deepEqual(t.update([other], capacityOf, 0), []);
    t.update([tel('h1', 'a', 10, 500)], capacityOf, 1);
    assert.deepEqual(t.update([tel('h1', 'a', 99, 400)], capacityOf, 2), []);
    assert.deepEqual(t.update([tel('h1', 'a', Number.NaN, 600)], capacityOf, 3), []);
    assert.equal(t.peek('h1', capacityOf, 4)?.loadKw, 10);
  });

  it('unknown or zero capacity: load only, no utilisation', () => {
    const t = new HubLoadTracker();
    const [s] = t.update([tel('nocap', 'a', 7, 1)], capacityOf, 0);
    assert.deepEqual(s, { hubId: 'nocap', ts: 1, loadKw: 7, capacityKw: null, utilisation: null, nodes: 1 });
    const [z] = new HubLoadTracker().update([tel('z', 'a', 7, 1)], () => 0, 0);
    assert.equal(z?.capacityKw, 0);
    assert.equal(z?.utilisation, null);
    const [thrown] = new HubLoadTracker().update(
      [tel('x', 'a', 7, 1)],
      () => {
        throw new Error('boom');
      },
      0,
    );
    assert.equal(thrown?.capacityKw, null);
  });

  it('a node silent for longer than the expiry no longer counts', () => {
    const t = new HubLoadTracker({ minIntervalMs: 0, nodeExpiryMs: 10_000 });
    t.update([tel('h1', 'a', 10, 1), tel('h1', 'b', 20, 1)], capacityOf, 0);
    const [s] = t.update([tel('h1', 'b', 20, 2)], capacityOf, 15_000);
    assert.equal(s?.loadKw, 20);
    assert.equal(s?.nodes, 1);
  });

  it('property: the sample is the sum of each node’s newest reading, whatever the order of arrival', () => {
    const reading = fc.record({
      node: fc.constantFrom('a', 'b', 'c', 'd'),
      power: fc.integer({ min: 0, max: 350 }),
      ts: fc.integer({ min: 0, max: 1000 }),
    });
    fc.assert(
      fc.property(fc.array(reading, { minLength: 1, maxLength: 40 }), (rs) => {
        const t = new HubLoadTracker({ minIntervalMs: 0 });
        for (const r of rs) t.update([tel('h1', r.node, r.power, r.ts)], capacityOf, 0);
        // expected: per node, the first reading with the greatest ts
        const newest = new Map<string, { power: number; ts: number }>();
        for (const r of rs) {
          const p = newest.get(r.node);
          if (!p || r.ts >= p.ts) newest.set(r.node, { power: r.power, ts: r.ts });
        }
        const sum = [...newest.values()].reduce((s, x) => s + x.power, 0);
        const s = t.peek('h1', capacityOf, 0);
        assert.equal(s?.loadKw, sum);
        assert.equal(s?.nodes, newest.size);
        assert.equal(s?.ts, Math.max(...rs.map((r) => r.ts)));
      }),
    );
  });
});
