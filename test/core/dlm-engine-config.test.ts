// The engine's configuration: per-hub overrides, validation, and the notification a
// command becomes on the wire.
import { strict as assert } from 'node:assert';
import { DlmEngine, checkDlmConfig, commandToNotification, parseOverrides } from '../../core/dlm';
import type { DlmCommand } from '../../core/dlm';
import { Harness, round } from './dlm-harness';

describe('core/dlm DlmEngine — configuration and wire format', () => {
  it('per-hub overrides: policy and reserve of one hub', () => {
    const h = new Harness({
      policy: 'soc-priority',
      overrides: { hub_02: { policy: 'equal', reserve: 0.5 } },
    });
    for (const hub of ['hub_01', 'hub_02']) {
      h.hub(hub, 100, { node_01: 100, node_02: 100 });
      h.vehicleSoc(`${hub}_a`, 10);
      h.vehicleSoc(`${hub}_b`, 50);
    }
    for (const hub of ['hub_01', 'hub_02']) {
      h.node(hub, 'node_01', 'charging', `${hub}_a`);
      h.node(hub, 'node_02', 'charging', `${hub}_b`);
    }
    const cmds = h.settle();
    const of = (hub: string) => cmds.filter((c) => c.hubId === hub).map((c) => round(c.newLimitKw));
    // hub_01: C = 100; the critical vehicle (10 %) is served first, up to its node's max.
    assert.deepEqual(of('hub_01'), [100]);
    // hub_02: reserve 0.5 → C = 50, all of it to the critical vehicle.
    assert.deepEqual(of('hub_02'), [50]);
    h.echo();
    // Both normal: soc-priority on hub_01 (weights 70 : 50), equal on hub_02.
    for (const hub of ['hub_01', 'hub_02']) h.vehicleSoc(`${hub}_a`, 30);
    h.settle();
    h.echo();
    const limits = (hub: string) =>
      [...(h.engine.controller(hub)?.published() ?? [])].map(([n, v]) => [n, v]);
    assert.deepEqual(limits('hub_01'), [
      ['node_01', 58.334], // 100 × 70 / 120, at the wire resolution; the step left goes here
      ['node_02', 41.666], // 100 × 50 / 120
    ]);
    assert.deepEqual(limits('hub_02'), [
      ['node_01', 25],
      ['node_02', 25],
    ]);
    assert.equal(h.engine.settingsFor('hub_02').policy, 'equal');
    assert.equal(h.engine.capacityOf(h.view.hub('hub_02'), h.now), 50);
    assert.equal(
      commandToNotification(cmds.find((c) => c.hubId === 'hub_02') as DlmCommand, 'equal').policy,
      'equal',
    );
  });

  it('per-hub override of the hysteresis', () => {
    const h = new Harness({
      policy: 'soc-priority',
      rebalanceS: 1,
      overrides: { hub_02: { minChangeKw: 0 } },
    });
    for (const hub of ['hub_01', 'hub_02']) {
      h.hub(hub, 60, { node_01: 60, node_02: 60 });
      h.vehicleSoc(`${hub}_a`, 50);
      h.vehicleSoc(`${hub}_b`, 50);
      h.node(hub, 'node_01', 'charging', `${hub}_a`);
      h.node(hub, 'node_02', 'charging', `${hub}_b`);
    }
    h.settle();
    h.echo();
    for (const hub of ['hub_01', 'hub_02']) h.vehicleSoc(`${hub}_a`, 51); // weights 49 : 50 → 29.7 / 30.3
    const cmds = h.settle(1500);
    cmds.push(...h.telemetry('hub_02', 'node_01'));
    assert.deepEqual(
      cmds.map((c) => [c.hubId, c.nodeId, c.newLimitKw]),
      [
        ['hub_02', 'node_01', 29.697],
        ['hub_02', 'node_02', 30.303],
      ],
    );
  });

  it('the notification carries the limit at the wire resolution, never rounded up', () => {
    const cmd: DlmCommand = {
      hubId: 'hub_01',
      nodeId: 'node_02',
      originalLimitKw: 38.18181818181818,
      newLimitKw: 44.21052631578947,
      reason: 'REBALANCE',
      allocationId: 'hub_01:1:2',
      ts: Date.parse('2026-11-26T07:13:53.700Z'),
      totalGridLoadKw: 120.5,
      availableCapacityKw: -3,
      attempt: 1,
    };
    assert.deepEqual(commandToNotification(cmd, 'soc-priority'), {
      trigger_reason: 'REBALANCE',
      original_limit: 38.181,
      new_limit: 44.21,
      affected_node_id: 'node_02',
      total_grid_load: 120.5,
      available_capacity: 0,
      timestamp: '2026-11-26T07:13:53.700000Z',
      allocation_id: 'hub_01:1:2',
      policy: 'soc-priority',
      source: 'wpt-dlm',
    });
    // 55.828220858895705 went out as 55.828221 before (rounded up): now as planned, down.
    for (const [x, wire] of [
      [55.828220858895705, 55.828],
      [55.829, 55.829],
      [0.0009999, 0],
      [0.29, 0.29],
      [46.666, 46.666],
    ] as const) {
      const n = commandToNotification({ ...cmd, newLimitKw: x }, 'equal');
      assert.equal(n.new_limit, wire);
      assert.equal((JSON.parse(JSON.stringify(n)) as { new_limit: number }).new_limit, wire);
    }
  });

  it('overrides and config are validated with clear errors', () => {
    assert.deepEqual(parseOverrides(''), { ok: true, value: {} });
    assert.deepEqual(parseOverrides('{"hub_01":{"policy":"equal","reserve":0.1}}'), {
      ok: true,
      value: { hub_01: { policy: 'equal', reserve: 0.1 } },
    });
    const bad = parseOverrides('{"hub_01":{"policy":"fastest","reserve":0.9,"colour":1},"a/b":{}}');
    assert.equal(bad.ok, false);
    assert.deepEqual(!bad.ok && bad.errors, [
      'overrides.hub_01.policy: must be one of equal, soc-priority',
      'overrides.hub_01.reserve: must be a number in 0..0.5',
      'overrides.hub_01.colour: unknown setting (allowed: policy, reserve, criticalSoc, minChangeKw)',
      'overrides: "a/b" is not a valid hub id',
    ]);
    const notJson = parseOverrides('{hub_01:');
    assert.ok(!notJson.ok && /^overrides: not valid JSON/.test(notJson.errors[0] ?? ''));
    assert.ok(!parseOverrides('[1]').ok);
    assert.ok(!parseOverrides({ hub_01: 3 }).ok);
    const c = checkDlmConfig({ reserve: 0.7, rebalanceS: 0, resendS: 0, resendMaxS: 1, deliveryWindowS: 5 });
    assert.deepEqual(!c.ok && c.errors, [
      'reserve: must be a number in 0..0.5',
      'resendS: must be a number in (0, 3600]',
      'deliveryWindowS: must be a number in [15, 3600]',
      'rebalanceS: must be a number in (0, 86400]',
    ]);
    assert.throws(() => new DlmEngine({ policy: 'x' as 'equal' }), /policy/);
  });
});
