import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { DlmScheduler, TRIGGER_PRIORITY } from '../../core/dlm';
import type { TriggerReason } from '../../core/dlm';

describe('core/dlm DlmScheduler', () => {
  it('answers a lone trigger at once, and coalesces a burst into one more allocation after the window', () => {
    const s = new DlmScheduler({ coalesceMs: 50 });
    assert.equal(s.nextWakeMs(), null);
    s.trigger('hub_01', 'VEHICLE_CONNECTED', 1000);
    assert.equal(s.nextWakeMs(), 1000, 'leading edge: no wait for a lone request');
    assert.deepEqual(s.due(1000), [
      { hubId: 'hub_01', reason: 'VEHICLE_CONNECTED', reasons: ['VEHICLE_CONNECTED'] },
    ]);
    // The burst that follows waits for the window of that allocation and is served once.
    s.trigger('hub_01', 'CHARGING_COMPLETE', 1010);
    s.trigger('hub_01', 'NODE_FAULT', 1020);
    s.trigger('hub_01', 'REBALANCE', 1040);
    assert.equal(s.nextWakeMs(), 1050, 'the window is not extended by later triggers');
    assert.deepEqual(s.due(1049), []);
    assert.deepEqual(s.due(1050), [
      { hubId: 'hub_01', reason: 'NODE_FAULT', reasons: ['NODE_FAULT', 'CHARGING_COMPLETE', 'REBALANCE'] },
    ]);
    assert.deepEqual(s.due(2000), []);
    assert.equal(s.nextWakeMs(), null);
    // Quiet for longer than the window: at once again.
    s.trigger('hub_01', 'VEHICLE_DISCONNECTED', 3000);
    assert.equal(s.nextWakeMs(), 3000);
  });

  it('GRID_OVERLOAD is due at once, also inside an open window', () => {
    const s = new DlmScheduler();
    s.trigger('h', 'VEHICLE_CONNECTED', 0);
    assert.equal(s.due(0).length, 1);
    s.trigger('h', 'VEHICLE_DISCONNECTED', 5);
    assert.equal(s.nextWakeMs(), 50);
    s.trigger('h', 'GRID_OVERLOAD', 10);
    assert.equal(s.nextWakeMs(), 10);
    assert.deepEqual(s.due(10), [
      { hubId: 'h', reason: 'GRID_OVERLOAD', reasons: ['GRID_OVERLOAD', 'VEHICLE_DISCONNECTED'] },
    ]);
  });

  it('hubs are independent and returned sorted by hubId', () => {
    const s = new DlmScheduler({ coalesceMs: 50 });
    s.trigger('b', 'VEHICLE_CONNECTED', 0);
    assert.deepEqual(
      s.due(0).map((d) => d.hubId),
      ['b'],
    );
    s.trigger('b', 'PRIORITY_SHIFT', 20);
    s.trigger('a', 'CHARGING_COMPLETE', 30);
    assert.equal(s.nextWakeMs(), 30, 'a has its own window');
    assert.deepEqual(
      s.due(30).map((d) => d.hubId),
      ['a'],
    );
    assert.equal(s.nextWakeMs(), 50);
    assert.deepEqual(s.due(50), [{ hubId: 'b', reason: 'PRIORITY_SHIFT', reasons: ['PRIORITY_SHIFT'] }]);
    s.trigger('z', 'RESYNC', 200);
    s.trigger('c', 'RESYNC', 200);
    assert.deepEqual(
      s.due(200).map((d) => d.hubId),
      ['c', 'z'],
    );
  });

  it('tracked hubs get a periodic REBALANCE, counted from their last allocation', () => {
    const s = new DlmScheduler({ rebalanceS: 5, coalesceMs: 50 });
    s.track('h', 0);
    assert.ok(s.isTracked('h'));
    assert.equal(s.nextWakeMs(), 5000);
    assert.deepEqual(s.due(4999), []);
    assert.deepEqual(s.due(5000), [{ hubId: 'h', reason: 'REBALANCE', reasons: ['REBALANCE'] }]);
    assert.equal(s.nextWakeMs(), 10000);
    // A trigger in between resets the period.
    s.trigger('h', 'VEHICLE_CONNECTED', 7000);
    assert.equal(s.nextWakeMs(), 7000);
    assert.deepEqual(
      s.due(7000).map((d) => d.reason),
      ['VEHICLE_CONNECTED'],
    );
    assert.equal(s.nextWakeMs(), 12000);
    // Late wake-up: one REBALANCE, not a burst.
    assert.equal(s.due(30000).length, 1);
    assert.equal(s.nextWakeMs(), 35000);
    s.untrack('h');
    assert.equal(s.nextWakeMs(), null);
    assert.deepEqual(s.due(99999), []);
  });

  it('untrack with dropPending forgets triggers not yet due', () => {
    const s = new DlmScheduler();
    s.track('h', 0);
    s.trigger('h', 'NODE_MAINTENANCE', 0);
    s.untrack('h', true);
    assert.equal(s.nextWakeMs(), null);
    assert.deepEqual(s.due(1000), []);
  });

  it('reason order: overload, an inactive hub, fault and capacity before vehicle events; RESYNC and REBALANCE last', () => {
    assert.equal(TRIGGER_PRIORITY[0], 'GRID_OVERLOAD');
    assert.equal(TRIGGER_PRIORITY[1], 'HUB_INACTIVE');
    assert.equal(TRIGGER_PRIORITY[TRIGGER_PRIORITY.length - 1], 'REBALANCE');
    assert.equal(new Set(TRIGGER_PRIORITY).size, 11);
    assert.ok(TRIGGER_PRIORITY.indexOf('CAPACITY_CHANGED') < TRIGGER_PRIORITY.indexOf('VEHICLE_CONNECTED'));
  });

  it('property: every trigger is served exactly once, at most one allocation per hub per window (overload apart), by the wake time', () => {
    const reasonArb = fc.constantFrom<TriggerReason>(...TRIGGER_PRIORITY);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), reasonArb, fc.integer({ min: 0, max: 200 })), {
          maxLength: 40,
        }),
        (events) => {
          const s = new DlmScheduler({ coalesceMs: 50 });
          let now = 0;
          const open = new Map<string, Array<{ reason: TriggerReason; at: number }>>();
          const lastRun = new Map<string, number>();
          const serve = (t: number) => {
            for (const d of s.due(t)) {
              const pend = open.get(d.hubId);
              assert.ok(pend && pend.length > 0, 'allocation without a trigger');
              const best = [...pend].sort(
                (x, y) => TRIGGER_PRIORITY.indexOf(x.reason) - TRIGGER_PRIORITY.indexOf(y.reason),
              )[0] as { reason: TriggerReason };
              assert.equal(d.reason, best.reason);
              assert.deepEqual(new Set(d.reasons), new Set(pend.map((p) => p.reason)));
              const first = Math.min(...pend.map((p) => p.at));
              assert.ok(t >= first, 'served before it was triggered');
              const overload = pend.some((p) => p.reason === 'GRID_OVERLOAD');
              const last = lastRun.get(d.hubId);
              assert.ok(
                overload || last === undefined || t >= last + 50,
                'two allocations within one window',
              );
              // Never later than needed: at the trigger, or when the last window closes.
              assert.ok(t <= Math.max(first, (last ?? -Infinity) + 50), 'served late');
              lastRun.set(d.hubId, t);
              open.delete(d.hubId);
            }
          };
          for (const [hub, reason, dt] of events) {
            // Wake exactly when asked, as the node's timer would.
            let wake = s.nextWakeMs();
            while (wake !== null && wake <= now + dt) {
              serve(wake);
              wake = s.nextWakeMs();
            }
            now += dt;
            s.trigger(hub, reason, now);
            const list = open.get(hub) ?? [];
            list.push({ reason, at: now });
            open.set(hub, list);
          }
          let wake = s.nextWakeMs();
          while (wake !== null) {
            serve(wake);
            wake = s.nextWakeMs();
          }
          assert.equal(open.size, 0, 'a trigger was never served');
        },
      ),
      { numRuns: 300 },
    );
  });
});
