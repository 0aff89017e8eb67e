// Cluster mode in the twin (core/twin/watch.ts): a hub is watched only by the instance that
// owns it. Two twins stand for two instances: both hear every hub's info, status and
// requests; only the owner hears its telemetry. A single twin that hears everything is the
// reference: sessions handed over between the two come out as the single twin counts them.
import assert from 'node:assert/strict';
import { Twin, TwinConflict, type SessionView, type TwinChange } from '../../core/twin';
import { Feed, T0, ofType, types } from './twin-feed';

const S = 1000;

/** Info, status and a charging node of hub h, sent to every feed (fleet-wide topics). */
function fleetWide(feeds: Feed[], at: number): void {
  for (const f of feeds) {
    f.hubInfo('h', at, 100);
    f.hubStatus('h', 'online', at);
    f.nodeInfo('h', 'n1', at, 50);
    f.nodeStatus('h', 'n1', 'charging', 'v1', at + 1);
  }
}

/** The open session of h/n1 as its owner stored it (the last session change it reported). */
function stored(changes: readonly TwinChange[]): SessionView[] {
  const last = [...ofType(changes, 'session-opened'), ...ofType(changes, 'session-updated')]
    .sort((a, b) => a.ts - b.ts)
    .pop();
  return last ? [last.session] : [];
}

describe('core/twin: hubs watched in cluster mode (watch.ts)', () => {
  it('a single twin watches every hub; watchOwnedOnly drops open sessions without reporting them', () => {
    const f = new Feed();
    fleetWide([f], T0);
    assert.equal(f.twin.isWatched('h'), true);
    assert.equal(f.twin.stats().openSessions, 1);
    f.twin.watchOwnedOnly();
    assert.equal(f.twin.isWatched('h'), false);
    assert.equal(f.twin.stats().openSessions, 0);
    assert.equal(f.twin.isWatched('unknown'), false);
  });

  it('a hub not watched: status opens no session, and it is never stale or closed for its silence here', () => {
    const f = new Feed();
    f.twin.watchOwnedOnly();
    const changes: TwinChange[] = [];
    fleetWide([f], T0);
    changes.push(...f.telemetry('h', 'n1', 40, 'v1', 30, T0 + 2 * S)); // an in-flight message after a release
    assert.deepEqual(ofType(changes, 'session-opened'), []);
    assert.equal(f.twin.node('h', 'n1')?.state, 'charging'); // the node's state is still known
    assert.equal(f.twin.hub('h')?.maxGridCapacityKw, 100);
    for (let t = T0 + 10 * S; t <= T0 + 900 * S; t += 10 * S) changes.push(...f.twin.tick(t));
    assert.deepEqual(
      changes.filter((c) => c.type === 'hub-state' || c.type === 'session-closed'),
      [],
      'no staleness and no session closed by a twin that does not hear the telemetry',
    );
    assert.equal(f.twin.hub('h')?.stale, false);
  });

  it('a session handed over between two instances counts as on one instance (same id, same energy)', () => {
    const a = new Feed();
    const b = new Feed();
    const single = new Feed();
    a.twin.watchOwnedOnly();
    b.twin.watchOwnedOnly();
    assert.deepEqual(a.twin.watch('h', [], T0), []); // a owns h from the start
    fleetWide([a, b, single], T0);
    const aChanges: TwinChange[] = [];
    let t = T0 + 2 * S;
    const powers = [10, 30, 45, 45, 50, 20, 48, 49, 50, 12];
    // a counts the first half, then loses h; b acquires it and counts the rest.
    for (const p of powers.slice(0, 5)) {
      aChanges.push(...a.telemetry('h', 'n1', p, 'v1', 30, t));
      single.telemetry('h', 'n1', p, 'v1', 30, t);
      t += 2 * S;
    }
    a.twin.unwatch('h');
    assert.equal(a.twin.openSession('h', 'n1'), undefined);
    assert.deepEqual(b.twin.watch('h', stored(aChanges), t), []);
    const bChanges: TwinChange[] = [];
    for (const p of powers.slice(5)) {
      bChanges.push(...b.telemetry('h', 'n1', p, 'v1', 30, t));
      single.telemetry('h', 'n1', p, 'v1', 30, t);
      t += 2 * S;
    }
    const got = b.twin.openSession('h', 'n1')!;
    const want = single.twin.openSession('h', 'n1')!;
    assert.equal(got.sessionId, want.sessionId);
    assert.ok(Math.abs(got.energyKwh - want.energyKwh) < 1e-9, `${got.energyKwh} vs ${want.energyKwh}`);
    assert.equal(got.peakPowerKw, want.peakPowerKw);
    // The status that ends it closes it where the hub is watched, with the whole energy.
    const end = b.nodeStatus('h', 'n1', 'idle', null, t);
    a.nodeStatus('h', 'n1', 'idle', null, t);
    const closed = ofType(end, 'session-closed');
    assert.equal(closed.length, 1);
    assert.ok(Math.abs(closed[0]!.session.energyKwh - want.energyKwh) < 1e-9);
  });

  it('the owner judges silence: a watched hub goes stale, and the same hub unwatched is left alone', () => {
    const owner = new Feed();
    const other = new Feed();
    owner.twin.watchOwnedOnly();
    other.twin.watchOwnedOnly();
    owner.twin.watch('h', [], T0);
    fleetWide([owner, other], T0);
    owner.telemetry('h', 'n1', 40, 'v1', 30, T0 + 2 * S);
    const later = T0 + 60 * S;
    assert.ok(types(owner.twin.tick(later)).includes('hub-state'));
    assert.equal(owner.twin.hub('h')?.stale, true);
    assert.deepEqual(other.twin.tick(later), []);
    // Released while stale: no longer stale here (its new owner judges it).
    owner.twin.unwatch('h');
    assert.equal(owner.twin.hub('h')?.stale, false);
  });

  it('watch keeps the latest stored open session of a node and reports an older one closed (duplicate)', () => {
    const f = new Feed();
    f.twin.watchOwnedOnly();
    fleetWide([f], T0);
    const older = { hubId: 'h', nodeId: 'n1', vehicleId: 'v0', startTs: T0 - 600 * S, energyKwh: 3 };
    const newer = { hubId: 'h', nodeId: 'n1', vehicleId: 'v1', startTs: T0 + 1, energyKwh: 1.5 };
    const other = { hubId: 'x', nodeId: 'n1', vehicleId: 'v9', startTs: T0 };
    const changes = f.twin.watch('h', [older, newer, other], T0 + 5 * S);
    assert.deepEqual(types(changes), ['session-closed']);
    assert.equal(ofType(changes, 'session-closed')[0]!.session.vehicleId, 'v0');
    assert.equal(f.twin.openSession('h', 'n1')?.energyKwh, 1.5);
    assert.equal(f.twin.hub('x'), undefined, 'sessions of other hubs are not taken');
    assert.throws(() => f.twin.watch('h', [], Number.NaN), /nowMs/);
  });

  it('a twin restored from PostgreSQL in cluster mode starts with nothing watched', () => {
    const f = new Feed();
    fleetWide([f], T0);
    f.telemetry('h', 'n1', 40, 'v1', 30, T0 + 2 * S);
    const restored = Twin.restore(f.twin.snapshot(), undefined, T0 + 3 * S);
    assert.equal(restored.stats().openSessions, 1);
    restored.watchOwnedOnly();
    assert.equal(restored.stats().openSessions, 0);
    assert.equal(restored.isWatched('h'), false);
  });
});

describe('core/twin: operator settings of another instance (syncControls)', () => {
  /** Two instances that heard the same fleet: `a` takes the operator's commands. */
  function pair(): { a: Feed; b: Feed } {
    const a = new Feed();
    const b = new Feed();
    for (const f of [a, b]) {
      f.site('h', 2, T0, 140);
      f.nodeStatus('h', 'node_01', 'charging', 'v1', T0 + 1);
      f.vehicle('v1', 30, T0 + 2);
    }
    return { a, b };
  }
  /** What PostgreSQL hands back: a's records of the entities named. */
  const recordsOf = (t: Twin) => {
    const s = t.snapshot();
    return { hubs: s.hubs, nodes: s.nodes, vehicles: s.vehicles };
  };
  const withoutAudit = (cs: readonly TwinChange[]) => types(cs).filter((x) => x !== 'operator-action');

  const commands: Array<[string, object]> = [
    ['hub-active', { op: 'hub-active', hub_id: 'h', active: false }],
    [
      'hub-capacity-override',
      { op: 'hub-capacity-override', hub_id: 'h', override: { kw: 60, from_ms: T0 } },
    ],
    ['node-maintenance', { op: 'node-maintenance', hub_id: 'h', node_id: 'node_02', maintenance: true }],
    ['node-max-power-override', { op: 'node-max-power-override', hub_id: 'h', node_id: 'node_01', kw: 20 }],
    [
      'vehicle priority',
      { op: 'vehicle-upsert', vehicle_id: 'v1', priority: true, battery_capacity_kwh: 77 },
    ],
  ];
  for (const [name, cmd] of commands) {
    it(`${name}: the other instance makes the same changes (no audit) and ends with the same settings`, () => {
      const { a, b } = pair();
      const done = a.twin.operate(cmd, 'ann', T0 + 5 * S);
      const synced = b.twin.syncControls(recordsOf(a.twin), T0 + 6 * S);
      assert.deepEqual(types(synced), withoutAudit(done.changes));
      assert.deepEqual(
        recordsOf(b.twin).hubs.map((h) => [h.active, h.capacityOverride]),
        recordsOf(a.twin).hubs.map((h) => [h.active, h.capacityOverride]),
      );
      assert.deepEqual(
        b.twin.nodesOf('h').map((n) => [n.operatorMaintenance, n.maxPowerOverrideKw]),
        a.twin.nodesOf('h').map((n) => [n.operatorMaintenance, n.maxPowerOverrideKw]),
      );
      assert.deepEqual(
        [b.twin.vehicle('v1')?.priority, b.twin.vehicle('v1')?.batteryKwh],
        [a.twin.vehicle('v1')?.priority, a.twin.vehicle('v1')?.batteryKwh],
      );
      // Applied again (the next poll sees the same rows): nothing more.
      assert.deepEqual(b.twin.syncControls(recordsOf(a.twin), T0 + 7 * S), []);
    });
  }

  const deletes: Array<[string, object, NonNullable<Parameters<Twin['syncControls']>[0]['deleted']>]> = [
    ['hub-delete', { op: 'hub-delete', hub_id: 'h' }, { hubs: ['h'] }],
    [
      'node-delete',
      { op: 'node-delete', hub_id: 'h', node_id: 'node_01' },
      { nodes: [{ hubId: 'h', nodeId: 'node_01' }] },
    ],
    ['vehicle-delete', { op: 'vehicle-delete', vehicle_id: 'v2' }, { vehicles: ['v2'] }],
  ];
  for (const [name, cmd, deleted] of deletes) {
    it(`${name}: the other instance removes the same entities with the same changes (no audit)`, () => {
      const { a, b } = pair();
      for (const f of [a, b]) f.vehicle('v2', 50, T0 + 3);
      const done = a.twin.operate(cmd, 'ann', T0 + 5 * S);
      const synced = b.twin.syncControls({ deleted }, T0 + 6 * S);
      assert.ok(synced.length > 0);
      assert.deepEqual(types(synced), withoutAudit(done.changes));
      assert.deepEqual(recordsOf(b.twin), recordsOf(a.twin));
      assert.deepEqual(b.twin.syncControls({ deleted }, T0 + 7 * S), [], 'applied again: nothing more');
    });
  }

  it('adds a vehicle registered through the other instance, with the same changes (no audit)', () => {
    const { a, b } = pair();
    const done = a.twin.operate(
      { op: 'vehicle-upsert', vehicle_id: 'v9', priority: true, battery_capacity_kwh: 90 },
      'ann',
      T0 + 5 * S,
    );
    const synced = b.twin.syncControls(recordsOf(a.twin), T0 + 6 * S);
    assert.deepEqual(types(synced), withoutAudit(done.changes));
    assert.deepEqual(
      [b.twin.vehicle('v9')?.priority, b.twin.vehicle('v9')?.batteryKwh, b.twin.vehicle('v9')?.registered],
      [true, 90, true],
    );
    assert.deepEqual(b.twin.syncControls(recordsOf(a.twin), T0 + 7 * S), []);
  });

  it('keeps a vehicle deleted elsewhere while it charges here (its telemetry keeps it)', () => {
    const { b } = pair();
    assert.deepEqual(b.twin.syncControls({ deleted: { vehicles: ['v1'] } }, T0 + 5 * S), []);
    assert.equal(b.twin.vehicle('v1')?.vehicleId, 'v1');
  });

  it('skips entities it does not know and takes only the operator’s settings', () => {
    const { b } = pair();
    const changes = b.twin.syncControls(
      {
        hubs: [
          { hubId: 'other', active: false },
          { hubId: 'h', maxGridCapacityKw: 1, state: 'offline' },
        ],
        nodes: [{ hubId: 'h', nodeId: 'nx', operatorMaintenance: true }],
        vehicles: [{ vehicleId: 'vx', priority: true }],
      },
      T0 + 5 * S,
    );
    assert.deepEqual(changes, []);
    assert.equal(b.twin.hub('other'), undefined);
    assert.equal(b.twin.hub('h')?.maxGridCapacityKw, 140);
    assert.equal(b.twin.hub('h')?.state, 'online');
  });

  it('a read-only twin (a standby) refuses operator commands with the reason, still follows the other', () => {
    const { a, b } = pair();
    b.twin.setReadOnly('this instance is a standby');
    assert.throws(
      () => b.twin.operate({ op: 'hub-active', hub_id: 'h', active: false }, 'ann', T0 + 5 * S),
      (e: unknown) => e instanceof TwinConflict && e.message === 'this instance is a standby',
    );
    assert.equal(b.twin.hub('h')?.active, true, 'nothing changed');
    a.twin.operate({ op: 'hub-active', hub_id: 'h', active: false }, 'ann', T0 + 5 * S);
    assert.deepEqual(types(b.twin.syncControls(recordsOf(a.twin), T0 + 6 * S)), ['hub-upserted']);
    assert.equal(b.twin.hub('h')?.active, false);
    b.twin.setReadOnly(null);
    assert.equal(
      b.twin.operate({ op: 'hub-active', hub_id: 'h', active: true }, 'ann', T0 + 7 * S).result?.active,
      true,
    );
  });

  it('session-end on an instance that does not watch the hub says where to send it (409)', () => {
    const f = new Feed();
    f.twin.watchOwnedOnly();
    f.site('h', 1, T0);
    f.nodeStatus('h', 'node_01', 'charging', 'v1', T0 + 1);
    assert.throws(
      () => f.twin.operate({ op: 'session-end', hub_id: 'h', node_id: 'node_01' }, 'ann', T0 + 2),
      (e: unknown) => e instanceof TwinConflict && /owns it/.test(e.message),
    );
  });
});

describe('core/twin: what other instances hear (applyRemote)', () => {
  it('shows the stored telemetry of nodes of hubs not watched here, newer only, reporting no change', () => {
    const f = new Feed();
    f.twin.watchOwnedOnly();
    f.site('mine', 1, T0);
    f.site('theirs', 2, T0);
    f.twin.watch('mine', [], T0);
    f.telemetry('mine', 'node_01', 30, 'v1', 40, T0 + S);
    const row = (hubId: string, nodeId: string, ts: number, powerKw: number) => ({
      hubId,
      nodeId,
      ts,
      powerKw,
      powerLimitKw: 50,
      vehicleId: 'v9',
    });
    const n = f.twin.applyRemote({
      nodes: [
        row('theirs', 'node_01', T0 + 2 * S, 22),
        row('mine', 'node_01', T0 + 9 * S, 99), // watched here: its own telemetry counts
        row('theirs', 'nx', T0 + 2 * S, 5), // unknown node
      ],
    });
    assert.deepEqual(n, { nodes: 1, vehicles: 0 });
    assert.equal(f.twin.node('theirs', 'node_01')?.telemetry?.powerKw, 22);
    assert.equal(f.twin.node('theirs', 'node_01')?.telemetry?.vehicleId, 'v9');
    assert.equal(f.twin.node('mine', 'node_01')?.telemetry?.powerKw, 30);
    // Older than what it has: kept.
    assert.deepEqual(f.twin.applyRemote({ nodes: [row('theirs', 'node_01', T0 + S, 1)] }), {
      nodes: 0,
      vehicles: 0,
    });
    assert.equal(f.twin.node('theirs', 'node_01')?.telemetry?.powerKw, 22);
    // Still no session and no staleness on a hub not watched.
    assert.equal(f.twin.openSession('theirs', 'node_01'), undefined);
    assert.deepEqual(
      ofType(f.twin.tick(T0 + 600 * S), 'hub-state').filter((c) => c.hubId === 'theirs'),
      [],
    );
  });
});

describe('core/twin: vehicles other instances heard (applyRemote)', () => {
  it('adds a vehicle unknown here with its profile, takes newer position and SoC, never over live data', () => {
    const f = new Feed();
    f.twin.watchOwnedOnly();
    f.site('mine', 1, T0);
    f.twin.watch('mine', [], T0);
    f.nodeStatus('mine', 'node_01', 'charging', 'vc', T0 + 1);
    f.telemetry('mine', 'node_01', 30, 'vc', 40, T0 + S);
    const r = f.twin.applyRemote({
      vehicles: [
        {
          vehicleId: 'va',
          lastSeenMs: T0 + 2 * S,
          position: { latitude: 45, longitude: 7, altitude: 0 },
          soc: 12,
          socSource: 'vehicle',
          socClass: 'critical',
          priority: true,
          batteryKwh: 80,
        },
        { vehicleId: 'vc', lastSeenMs: T0 + 9 * S, soc: 99 }, // charging at a hub watched here
        { vehicleId: 'vn', lastSeenMs: null }, // no telemetry: a profile only
      ],
    });
    assert.deepEqual(r, { nodes: 0, vehicles: 1 });
    const va = f.twin.vehicle('va')!;
    assert.deepEqual(
      [va.soc, va.socClass, va.priority, va.batteryKwh, va.position?.latitude],
      [12, 'critical', true, 80, 45],
    );
    assert.equal(f.twin.vehicle('vc')?.soc, 40, 'live data here wins');
    // An older row changes nothing.
    assert.deepEqual(f.twin.applyRemote({ vehicles: [{ vehicleId: 'va', lastSeenMs: T0 + S, soc: 90 }] }), {
      nodes: 0,
      vehicles: 0,
    });
    assert.equal(f.twin.vehicle('va')?.soc, 12);
  });

  it('adds no vehicle beyond maxVehicles', () => {
    const f = new Feed(new Twin({ maxVehicles: 1 }));
    f.vehicle('v1', 50, T0);
    assert.deepEqual(f.twin.applyRemote({ vehicles: [{ vehicleId: 'v2', lastSeenMs: T0 }] }), {
      nodes: 0,
      vehicles: 0,
    });
    assert.equal(f.twin.vehicle('v2'), undefined);
  });
});
