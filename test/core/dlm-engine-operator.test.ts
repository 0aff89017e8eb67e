// The engine's inputs beyond hub messages: operators' overrides (capacity window, hub
// active, node max power, maintenance), our broker connection going down and up, and hubs
// whose capacity is not known yet.
import { strict as assert } from 'node:assert';
import { DlmEngine } from '../../core/dlm';
import type { DlmCommand } from '../../core/dlm';
import { Twin } from '../../core/twin';
import { Harness, brief } from './dlm-harness';

const sum = (m: Map<string, number> | undefined): number =>
  [...(m?.values() ?? [])].reduce((a, b) => a + b, 0);

/** A hub of two charging nodes, its limits confirmed; the hub echoes every limit 5 ms later. */
function charging(capacityKw = 100, maxKw = 80): Harness {
  const h = new Harness();
  h.autoEchoMs = 5;
  h.hub('hub_01', capacityKw, { node_01: maxKw, node_02: maxKw });
  h.node('hub_01', 'node_01', 'charging', 'v1');
  h.node('hub_01', 'node_02', 'charging', 'v2');
  h.settle();
  h.keepAlive('hub_01');
  return h;
}

describe('core/dlm DlmEngine — operators, broker connection, missing hub info', () => {
  it('capacity override: C = min(reported, override) while the window is open, CAPACITY_CHANGED at both edges', () => {
    const h = charging();
    const from = h.now + 60_000;
    const until = from + 60_000;
    h.setHub('hub_01', { capacityOverride: { kw: 40, fromMs: from, untilMs: until } });
    assert.deepEqual(h.settle(), [], 'not yet in force');
    assert.equal(h.engine.capacityOf(h.view.hub('hub_01'), h.now), 100);
    assert.equal(h.engine.nextWakeMs() !== null && h.engine.nextWakeMs()! <= from, true, 'wakes at the edge');
    const opened = h.advance(from - h.now);
    assert.deepEqual(brief(opened), [
      ['node_01', 50, 20, 'CAPACITY_CHANGED'],
      ['node_02', 50, 20, 'CAPACITY_CHANGED'],
    ]);
    assert.equal(opened[0]?.ts, from, 'at the edge itself');
    assert.ok(sum(h.atHub.get('hub_01')) <= 40);
    const closed = h.advance(until - h.now + 10);
    assert.deepEqual(brief(closed), [
      ['node_01', 20, 50, 'CAPACITY_CHANGED'],
      ['node_02', 20, 50, 'CAPACITY_CHANGED'],
    ]);
    assert.equal(closed[0]?.ts, until);
  });

  it('capacity override never above what the hub reports; a hub-reported drop wins over a higher override', () => {
    const h = charging();
    h.setHub('hub_01', { capacityOverride: { kw: 500, fromMs: null, untilMs: null } });
    assert.deepEqual(h.settle(), []);
    assert.equal(h.engine.capacityOf(h.view.hub('hub_01'), h.now), 100);
    h.info('hub_01', 60);
    assert.deepEqual(
      brief(h.settle()).map((c) => c[2]),
      [30, 30],
    );
    h.setHub('hub_01', { capacityOverride: { kw: 20, fromMs: null, untilMs: null } });
    assert.deepEqual(
      brief(h.settle()).map((c) => [c[2], c[3]]),
      [
        [10, 'CAPACITY_CHANGED'],
        [10, 'CAPACITY_CHANGED'],
      ],
    );
    h.setHub('hub_01', { capacityOverride: null });
    assert.deepEqual(
      brief(h.settle()).map((c) => c[2]),
      [30, 30],
    );
  });

  it('a hub switched off: every node to 0 (HUB_INACTIVE), nothing while off; back on: CAPACITY_CHANGED', () => {
    const h = charging();
    h.setHub('hub_01', { active: false });
    assert.deepEqual(brief(h.settle()), [
      ['node_01', 50, 0, 'HUB_INACTIVE'],
      ['node_02', 50, 0, 'HUB_INACTIVE'],
    ]);
    assert.equal(h.engine.capacityOf(h.view.hub('hub_01'), h.now), 0);
    h.request('hub_01', 'node_02', 'v3', 10);
    h.node('hub_01', 'node_01', 'idle');
    h.node('hub_01', 'node_01', 'charging', 'v4');
    assert.deepEqual(h.settle(6000), [], 'an inactive hub gets nothing');
    h.setHub('hub_01', { active: true });
    assert.deepEqual(
      brief(h.settle()).map((c) => [c[0], c[2], c[3]]),
      [
        ['node_01', 50, 'CAPACITY_CHANGED'],
        ['node_02', 50, 'CAPACITY_CHANGED'],
      ],
    );
  });

  it('node max power override: min(reported, override), REBALANCE at once; cleared: back to the reported max', () => {
    const h = charging(100, 80);
    h.setNodeMax('hub_01', 'node_01', 30);
    assert.deepEqual(brief(h.settle()), [
      ['node_01', 50, 30, 'REBALANCE'],
      ['node_02', 50, 70, 'REBALANCE'],
    ]);
    h.setNodeMax('hub_01', 'node_01', 500); // above the reported 80: the reported max holds
    assert.deepEqual(brief(h.settle()), [
      ['node_02', 70, 50, 'REBALANCE'],
      ['node_01', 30, 50, 'REBALANCE'],
    ]);
    h.setNodeMax('hub_01', 'node_02', 0);
    assert.deepEqual(
      brief(h.settle()).map((c) => [c[0], c[2]]),
      [
        ['node_02', 0],
        ['node_01', 80],
      ],
    );
  });

  it('views without the operator fields (an older twin) mean no override', () => {
    const twin = new Twin();
    const e = new DlmEngine();
    const hub = { hubId: 'h', maxGridCapacityKw: 70, available: true } as never;
    assert.equal(e.capacityOf(hub, 0), 70);
    assert.equal(
      e.capacityOf({ ...(hub as object), active: 'no', capacityOverride: { kw: 'x' } } as never, 0),
      70,
    );
    assert.equal(e.capacityOf(twin.hub('nope'), 0), null);
  });

  it('broker connection down: nothing is sent, triggers wait; back up: every hub RESYNCed first, then allocated', () => {
    const h = charging();
    h.engine.brokerDown(h.now);
    assert.equal(h.engine.brokerDownSinceMs(), h.now);
    h.node('hub_01', 'node_02', 'idle');
    h.echo('hub_01'); // reports while down are not used
    assert.deepEqual(h.settle(30_000), []);
    assert.equal(h.engine.nextWakeMs(), null);
    h.engine.brokerUp(h.view, h.now);
    assert.equal(h.engine.brokerDownSinceMs(), null);
    const back = h.settle();
    assert.deepEqual(brief(back), [
      ['node_01', 50, 50, 'RESYNC'],
      ['node_02', 50, 50, 'RESYNC'],
      ['node_02', 50, 0, 'VEHICLE_DISCONNECTED'], // the trigger that waited, with the RESYNC
      ['node_01', 50, 80, 'VEHICLE_DISCONNECTED'],
    ]);
    assert.ok(
      (back[3]?.ts ?? 0) > (back[2]?.ts ?? 0),
      'the increase only after every node reported since the RESYNC (break before make)',
    );
    h.engine.brokerUp(h.view, h.now);
    assert.deepEqual(h.settle(), [], 'up while up: nothing');
  });

  it('a hub whose capacity is unknown is not allocated: "waiting for hub info" alarm, once; cleared by its info', () => {
    const h = new Harness();
    h.status('hub_09', 'online');
    h.nodeInfo('hub_09', 'node_01', 50);
    h.node('hub_09', 'node_01', 'charging', 'v1');
    h.request('hub_09', 'node_01', 'v1', 20);
    for (let i = 0; i < 3; i++) h.telemetry('hub_09', 'node_01', 10);
    assert.deepEqual(h.settle(6000), []);
    assert.deepEqual(h.engine.waitingHubs(), [
      { hubId: 'hub_09', sinceMs: h.engine.waitingHubs()[0]?.sinceMs },
    ]);
    const raised = h.engine.takeAlarmEvents();
    assert.deepEqual(
      raised.map((e) => [e.state, e.alarm.kind, e.alarm.hubId]),
      [['raised', 'hub-waiting-for-info', 'hub_09']],
    );
    h.info('hub_09', 100);
    const cmds: DlmCommand[] = h.settle();
    assert.deepEqual(brief(cmds), [['node_01', 0, 50, 'CAPACITY_CHANGED']]);
    assert.deepEqual(h.engine.waitingHubs(), []);
    assert.deepEqual(
      h.engine.takeAlarmEvents().map((e) => [e.state, e.alarm.kind]),
      [['cleared', 'hub-waiting-for-info']],
    );
  });

  it('a node an operator deletes goes to 0 (REBALANCE); its capacity goes to the others once the hub confirms', () => {
    const h = charging();
    const r = h.twin.operate({ op: 'node-delete', hub_id: 'hub_01', node_id: 'node_02' }, 'ops', h.now);
    h.changes(r.changes);
    const cut = h.settle();
    assert.deepEqual(brief(cut).slice(0, 1), [['node_02', 50, 0, 'REBALANCE']]);
    assert.ok(
      brief(cut).some(([n, , to]) => n === 'node_01' && to === 80),
      `node_01 gets its full power: ${JSON.stringify(brief(cut))}`,
    );
    assert.ok(sum(h.atHub.get('hub_01')) <= 100);
  });

  it('a hub an operator deletes is no longer managed: nothing is sent to it, no REBALANCE, no alarm', () => {
    const h = charging();
    const r = h.twin.operate({ op: 'hub-delete', hub_id: 'hub_01' }, 'ops', h.now);
    h.changes(r.changes);
    assert.deepEqual(h.engine.hubsManaged(), []);
    assert.deepEqual(h.advance(60_000), [], 'no REBALANCE for a deleted hub');
    assert.deepEqual(h.engine.alarms(), []);
  });
});
