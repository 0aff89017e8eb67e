import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  DlmEngine,
  checkDlmConfig,
  commandToNotification,
  parseOverrides,
  type DlmEngineConfig,
} from '../../core/dlm/engine';
import type { DlmCommand } from '../../core/dlm';
import { decode, formatTimestamp } from '../../core/contract';
import { Twin, type TwinChange } from '../../core/twin';

const T0 = Date.parse('2026-11-26T07:00:00Z');

/** A twin fed with contract messages, the engine over it, and a hub that applies commands in order. */
class Harness {
  readonly twin = new Twin();
  readonly engine: DlmEngine;
  now = T0;
  /** Every command, in publishing order. */
  readonly sent: DlmCommand[] = [];
  /** Limits the hub applies (commands applied in order as they are sent). */
  readonly atHub = new Map<string, Map<string, number>>();

  constructor(config: Partial<DlmEngineConfig> = {}) {
    this.engine = new DlmEngine({ policy: 'equal', ...config });
  }

  private record(cmds: DlmCommand[]): DlmCommand[] {
    for (const c of cmds) {
      this.sent.push(c);
      let m = this.atHub.get(c.hubId);
      if (!m) this.atHub.set(c.hubId, (m = new Map()));
      m.set(c.nodeId, c.newLimitKw);
    }
    return cmds;
  }

  /** While true the engine does not see the twin's changes (state before a restart). */
  quiet = false;

  changes(changes: TwinChange[]): DlmCommand[] {
    if (this.quiet) return [];
    return this.record(this.engine.onChanges(changes, this.twin, this.now));
  }

  msg(topic: string, payload: Record<string, unknown>): DlmCommand[] {
    const r = decode(topic, { timestamp: formatTimestamp(this.now), ...payload }, this.now);
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
    return this.changes(this.twin.apply(r.msg, this.now));
  }

  hub(hubId: string, capacityKw: number, nodes: Record<string, number>): void {
    this.msg(`iot/hubs/${hubId}/info`, {
      hub_id: hubId,
      location: { latitude: 44.6, longitude: 10.9 },
      max_grid_capacity_kw: capacityKw,
      ip_address: '10.0.0.1',
      firmware_version: '1.0.0',
    });
    this.status(hubId, 'online');
    for (const [nodeId, max] of Object.entries(nodes)) {
      this.msg(`iot/hubs/${hubId}/nodes/${nodeId}/info`, {
        node_id: nodeId,
        hub_id: hubId,
        max_power_kw: max,
      });
      this.node(hubId, nodeId, 'idle');
    }
    this.settle();
  }

  status(hubId: string, state: 'online' | 'offline' | 'maintenance'): DlmCommand[] {
    return this.msg(`iot/hubs/${hubId}/status`, { state, cpu_temp: 40 });
  }

  node(hubId: string, nodeId: string, state: string, vehicle: string | null = null): DlmCommand[] {
    return this.msg(`iot/hubs/${hubId}/nodes/${nodeId}/status`, {
      state,
      current_vehicle_id: vehicle,
      error_code: state === 'faulted' ? 17 : 0,
    });
  }

  /** Node telemetry echoing the limit the hub applies (power = min(limit, drawKw)). */
  telemetry(hubId: string, nodeId: string, drawKw?: number): DlmCommand[] {
    const limit = this.atHub.get(hubId)?.get(nodeId) ?? 0;
    const power = drawKw ?? limit;
    return this.msg(`iot/hubs/${hubId}/nodes/${nodeId}/telemetry`, {
      voltage: 400,
      current: (power * 1000) / 400,
      power_kw: power,
      power_limit_kw: limit,
      is_occupied: power > 0,
      connected_vehicle_id: 'n/a',
      current_vehicle_soc: 0,
    });
  }

  vehicleSoc(vehicleId: string, soc: number): DlmCommand[] {
    return this.msg(`iot/vehicles/${vehicleId}/telemetry`, {
      geo_location: { latitude: 44.6, longitude: 10.9 },
      battery_level: soc,
      is_charging: true,
    });
  }

  /** Advances the clock and runs what is due (twin tick, confirm timeouts, allocations). */
  advance(ms: number): DlmCommand[] {
    this.now += ms;
    const out = this.changes(this.twin.tick(this.now));
    out.push(...this.record(this.engine.tick(this.now)));
    out.push(...this.record(this.engine.due(this.twin, this.now)));
    return out;
  }

  /** Lets `ms` pass, waking at every nextWakeMs like the node's timer. */
  settle(ms = 200): DlmCommand[] {
    const out: DlmCommand[] = [];
    const end = this.now + ms;
    for (;;) {
      const next = this.engine.nextWakeMs();
      if (next === null || next > end) break;
      out.push(...this.advance(Math.max(0, next - this.now)));
    }
    out.push(...this.advance(end - this.now));
    return out;
  }
}

const brief = (cmds: DlmCommand[]): Array<[string, number, number, string]> =>
  cmds.map((c) => [c.nodeId, round(c.originalLimitKw), round(c.newLimitKw), c.reason]);
const round = (x: number): number => Math.round(x * 1000) / 1000;

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
    h.atHub.set(
      'hub_01',
      new Map([
        ['node_01', 50],
        ['node_02', 50],
        ['node_03', 50],
      ]),
    );
    for (const n of ['node_01', 'node_02', 'node_03']) h.telemetry('hub_01', n, 0);
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
    released.push(...h.settle());
    assert.deepEqual(brief(released), [['node_02', 0, 50, 'VEHICLE_CONNECTED']]);
    const limits = h.atHub.get('hub_01')!;
    assert.ok([...limits.values()].reduce((a, b) => a + b, 0) <= 100);
  });

  it('a request assignment (node-assigned) makes the node active: VEHICLE_CONNECTED', () => {
    const h = new Harness();
    h.hub('hub_01', 100, { node_01: 60 });
    h.settle();
    const r = h.twin.assign('hub_01', 'node_01', 'v9', 35, h.now);
    assert.ok(r.ok);
    h.changes(r.changes);
    assert.deepEqual(brief(h.settle()), [['node_01', 0, 60, 'VEHICLE_CONNECTED']]);
  });

  it('break before make: the decrease goes first, the increase waits for the hub to confirm it', () => {
    const h = new Harness();
    h.hub('hub_01', 80, { node_01: 80, node_02: 80 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    assert.deepEqual(brief(h.settle()), [['node_01', 0, 80, 'VEHICLE_CONNECTED']]);
    h.node('hub_01', 'node_02', 'charging', 'v2');
    assert.deepEqual(brief(h.settle()), [['node_01', 80, 40, 'VEHICLE_CONNECTED']]);
    // node_02's increase waits: node_01 may still run at 80.
    assert.deepEqual([...(h.engine.controller('hub_01')?.pendingIncreases() ?? [])], [['node_02', 40]]);
    const released = h.telemetry('hub_01', 'node_01');
    assert.deepEqual(brief(released), [['node_02', 0, 40, 'VEHICLE_CONNECTED']]);
  });

  it('an unconfirmed decrease counts as applied after confirm_timeout_s (tick)', () => {
    const h = new Harness({ confirmTimeoutS: 2 });
    h.hub('hub_01', 80, { node_01: 80, node_02: 80 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.settle();
    h.node('hub_01', 'node_02', 'charging', 'v2');
    h.settle();
    const deadline = h.engine.nextWakeMs();
    assert.ok(deadline !== null);
    const cmds = h.settle(3000);
    assert.deepEqual(brief(cmds), [['node_02', 0, 40, 'VEHICLE_CONNECTED']]);
    assert.ok(h.now >= T0 + 2000);
  });

  it('VEHICLE_DISCONNECTED, CHARGING_COMPLETE, NODE_FAULT: the node goes to 0, the others get its share', () => {
    const h = new Harness({ confirmTimeoutS: 1 });
    h.hub('hub_01', 90, { node_01: 90, node_02: 90, node_03: 90, node_04: 90 });
    for (const n of ['node_01', 'node_02', 'node_03']) h.node('hub_01', n, 'charging', `v_${n}`);
    assert.deepEqual(
      brief(h.settle()).map((c) => c[2]),
      [30, 30, 30],
    );
    h.node('hub_01', 'node_01', 'idle');
    const a = h.settle(5000);
    assert.deepEqual(brief(a), [
      ['node_01', 30, 0, 'VEHICLE_DISCONNECTED'],
      ['node_02', 30, 45, 'VEHICLE_DISCONNECTED'],
      ['node_03', 30, 45, 'VEHICLE_DISCONNECTED'],
    ]);
    h.node('hub_01', 'node_02', 'full', 'v_node_02');
    assert.deepEqual(brief(h.settle(5000)), [
      ['node_02', 45, 0, 'CHARGING_COMPLETE'],
      ['node_03', 45, 90, 'CHARGING_COMPLETE'],
    ]);
    h.node('hub_01', 'node_03', 'faulted', 'v_node_03');
    const f = h.advance(50);
    assert.deepEqual(brief(f), [['node_03', 90, 0, 'NODE_FAULT']]);
  });

  it('NODE_MAINTENANCE: an operator taking a node out sends it to 0', () => {
    const h = new Harness();
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
    h.msg('iot/hubs/hub_01/info', {
      hub_id: 'hub_01',
      location: { latitude: 44.6, longitude: 10.9 },
      max_grid_capacity_kw: 60,
      ip_address: '10.0.0.1',
      firmware_version: '1.0.0',
    });
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
    const immediate = h.telemetry('hub_01', 'node_03', 30);
    assert.deepEqual(immediate, []);
    assert.equal(h.engine.nextWakeMs(), h.now, 'overload is due without the coalescing window');
    const cmds = h.advance(0);
    assert.deepEqual(brief(cmds), [['node_03', 0, 0, 'GRID_OVERLOAD']]);
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
    h.telemetry('hub_01', 'node_01');
    h.telemetry('hub_01', 'node_02');
    h.vehicleSoc('v1', 54); // weights 46 : 50 → 47.9 / 52.1: a 2 kW change, held back
    assert.deepEqual(h.settle(6000), [], 'REBALANCE holds the small change back');
    assert.equal(h.engine.lastAllocation('hub_01')?.reason, 'REBALANCE');
    const cmds = (h.telemetry('hub_01', 'node_01', 55), h.advance(0));
    assert.deepEqual(
      brief(cmds).map((c) => [c[0], c[2], c[3]]),
      [['node_01', 47.917, 'GRID_OVERLOAD']],
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
    h.telemetry('hub_01', 'node_01');
    h.telemetry('hub_01', 'node_02');
    h.vehicleSoc('v1', 80); // weights 20 : 50
    assert.deepEqual(h.settle(4000), []);
    const cmds = h.settle(2000);
    assert.deepEqual(brief(cmds), [['node_01', 50, 28.571, 'REBALANCE']]);
  });

  it('a stale hub gets nothing; when it is back it gets a RESYNC then the allocation it missed', () => {
    const h = new Harness();
    h.hub('hub_01', 100, { node_01: 50, node_02: 50 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.node('hub_01', 'node_02', 'charging', 'v2');
    h.settle();
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
  });

  it('an offline hub gets nothing (no confirmations, no timeouts); RESYNC when online again', () => {
    const h = new Harness({ confirmTimeoutS: 1 });
    h.hub('hub_01', 60, { node_01: 60, node_02: 60 });
    h.node('hub_01', 'node_01', 'charging', 'v1');
    h.settle();
    h.node('hub_01', 'node_02', 'charging', 'v2');
    assert.deepEqual(brief(h.settle()), [['node_01', 60, 30, 'VEHICLE_CONNECTED']]);
    h.status('hub_01', 'offline');
    assert.deepEqual(h.settle(5000), [], 'the waiting increase is not released to an offline hub');
    h.status('hub_01', 'online');
    const back = h.settle(5000);
    assert.deepEqual(brief(back), [
      ['node_01', 30, 30, 'RESYNC'],
      ['node_02', 0, 40 - 10, 'RESYNC'],
    ]);
  });

  it('restore: limits in force from storage are re-sent (RESYNC) and then reallocated', () => {
    const h = new Harness();
    h.quiet = true; // the twin as restored before the engine starts
    h.hub('hub_01', 100, { node_01: 50, node_02: 50 });
    h.node('hub_01', 'node_02', 'charging', 'v2');
    h.quiet = false;
    h.engine.restore(
      [
        { hubId: 'hub_01', nodeId: 'node_01', limitKw: 40 },
        { hubId: 'hub_01', nodeId: 'node_02', limitKw: 20 },
      ],
      h.twin,
      h.now,
    );
    assert.deepEqual(h.engine.hubsManaged(), ['hub_01']);
    assert.deepEqual(brief(h.settle()), [
      ['node_01', 40, 40, 'RESYNC'],
      ['node_02', 20, 20, 'RESYNC'],
      ['node_01', 40, 0, 'RESYNC'],
      ['node_02', 20, 50, 'RESYNC'],
    ]);
  });

  it('restore of a hub not yet available: RESYNC once it is', () => {
    const h = new Harness();
    h.engine.restore([{ hubId: 'hub_07', nodeId: 'node_01', limitKw: 11 }], h.twin, h.now);
    assert.deepEqual(h.settle(), []);
    h.hub('hub_07', 100, { node_01: 50 });
    assert.deepEqual(brief(h.sent), [
      ['node_01', 11, 11, 'RESYNC'],
      ['node_01', 11, 0, 'CAPACITY_CHANGED'],
    ]);
  });

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
    // Both normal: soc-priority on hub_01 (weights 90 : 50), equal on hub_02.
    for (const hub of ['hub_01', 'hub_02']) h.vehicleSoc(`${hub}_a`, 30);
    h.settle();
    for (const hub of ['hub_01', 'hub_02']) for (const n of ['node_01', 'node_02']) h.telemetry(hub, n);
    const limits = (hub: string) =>
      [...(h.engine.controller(hub)?.published() ?? [])].map(([n, v]) => [n, round(v)]);
    assert.deepEqual(limits('hub_01'), [
      ['node_01', 58.333], // 100 × 70 / 120
      ['node_02', 41.667], // 100 × 50 / 120
    ]);
    assert.deepEqual(limits('hub_02'), [
      ['node_01', 25],
      ['node_02', 25],
    ]);
    assert.equal(h.engine.settingsFor('hub_02').policy, 'equal');
    assert.equal(h.engine.capacityOf(h.twin.hub('hub_02')), 50);
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
    for (const hub of ['hub_01', 'hub_02']) {
      h.telemetry(hub, 'node_01');
      h.telemetry(hub, 'node_02');
      h.vehicleSoc(`${hub}_a`, 51); // weights 49 : 50 → 29.7 / 30.3: 0.3 kW changes
    }
    const cmds = h.settle(1500);
    cmds.push(...h.telemetry('hub_02', 'node_01'));
    assert.deepEqual(
      cmds.map((c) => [c.hubId, c.nodeId, round(c.newLimitKw)]),
      [
        ['hub_02', 'node_01', 29.697],
        ['hub_02', 'node_02', 30.303],
      ],
    );
  });

  it('the notification payload follows the contract', () => {
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
    };
    assert.deepEqual(commandToNotification(cmd, 'soc-priority'), {
      trigger_reason: 'REBALANCE',
      original_limit: 38.181818,
      new_limit: 44.210526,
      affected_node_id: 'node_02',
      total_grid_load: 120.5,
      available_capacity: 0,
      timestamp: '2026-11-26T07:13:53.700000Z',
      allocation_id: 'hub_01:1:2',
      policy: 'soc-priority',
      source: 'wpt-dlm',
    });
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
    const c = checkDlmConfig({ reserve: 0.7, rebalanceS: 0 });
    assert.deepEqual(!c.ok && c.errors, [
      'reserve: must be a number in 0..0.5',
      'rebalanceS: must be a number in (0, 86400]',
    ]);
    assert.throws(() => new DlmEngine({ policy: 'x' as 'equal' }), /policy/);
  });

  it('property: the limits applied in order at the hub never sum above C (only decreases while above a dropped C)', () => {
    type Op =
      | { k: 'connect' | 'disconnect' | 'full' | 'fault'; node: number }
      | { k: 'soc'; node: number; soc: number }
      | { k: 'capacity'; kw: number }
      | { k: 'echo'; node: number }
      | { k: 'overload'; node: number; kw: number }
      | { k: 'wait'; ms: number };
    const N = 4;
    const nodeArb = fc.integer({ min: 1, max: N });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { arbitrary: fc.record({ k: fc.constant('connect' as const), node: nodeArb }), weight: 3 },
      fc.record({ k: fc.constantFrom('disconnect', 'full', 'fault'), node: nodeArb }) as fc.Arbitrary<Op>,
      fc.record({ k: fc.constant('soc' as const), node: nodeArb, soc: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ k: fc.constant('capacity' as const), kw: fc.integer({ min: 0, max: 200 }) }),
      { arbitrary: fc.record({ k: fc.constant('echo' as const), node: nodeArb }), weight: 3 },
      fc.record({ k: fc.constant('overload' as const), node: nodeArb, kw: fc.integer({ min: 0, max: 150 }) }),
      fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 6000 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 15, maxLength: 60 }),
        fc.constantFrom('equal', 'soc-priority'),
        fc.double({ min: 0, max: 2, noNaN: true }),
        (ops, policy, minChangeKw) => {
          const h = new Harness({ policy: policy as 'equal', minChangeKw, confirmTimeoutS: 3 });
          let capacity = 150;
          const ids = Array.from({ length: N }, (_, i) => `node_0${i + 1}`);
          h.hub('hub_01', capacity, Object.fromEntries(ids.map((id) => [id, 80])));
          // The hub applies every command in order; check each step against C at that time.
          const applied = new Map<string, number>();
          let next = 0;
          const total = () => [...applied.values()].reduce((a, b) => a + b, 0);
          const check = () => {
            for (; next < h.sent.length; next++) {
              const c = h.sent[next] as DlmCommand;
              const before = total();
              applied.set(c.nodeId, c.newLimitKw);
              const after = total();
              assert.ok(
                after <= capacity + 1e-6 || after <= before + 1e-9,
                `Σ ${after} > C ${capacity} after an increase`,
              );
            }
          };
          for (const o of ops) {
            const id = 'node' in o ? (ids[o.node - 1] as string) : '';
            switch (o.k) {
              case 'connect':
                h.node('hub_01', id, 'charging', `v_${id}`);
                break;
              case 'disconnect':
                h.node('hub_01', id, 'idle');
                break;
              case 'full':
                h.node('hub_01', id, 'full', `v_${id}`);
                break;
              case 'fault':
                h.node('hub_01', id, 'faulted');
                break;
              case 'soc':
                h.vehicleSoc(`v_${id}`, o.soc);
                break;
              case 'capacity':
                capacity = o.kw;
                h.msg('iot/hubs/hub_01/info', {
                  hub_id: 'hub_01',
                  location: { latitude: 44.6, longitude: 10.9 },
                  max_grid_capacity_kw: o.kw,
                  ip_address: '10.0.0.1',
                  firmware_version: '1.0.0',
                });
                break;
              case 'echo':
                h.telemetry('hub_01', id);
                break;
              case 'overload':
                h.telemetry('hub_01', id, o.kw);
                break;
              case 'wait':
                h.settle(o.ms);
                h.now += 1;
                break;
            }
            h.now += 1;
            check();
          }
          h.settle(20_000);
          check();
          assert.ok(total() <= capacity + 1e-6, 'settles at or below C');
        },
      ),
      { numRuns: 150 },
    );
  });
});
