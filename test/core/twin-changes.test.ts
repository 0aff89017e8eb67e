import assert from 'node:assert/strict';
import { Twin, TwinInputError, type TwinChange } from '../../core/twin';
import { Feed, T0, ofType, types } from './twin-feed';

/** The report changes of a list (one per applied message). */
const REPORTS = new Set([
  'hub-upserted',
  'hub-status',
  'node-upserted',
  'node-status',
  'node-telemetry',
  'vehicle-telemetry',
  'node-assigned',
  'request-rejected',
  'hub-dlm-event',
]);

describe('core/twin change lists: one report per applied message', () => {
  it('hub info → hub-upserted with the message values (created, then applied even when unchanged)', () => {
    const f = new Feed();
    const c1 = f.hubInfo('hub_01', T0, 120);
    assert.deepEqual(types(c1), ['hub-upserted'], 'an info is no sign of life: no hub-state');
    const up = ofType(c1, 'hub-upserted')[0];
    assert.equal(up?.created, true);
    assert.equal(up?.previous, null);
    assert.equal(up?.hub.maxGridCapacityKw, 120);
    const c2 = f.hubInfo('hub_01', T0 + 1000, 120);
    assert.deepEqual(types(c2), ['hub-upserted']);
    assert.equal(ofType(c2, 'hub-upserted')[0]?.created, false);
    assert.equal(ofType(c2, 'hub-upserted')[0]?.previous?.maxGridCapacityKw, 120);
    const c3 = f.hubInfo('hub_01', T0 + 2000, 90);
    assert.equal(ofType(c3, 'hub-upserted')[0]?.previous?.maxGridCapacityKw, 120);
    assert.equal(ofType(c3, 'hub-upserted')[0]?.hub.maxGridCapacityKw, 90);
  });

  it('hub status → hub-status every time it is applied; hub-state only on a transition', () => {
    const f = new Feed();
    f.hubInfo('hub_01', T0);
    const c1 = f.hubStatus('hub_01', 'online', T0 + 1000, {}, 41);
    assert.deepEqual(types(c1), ['hub-status', 'hub-state'], 'unknown → online');
    assert.deepEqual(c1[0], {
      type: 'hub-status',
      ts: T0 + 1000,
      hubId: 'hub_01',
      state: 'online',
      cpuTempC: 41,
    });
    const c2 = f.hubStatus('hub_01', 'online', T0 + 2000, {}, 43);
    assert.deepEqual(types(c2), ['hub-status']);
    const c3 = f.hubStatus('hub_01', 'offline', T0 + 3000);
    assert.deepEqual(types(c3), ['hub-status', 'hub-state']);
    const c4 = f.hubStatus('hub_x', 'online', T0 + 3000);
    assert.deepEqual(types(c4), ['hub-upserted', 'hub-status', 'hub-state'], 'a placeholder hub first');
  });

  it('node info → node-upserted; node status → node-status with the message values', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    assert.deepEqual(types(f.nodeInfo('hub_01', 'node_01', T0 + 1000)), ['node-upserted']);
    const c = f.nodeStatus('hub_01', 'node_01', 'idle', null, T0 + 1000);
    assert.deepEqual(c, [
      {
        type: 'node-status',
        ts: T0 + 1000,
        hubId: 'hub_01',
        nodeId: 'node_01',
        state: 'idle',
        errorCode: 0,
        vehicleId: null,
      },
    ]);
    const f2 = f.nodeStatus('hub_01', 'node_01', 'faulted', null, T0 + 2000);
    assert.deepEqual(types(f2), ['node-status', 'node-state']);
    const v = f.nodeStatus('hub_01', 'node_01', 'charging', 'v9', T0 + 3000);
    assert.deepEqual(types(v), ['vehicle-upserted', 'node-status', 'node-state', 'session-opened']);
    assert.equal(ofType(v, 'node-status')[0]?.vehicleId, 'v9');
  });

  it('node telemetry → node-telemetry; vehicle telemetry → vehicle-telemetry (vehicle-upserted only on creation)', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    assert.deepEqual(types(f.telemetry('hub_01', 'node_01', 5, null, 0, T0 + 1000)), ['node-telemetry']);
    const c1 = f.vehicle('v1', 50, T0 + 1000);
    assert.deepEqual(types(c1), ['vehicle-upserted', 'vehicle-telemetry', 'soc', 'soc-class']);
    assert.deepEqual(ofType(c1, 'vehicle-telemetry')[0], {
      type: 'vehicle-telemetry',
      ts: T0 + 1000,
      vehicleId: 'v1',
      position: { latitude: 44.6, longitude: 10.9, altitude: 0 },
      batteryLevel: 50,
      speedKmh: 0,
      engineTempC: 30,
      isCharging: false,
    });
    const c2 = f.vehicle('v1', 50, T0 + 2000, {}, 44.7);
    assert.deepEqual(types(c2), ['vehicle-telemetry'], 'moved, same SoC: the report only');
    assert.equal(f.twin.vehicle('v1')?.position?.latitude, 44.7);
    assert.equal(f.twin.vehicle('v1')?.lastSeenMs, T0 + 2000);
  });

  it('request → node-assigned (accepted, refreshed, already charging) or request-rejected', () => {
    const f = new Feed();
    f.site('hub_01', 2, T0);
    const a = f.request('hub_01', 'node_01', 'v1', 40, T0 + 1000);
    assert.deepEqual(types(a), ['vehicle-upserted', 'node-assigned', 'soc', 'soc-class']);
    assert.deepEqual(ofType(a, 'node-assigned')[0], {
      type: 'node-assigned',
      ts: T0 + 1000,
      hubId: 'hub_01',
      nodeId: 'node_01',
      vehicleId: 'v1',
      soc: 40,
      atMs: T0 + 1000,
      alreadyCharging: false,
    });
    assert.deepEqual(f.request('hub_01', 'node_01', 'v1', 40, T0 + 1000), [], 'the same request again');
    const again = f.request('hub_01', 'node_01', 'v1', 41, T0 + 5000);
    assert.deepEqual(types(again), ['node-assigned', 'soc']);
    assert.equal(f.twin.node('hub_01', 'node_01')?.assignedAtMs, T0 + 5000, 'refreshed');
    const other = f.request('hub_01', 'node_02', 'v2', 50, T0 + 6000);
    assert.equal(ofType(other, 'node-assigned').length, 1);
    f.nodeStatus('hub_01', 'node_02', 'charging', 'v2', T0 + 7000);
    const charging = f.request('hub_01', 'node_02', 'v2', 55, T0 + 8000);
    assert.deepEqual(types(charging), ['node-assigned', 'soc']);
    assert.equal(ofType(charging, 'node-assigned')[0]?.alreadyCharging, true);
    assert.equal(f.twin.node('hub_01', 'node_02')?.assignedVehicleId, null, 'nothing reserved');
    const busy = f.request('hub_01', 'node_02', 'v3', 50, T0 + 9000);
    assert.deepEqual(types(busy), ['request-rejected']);
    assert.equal(f.twin.vehicle('v3'), undefined, 'a rejected request creates nothing');
  });

  it("request for a hub whose capacity is not known yet → request-rejected 'hub-no-capacity'", () => {
    const f = new Feed();
    f.hubStatus('hub_01', 'online', T0);
    f.nodeInfo('hub_01', 'node_01', T0);
    f.nodeStatus('hub_01', 'node_01', 'idle', null, T0);
    assert.equal(f.twin.hub('hub_01')?.maxGridCapacityKw, null);
    const c = f.request('hub_01', 'node_01', 'v1', 30, T0 + 1000);
    assert.deepEqual(types(c), ['request-rejected']);
    assert.equal(ofType(c, 'request-rejected')[0]?.reason, 'hub-no-capacity');
    assert.equal(f.twin.checkAssign('hub_01', 'node_01', 'v1', T0 + 1000), 'hub-no-capacity');
    f.hubInfo('hub_01', T0 + 2000, 50);
    assert.equal(ofType(f.request('hub_01', 'node_01', 'v1', 30, T0 + 3000), 'node-assigned').length, 1);
  });

  it('DLM event → hub-dlm-event; one about an unknown hub or node is refused and creates nothing', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    assert.deepEqual(types(f.dlmEvent('hub_01', 'node_01', 20, T0 + 1000)), ['hub-dlm-event']);
    const before = f.twin.snapshot();
    assert.throws(
      () => f.dlmEvent('hub_zz', 'node_01', 20, T0 + 1000),
      (e: Error) => {
        assert.ok(e instanceof TwinInputError);
        assert.match(e.message, /unknown hub hub_zz/);
        return true;
      },
    );
    assert.throws(() => f.dlmEvent('hub_01', 'node_99', 20, T0 + 1000), /unknown node hub_01\/node_99/);
    assert.deepEqual(f.twin.snapshot(), before);
  });

  it('duplicates and out-of-order messages of every kind yield nothing and change nothing', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0 + 5000);
    f.telemetry('hub_01', 'node_01', 10, 'v1', 30, T0 + 6000);
    f.vehicle('v1', 30, T0 + 6000);
    const before = f.twin.snapshot();
    const again: TwinChange[][] = [
      f.hubInfo('hub_01', T0 + 5000),
      f.hubInfo('hub_01', T0 + 1000, 10),
      f.hubStatus('hub_01', 'online', T0 + 5000),
      f.hubStatus('hub_01', 'offline', T0 + 1000),
      f.nodeInfo('hub_01', 'node_01', T0 + 5000),
      f.nodeInfo('hub_01', 'node_01', T0 + 1000, 5),
      f.nodeStatus('hub_01', 'node_01', 'idle', null, T0 + 5000),
      f.nodeStatus('hub_01', 'node_01', 'faulted', null, T0 + 1000),
      f.telemetry('hub_01', 'node_01', 10, 'v1', 30, T0 + 6000),
      f.telemetry('hub_01', 'node_01', 99, 'v1', 30, T0 + 1000),
      f.vehicle('v1', 30, T0 + 6000),
      f.vehicle('v1', 10, T0 + 1000),
    ];
    for (const [i, c] of again.entries()) assert.deepEqual(c, [], `message ${i}`);
    assert.deepEqual(f.twin.snapshot(), before);
  });

  it('every change list of a replayed day of messages holds exactly one report (property of the feed)', () => {
    const f = new Feed(new Twin({ staleAfterS: 3600 }));
    const lists: TwinChange[][] = [];
    const at = (i: number): number => T0 + i * 500;
    f.site('hub_01', 3, T0);
    for (let i = 1; i <= 200; i++) {
      const node = `node_0${(i % 3) + 1}`;
      const v = `v${i % 5}`;
      switch (i % 7) {
        case 0:
          lists.push(f.nodeStatus('hub_01', node, i % 2 ? 'charging' : 'idle', i % 2 ? v : null, at(i)));
          break;
        case 1:
          lists.push(f.request('hub_01', node, v, i % 100, at(i)));
          break;
        case 2:
          lists.push(f.vehicle(v, i % 100, at(i)));
          break;
        case 3:
          lists.push(f.hubStatus('hub_01', 'online', at(i), {}, 30 + (i % 9)));
          break;
        case 4:
          lists.push(f.dlmEvent('hub_01', node, i % 50, at(i)));
          break;
        default:
          lists.push(f.telemetry('hub_01', node, i % 40, i % 2 ? v : null, i % 100, at(i)));
      }
    }
    for (const l of lists) {
      assert.equal(l.filter((c) => REPORTS.has(c.type)).length, 1, JSON.stringify(types(l)));
    }
  });
});
