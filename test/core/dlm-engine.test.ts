import { strict as assert } from 'node:assert';
import type { DlmAlarmEvent, DlmCommand } from '../../core/dlm';
import { Harness, brief } from './dlm-harness';

const sum = (m: Map<string, number> | undefined): number =>
  [...(m?.values() ?? [])].reduce((a, b) => a + b, 0);

describe('core/dlm DlmEngine', () => {
  it('VEHICLE_CONNECTED: a node starting to charge gets its power at once (leading edge of the window)', () => {
    const h = new Harness();
    h.hub('hub_01', 100, { node_01: 50, node_02: 50, node_03: 50 });
    assert.deepEqual(h.settle(), []);
    assert.deepEqual(h.node('hub_01', 'node_01', 'charging', 'v1'), [], 'onChanges only schedules');
    const cmds = h.advance(0);
    assert.deepEqual(brief(cmds), [['node_01', 0, 50, 'VEHICLE_CONNECTED']]);
    assert.equal(cmds[0]?.totalGridLoadKw, 50);
    assert.equal(cmds[0]?.availableCapacityKw, 50);
  });

  it('hints the caller to recompute the wake time only after a trigger, not after plain telemetry', () => {
    const h = new Harness();
    h.hub('hub_01', 100, { node_01: 50, node_02: 50 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.settle();
    h.telemetry('hub_01', 'node_01');
    h.engine.takeWakeHint();
    h.telemetry('hub_01', 'node_01');
    assert.equal(h.engine.takeWakeHint(), false, 'telemetry confirming limits moves no wake time earlier');
    h.node('hub_01', 'node_02', 'charging', 'v2');
    assert.equal(h.engine.takeWakeHint(), true, 'a trigger does');
    assert.equal(h.engine.takeWakeHint(), false, 'and the hint is taken once');
  });

  it('adopts limits the hub set itself (boot defaults) and cuts them when they sum above capacity', () => {
    const h = new Harness();
    h.hub('hub_01', 100, { node_01: 50, node_02: 50, node_03: 50 });
    // The pads booted at their nameplate: 3 × 50 = 150 kW in force on a 100 kW hub.
    for (const n of ['node_01', 'node_02', 'node_03']) h.telemetry('hub_01', n, 0, 50);
    assert.equal(h.engine.controller('hub_01')?.totalInForceKw(), 150, 'the reported limits count against C');
    const cmds = h.settle();
    assert.deepEqual(brief(cmds), [
      ['node_01', 50, 0, 'REBALANCE'],
      ['node_02', 50, 0, 'REBALANCE'],
      ['node_03', 50, 0, 'REBALANCE'],
    ]);
    // A vehicle then gets its power only once the decreases are confirmed (break before make).
    h.node('hub_01', 'node_02', 'charging', 'v1');
    assert.deepEqual(brief(h.settle()), []);
    const released: DlmCommand[] = [];
    for (const n of ['node_01', 'node_02', 'node_03']) released.push(...h.telemetry('hub_01', n, 0));
    assert.deepEqual(
      brief(released),
      [['node_02', 0, 50, 'VEHICLE_CONNECTED']],
      'on the last confirming report',
    );
    assert.ok(sum(h.atHub.get('hub_01')) <= 100);
  });

  it('a request assignment (node-assigned) makes the node active: VEHICLE_CONNECTED', () => {
    const h = new Harness();
    h.hub('hub_01', 100, { node_01: 60 });
    h.request('hub_01', 'node_01', 'v9', 35);
    assert.deepEqual(brief(h.settle()), [['node_01', 0, 60, 'VEHICLE_CONNECTED']]);
  });

  it('break before make: the decrease goes first, the increase on the report that confirms it', () => {
    const h = new Harness();
    h.hub('hub_01', 80, { node_01: 80, node_02: 80 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    assert.deepEqual(brief(h.settle()), [['node_01', 0, 80, 'VEHICLE_CONNECTED']]);
    h.telemetry('hub_01', 'node_01');
    h.node('hub_01', 'node_02', 'charging', 'v2');
    assert.deepEqual(brief(h.settle()), [['node_01', 80, 40, 'VEHICLE_CONNECTED']]);
    assert.deepEqual([...(h.engine.controller('hub_01')?.pendingIncreases() ?? [])], [['node_02', 40]]);
    assert.deepEqual(brief(h.telemetry('hub_01', 'node_01')), [['node_02', 0, 40, 'VEHICLE_CONNECTED']]);
  });

  it('a decrease the hub does not apply: never settled by time, re-sent with backoff, increases held, alarm raised then cleared', () => {
    const h = new Harness({ resendS: 2, resendMaxS: 8 });
    h.hub('hub_01', 100, { node_01: 100, node_02: 100 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.settle();
    h.echo('hub_01');
    h.ignoring.add('hub_01/node_01'); // the hub ignores what we tell node_01
    h.node('hub_01', 'node_02', 'charging', 'v2');
    assert.deepEqual(brief(h.settle()), [['node_01', 100, 50, 'VEHICLE_CONNECTED']]);
    const resent: DlmCommand[] = [];
    for (let t = 0; t < 24; t++) {
      h.echo('hub_01'); // it keeps reporting 100 for node_01
      resent.push(...h.advance(1000));
    }
    // Re-sent after 2 s, then 4, 8, 8 s (capped at resendMaxS).
    assert.deepEqual(
      resent.map((c) => c.attempt),
      [2, 3, 4, 5],
    );
    const first = h.sent.find(
      (c) => c.nodeId === 'node_01' && c.newLimitKw === 50 && c.attempt === 1,
    ) as DlmCommand;
    assert.deepEqual(
      [first, ...resent].slice(1).map((c, i, a) => c.ts - (i === 0 ? first.ts : (a[i - 1] as DlmCommand).ts)),
      [2000, 4000, 8000, 8000].map((ms) => ms + 0),
    );
    assert.ok(resent.every((c) => c.newLimitKw === 50 && c.reason === 'VEHICLE_CONNECTED'));
    assert.equal(
      h.engine.controller('hub_01')?.inForce().get('node_01'),
      100,
      'counted at what the hub reports',
    );
    assert.equal(h.atHub.get('hub_01')?.get('node_02') ?? 0, 0, 'the increase is held');
    const events = h.engine.takeAlarmEvents();
    assert.deepEqual(
      events.map((e) => [e.state, e.alarm.kind, 'nodeId' in e.alarm ? e.alarm.nodeId : '']),
      [['raised', 'hub-ignores-commands', 'node_01']],
    );
    const [alarm] = h.engine.alarms();
    assert.ok(alarm?.kind === 'hub-ignores-commands' && alarm.attempts >= 4 && alarm.reportedKw === 100);
    // The hub applies the last re-send: the increase goes on its report, the alarm clears.
    h.ignoring.clear();
    h.atHub.get('hub_01')?.set('node_01', 50);
    const released = h.telemetry('hub_01', 'node_01');
    assert.deepEqual(brief(released), [['node_02', 0, 50, 'VEHICLE_CONNECTED']]);
    assert.deepEqual(
      h.engine.takeAlarmEvents().map((e: DlmAlarmEvent) => [e.state, e.alarm.kind]),
      [['cleared', 'hub-ignores-commands']],
    );
    assert.deepEqual(h.engine.alarms(), []);
  });

  it('VEHICLE_DISCONNECTED, CHARGING_COMPLETE, NODE_FAULT: the node goes to 0, the freed capacity goes back on its echo', () => {
    const h = new Harness();
    h.autoEchoMs = 5;
    h.hub('hub_01', 90, { node_01: 90, node_02: 90, node_03: 90, node_04: 90 });
    for (const n of ['node_01', 'node_02', 'node_03']) h.node('hub_01', n, 'charging', `v_${n}`);
    assert.deepEqual(
      brief(h.settle()).map((c) => c[2]),
      [30, 30, 30],
    );
    h.node('hub_01', 'node_01', 'idle');
    const a = h.settle();
    assert.deepEqual(brief(a), [
      ['node_01', 30, 0, 'VEHICLE_DISCONNECTED'],
      ['node_02', 30, 45, 'VEHICLE_DISCONNECTED'],
      ['node_03', 30, 45, 'VEHICLE_DISCONNECTED'],
    ]);
    assert.equal((a[1]?.ts ?? 0) - (a[0]?.ts ?? 0), 5, 'one echo later');
    h.node('hub_01', 'node_02', 'full', 'v_node_02');
    assert.deepEqual(brief(h.settle()), [
      ['node_02', 45, 0, 'CHARGING_COMPLETE'],
      ['node_03', 45, 90, 'CHARGING_COMPLETE'],
    ]);
    h.node('hub_01', 'node_03', 'faulted', 'v_node_03');
    assert.deepEqual(brief(h.advance(50)), [['node_03', 90, 0, 'NODE_FAULT']]);
  });

  it('NODE_MAINTENANCE: an operator taking a node out sends it to 0', () => {
    const h = new Harness();
    h.autoEchoMs = 5;
    h.hub('hub_01', 100, { node_01: 50, node_02: 50 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.node('hub_01', 'node_02', 'charging', 'v2');
    h.settle();
    h.changes(h.twin.setNodeMaintenance('hub_01', 'node_02', true, h.now));
    assert.deepEqual(brief(h.settle()), [['node_02', 50, 0, 'NODE_MAINTENANCE']]);
  });

  it('PRIORITY_SHIFT: a vehicle becoming critical is served first', () => {
    const h = new Harness({ policy: 'equal' });
    h.hub('hub_01', 100, { node_01: 80, node_02: 80 });
    h.vehicleSoc('v1', 60);
    h.vehicleSoc('v2', 60);
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.node('hub_01', 'node_02', 'charging', 'v2');
    assert.deepEqual(
      brief(h.settle()).map((c) => c[2]),
      [50, 50],
    );
    h.echo('hub_01');
    h.vehicleSoc('v2', 10); // below the fleet's critical SoC (20)
    assert.equal(h.twin.vehicle('v2')?.socClass, 'critical');
    assert.deepEqual(brief(h.settle()), [['node_01', 50, 20, 'PRIORITY_SHIFT']]);
    assert.deepEqual(brief(h.telemetry('hub_01', 'node_01')), [['node_02', 50, 80, 'PRIORITY_SHIFT']]);
  });

  it('CAPACITY_CHANGED: a capacity drop sends the decreases at once', () => {
    const h = new Harness();
    h.hub('hub_01', 120, { node_01: 60, node_02: 60 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.node('hub_01', 'node_02', 'charging', 'v2');
    h.settle();
    h.echo('hub_01');
    h.info('hub_01', 60);
    assert.deepEqual(brief(h.settle()), [
      ['node_01', 60, 30, 'CAPACITY_CHANGED'],
      ['node_02', 60, 30, 'CAPACITY_CHANGED'],
    ]);
    assert.equal(h.engine.controller('hub_01')?.capacityKw, 60);
  });

  it('GRID_OVERLOAD: measured load above C is due at once; held decreases go and offenders are told again', () => {
    const h = new Harness({ minChangeKw: 5 });
    h.hub('hub_01', 100, { node_01: 100, node_02: 100, node_03: 100 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.node('hub_01', 'node_02', 'charging', 'v2');
    h.settle();
    h.telemetry('hub_01', 'node_01');
    h.telemetry('hub_01', 'node_02');
    // node_03 was never given a limit but draws 30 kW: 50 + 50 + 30 > 100.
    assert.deepEqual(h.telemetry('hub_01', 'node_03', 30), []);
    assert.equal(h.engine.nextWakeMs(), h.now, 'overload is due without the coalescing window');
    assert.deepEqual(brief(h.advance(0)), [['node_03', 0, 0, 'GRID_OVERLOAD']]);
    assert.equal(h.engine.lastAllocation('hub_01')?.measuredLoadKw, 130);
    // Still overloaded at the next telemetry: not triggered again (edge, not level).
    h.telemetry('hub_01', 'node_03', 30);
    assert.deepEqual(h.advance(60), []);
  });

  it('GRID_OVERLOAD releases a decrease held back by hysteresis', () => {
    const h = new Harness({ policy: 'soc-priority', minChangeKw: 5 });
    h.hub('hub_01', 100, { node_01: 100, node_02: 100 });
    h.vehicleSoc('v1', 50);
    h.vehicleSoc('v2', 50);
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.node('hub_01', 'node_02', 'charging', 'v2');
    assert.deepEqual(
      brief(h.settle()).map((c) => c[2]),
      [50, 50],
    );
    h.echo('hub_01');
    h.vehicleSoc('v1', 54); // weights 46 : 50 → 47.9 / 52.1: a 2 kW change, held back
    assert.deepEqual(h.settle(6000), [], 'REBALANCE holds the small change back');
    assert.equal(h.engine.lastAllocation('hub_01')?.reason, 'REBALANCE');
    h.telemetry('hub_01', 'node_01', 55);
    assert.deepEqual(
      brief(h.advance(0)).map((c) => [c[0], c[2], c[3]]),
      [['node_01', 47.917, 'GRID_OVERLOAD']], // 47.916… + the step left
    );
  });

  it('REBALANCE every rebalance period moves power as SoC changes (soc-priority)', () => {
    const h = new Harness({ policy: 'soc-priority', rebalanceS: 5 });
    h.hub('hub_01', 100, { node_01: 100, node_02: 100 });
    h.vehicleSoc('v1', 50);
    h.vehicleSoc('v2', 50);
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.node('hub_01', 'node_02', 'charging', 'v2');
    h.settle();
    h.echo('hub_01');
    h.vehicleSoc('v1', 80); // weights 20 : 50
    assert.deepEqual(h.settle(4000), []);
    assert.deepEqual(brief(h.settle(2000)), [['node_01', 50, 28.572, 'REBALANCE']]); // 28.571… + the step left
  });

  it('a stale hub gets nothing; when it is back: RESYNC, the allocation it missed, increases once every node reported', () => {
    const h = new Harness();
    h.hub('hub_01', 100, { node_01: 100, node_02: 100 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.node('hub_01', 'node_02', 'charging', 'v2');
    h.settle();
    h.echo('hub_01');
    const sentBefore = h.sent.length;
    h.advance(11_000); // silent for more than stale_after_s (10 s)
    assert.equal(h.twin.hub('hub_01')?.stale, true);
    h.changes(h.twin.setNodeMaintenance('hub_01', 'node_02', true, h.now));
    assert.deepEqual(h.settle(30_000), []);
    assert.equal(h.sent.length, sentBefore);
    assert.equal(h.engine.nextWakeMs(), null, 'no timer for a stale hub');
    h.status('hub_01', 'online');
    assert.equal(h.twin.hub('hub_01')?.available, true);
    assert.deepEqual(brief(h.settle()), [
      ['node_01', 50, 50, 'RESYNC'],
      ['node_02', 50, 50, 'RESYNC'],
      ['node_02', 50, 0, 'RESYNC'], // the maintenance trigger missed while stale
    ]);
    assert.equal(h.engine.controller('hub_01')?.held(), 'resync');
    assert.deepEqual(h.telemetry('hub_01', 'node_02'), []);
    assert.deepEqual(brief(h.telemetry('hub_01', 'node_01')), [['node_01', 50, 100, 'RESYNC']]);
  });

  it('an offline hub gets nothing (no confirmations, no re-sends); RESYNC when online again', () => {
    const h = new Harness();
    h.hub('hub_01', 60, { node_01: 60, node_02: 60 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.settle();
    h.echo('hub_01');
    h.ignoring.add('hub_01/node_01'); // the hub misses node_01's decrease
    h.node('hub_01', 'node_02', 'charging', 'v2');
    assert.deepEqual(brief(h.settle()), [['node_01', 60, 30, 'VEHICLE_CONNECTED']]);
    h.status('hub_01', 'offline');
    assert.deepEqual(h.settle(30_000), [], 'nothing to an offline hub, not even a re-send');
    h.status('hub_01', 'online');
    assert.deepEqual(brief(h.settle()), [
      ['node_01', 30, 30, 'RESYNC'],
      ['node_02', 0, 0, 'RESYNC'],
    ]);
    h.echo('hub_01');
    assert.deepEqual(brief(h.settle()), [], 'node_01 still reports 60: the increase waits');
    h.ignoring.clear();
    h.atHub.get('hub_01')?.set('node_01', 30); // it applies the next re-send
    // The increase keeps the reason of the allocation that decided it.
    assert.deepEqual(brief(h.echo('hub_01')), [['node_02', 0, 30, 'VEHICLE_CONNECTED']]);
  });
});
