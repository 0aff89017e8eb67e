import assert from 'node:assert/strict';
import { Twin, TwinInputError, TwinRefusal, type TwinSnapshot } from '../../core/twin';
import { Feed, T0, ofType, types } from './twin-feed';

function refusal(reason: string, key: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof TwinRefusal, String(e));
    assert.ok(e instanceof TwinInputError);
    assert.equal(e.reason, reason);
    assert.match(e.message, key);
    return true;
  };
}

describe('core/twin bounds: maxHubs, maxNodes, maxVehicles', () => {
  it('refuses a message naming one hub more than maxHubs, before any change', () => {
    const f = new Feed(new Twin({ maxHubs: 2 }));
    f.site('hub_a', 1, T0);
    f.site('hub_b', 1, T0);
    const before = f.twin.snapshot();
    for (const send of [
      () => f.hubStatus('hub_c', 'online', T0 + 1000),
      () => f.hubInfo('hub_c', T0 + 1000),
      () => f.nodeInfo('hub_c', 'node_01', T0 + 1000),
      () => f.telemetry('hub_c', 'node_01', 5, 'v_new', 40, T0 + 1000),
    ]) {
      assert.throws(send, refusal('limit-hubs', /hub hub_c refused: .*2 hubs.*maxHubs 2/));
    }
    assert.deepEqual(f.twin.snapshot(), before, 'nothing created, not even the vehicle');
    assert.equal(ofType(f.telemetry('hub_a', 'node_01', 5, null, 0, T0 + 1000), 'node-telemetry').length, 1);
  });

  it('counts nodes of all hubs against maxNodes; a refused node does not create its hub either', () => {
    const f = new Feed(new Twin({ maxNodes: 3 }));
    f.site('hub_a', 2, T0);
    f.site('hub_b', 1, T0);
    assert.equal(f.twin.stats().nodes, 3);
    assert.throws(
      () => f.nodeStatus('hub_a', 'node_09', 'idle', null, T0 + 1000),
      refusal('limit-nodes', /node hub_a\/node_09 refused: .*3 nodes.*maxNodes 3/),
    );
    assert.throws(
      () => f.telemetry('hub_new', 'node_01', 1, null, 0, T0 + 1000),
      refusal('limit-nodes', /maxNodes/),
    );
    assert.equal(f.twin.hub('hub_new'), undefined);
    assert.equal(f.twin.stats().hubs, 2);
  });

  it('refuses a vehicle beyond maxVehicles wherever it is named; a request gets request-rejected instead', () => {
    const f = new Feed(new Twin({ maxVehicles: 1 }));
    f.site('hub_01', 2, T0);
    f.vehicle('v1', 50, T0);
    assert.throws(
      () => f.vehicle('v2', 50, T0 + 1000),
      refusal('limit-vehicles', /vehicle v2 refused: .*maxVehicles 1/),
    );
    const before = f.twin.snapshot();
    assert.throws(
      () => f.telemetry('hub_01', 'node_01', 5, 'v2', 40, T0 + 1000),
      refusal('limit-vehicles', /v2/),
    );
    assert.throws(
      () => f.nodeStatus('hub_01', 'node_01', 'charging', 'v2', T0 + 1000),
      refusal('limit-vehicles', /v2/),
    );
    assert.deepEqual(f.twin.snapshot(), before, 'the node message is not half-applied');
    const r = f.request('hub_01', 'node_02', 'v2', 30, T0 + 1000);
    assert.deepEqual(types(r), ['request-rejected']);
    assert.equal(ofType(r, 'request-rejected')[0]?.reason, 'limit-vehicles');
    assert.equal(f.twin.checkAssign('hub_01', 'node_02', 'v2', T0 + 1000), 'limit-vehicles');
    assert.equal(ofType(f.request('hub_01', 'node_02', 'v1', 30, T0 + 1000), 'node-assigned').length, 1);
  });

  it('validates the bounds in the config', () => {
    for (const bad of [{ maxHubs: -1 }, { maxNodes: 1.5 }, { maxVehicles: Number.NaN }]) {
      assert.throws(() => new Twin(bad), TwinInputError, JSON.stringify(bad));
    }
    assert.throws(() => new Twin({ registeredOnly: 'yes' as unknown as boolean }), /registeredOnly/);
    assert.throws(() => new Twin({ maxHub: 3 } as never), /maxHub is not a twin setting/);
    assert.equal(new Twin({ maxHubs: undefined }).config.maxHubs, 10_000, 'undefined keeps the default');
    assert.deepEqual(
      [new Twin().config.maxHubs, new Twin().config.maxNodes, new Twin().config.maxVehicles],
      [10_000, 100_000, 100_000],
    );
  });
});

describe('core/twin registeredOnly', () => {
  const registered: TwinSnapshot = {
    version: 1,
    hubs: [
      { hubId: 'hub_r', registered: true, maxGridCapacityKw: 100 },
      { hubId: 'hub_u', registered: false, maxGridCapacityKw: 100 },
    ],
    nodes: [
      { hubId: 'hub_r', nodeId: 'node_01', registered: true },
      { hubId: 'hub_r', nodeId: 'node_02', registered: false },
    ],
    vehicles: [{ vehicleId: 'v_r', registered: true }, { vehicleId: 'v_u' }],
    sessions: [],
  };

  it('accepts only hubs, nodes and vehicles registered by an operator', () => {
    const f = new Feed(Twin.restore(registered, { registeredOnly: true }));
    assert.deepEqual(types(f.hubStatus('hub_r', 'online', T0)), ['hub-status', 'hub-state']);
    assert.equal(ofType(f.telemetry('hub_r', 'node_01', 5, 'v_r', 40, T0), 'node-telemetry').length, 1);
    const before = f.twin.snapshot();
    const unregistered = refusal('unregistered', /not registered \(the twin is set to registeredOnly\)/);
    assert.throws(() => f.hubStatus('hub_new', 'online', T0), unregistered);
    assert.throws(() => f.hubStatus('hub_u', 'online', T0), unregistered);
    assert.throws(() => f.nodeInfo('hub_r', 'node_02', T0), unregistered);
    assert.throws(() => f.nodeInfo('hub_r', 'node_09', T0), unregistered);
    assert.throws(() => f.telemetry('hub_r', 'node_01', 5, 'v_u', 40, T0 + 1), unregistered);
    assert.throws(() => f.vehicle('v_new', 40, T0), unregistered);
    assert.throws(() => f.dlmEvent('hub_u', 'node_01', 5, T0), TwinInputError);
    assert.deepEqual(f.twin.snapshot(), before);
    const r = f.request('hub_r', 'node_01', 'v_u', 30, T0 + 10);
    assert.equal(ofType(r, 'request-rejected')[0]?.reason, 'unregistered');
    assert.equal(ofType(f.request('hub_r', 'node_01', 'v_r', 30, T0 + 10), 'node-assigned').length, 1);
  });
});

describe('core/twin freshness: what is a sign of life', () => {
  it('a retained status sets the state but does not make the hub alive; a live one does', () => {
    const f = new Feed();
    f.hubInfo('hub_01', T0);
    const r = f.hubStatus('hub_01', 'online', T0, { retained: true });
    assert.deepEqual(types(r), ['hub-status', 'hub-state']);
    assert.equal(f.twin.hub('hub_01')?.state, 'online');
    assert.equal(f.twin.isAvailable('hub_01'), false);
    assert.equal(f.twin.hub('hub_01')?.lastSeenMs, null);
    const live = f.hubStatus('hub_01', 'online', T0 + 1000, {}, 41);
    assert.equal(ofType(live, 'hub-state')[0]?.available, true);
    assert.equal(f.twin.hub('hub_01')?.lastSeenMs, T0 + 1000);
  });

  it('a status or telemetry older than staleAfterS at receipt is no sign of life; info never is', () => {
    const f = new Feed(new Twin({ staleAfterS: 10 }));
    f.hubInfo('hub_01', T0);
    f.nodeInfo('hub_01', 'node_01', T0);
    assert.equal(f.twin.isAvailable('hub_01'), false, 'info only');
    f.hubStatus('hub_01', 'online', T0, { now: T0 + 10_001 });
    f.telemetry('hub_01', 'node_01', 5, null, 0, T0 + 1, { now: T0 + 60_000 });
    assert.equal(f.twin.isAvailable('hub_01'), false, 'old messages');
    assert.equal(f.twin.node('hub_01', 'node_01')?.telemetry?.powerKw, 5, 'their data is kept');
    f.telemetry('hub_01', 'node_01', 6, null, 0, T0 + 50_000, { now: T0 + 60_000 });
    assert.equal(f.twin.isAvailable('hub_01'), true, 'exactly staleAfterS old still counts');
    assert.equal(f.twin.node('hub_01', 'node_01')?.lastSeenMs, T0 + 60_000);
  });

  it('after a restart, retained online statuses never revive hubs long dead', () => {
    const f = new Feed(new Twin({ staleAfterS: 10 }));
    f.site('hub_dead', 1, T0);
    f.site('hub_live', 1, T0 + 3_600_000);
    const snap = JSON.parse(JSON.stringify(f.twin.snapshot())) as TwinSnapshot;
    const now = T0 + 3_600_000 + 5000;
    const r = new Feed(Twin.restore(snap, { staleAfterS: 10 }, now));
    assert.equal(r.twin.isAvailable('hub_dead'), false);
    assert.equal(r.twin.isAvailable('hub_live'), true);
    // The broker delivers the retained statuses again (their timestamps are the old ones).
    r.hubStatus('hub_dead', 'online', T0 + 1, { now, retained: true });
    r.nodeStatus('hub_dead', 'node_01', 'idle', null, T0 + 1, { now, retained: true });
    // Even a retained status stamped "now" (a device without a clock) is no sign of life.
    r.hubStatus('hub_dead', 'online', now, { now, retained: true });
    assert.equal(r.twin.isAvailable('hub_dead'), false);
    assert.deepEqual(
      r.twin.tick(now + 60_000).filter((c) => c.type === 'hub-state' && c.available),
      [],
      'never available',
    );
  });

  it('vehicle telemetry: only a live, fresh one moves the vehicle last-seen time', () => {
    const f = new Feed(new Twin({ staleAfterS: 10 }));
    f.vehicle('v1', 40, T0, { retained: true });
    assert.equal(f.twin.vehicle('v1')?.lastSeenMs, null);
    assert.equal(f.twin.vehicle('v1')?.soc, 40);
    f.vehicle('v1', 41, T0 + 1000, { now: T0 + 60_000 });
    assert.equal(f.twin.vehicle('v1')?.lastSeenMs, null);
    f.vehicle('v1', 42, T0 + 61_000);
    assert.equal(f.twin.vehicle('v1')?.lastSeenMs, T0 + 61_000);
  });
});
