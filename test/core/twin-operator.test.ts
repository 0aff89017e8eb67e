import assert from 'node:assert/strict';
import {
  Twin,
  TwinConflict,
  TwinInputError,
  TwinNotFound,
  TwinRefusal,
  type TwinChange,
} from '../../core/twin';
import { Feed, T0, ofType, types } from './twin-feed';

const NOW = T0 + 10_000;

function action(cs: TwinChange[]): Extract<TwinChange, { type: 'operator-action' }> {
  const a = ofType(cs, 'operator-action');
  assert.equal(a.length, 1, JSON.stringify(types(cs)));
  assert.equal(cs.at(-1)?.type, 'operator-action', 'the audit record comes last');
  return a[0]!;
}

/** Asserts that the command throws TwinInputError with exactly these `field: message` problems. */
function rejects(twin: Twin, cmd: unknown, problems: string[], actor = 'ann'): void {
  const before = JSON.stringify(twin.snapshot());
  assert.throws(
    () => twin.operate(cmd, actor, NOW),
    (e: unknown) => {
      assert.ok(e instanceof TwinInputError, String(e));
      assert.deepEqual(
        e.problems.map((p) => `${p.field}: ${p.message}`),
        problems,
      );
      assert.equal(e.message, problems.join('; '));
      return true;
    },
  );
  assert.equal(JSON.stringify(twin.snapshot()), before, 'nothing changed');
}

describe('core/twin operator commands: hubs', () => {
  it('hub-upsert creates a registered hub without capacity, then sets it; audited with before/after', () => {
    const t = new Twin();
    const r = t.operate({ op: 'hub-upsert', hub_id: 'hub_01', note: 'new site' }, 'ann', NOW);
    assert.deepEqual(types(r.changes), ['hub-upserted', 'operator-action']);
    assert.equal(r.result.registered, true);
    assert.equal(r.result.maxGridCapacityKw, null);
    assert.equal(r.result.active, true);
    assert.equal(ofType(r.changes, 'hub-upserted')[0]?.created, true);
    const a = action(r.changes);
    assert.deepEqual(
      [a.actor, a.op, a.target, a.before, a.note, a.ts],
      ['ann', 'hub-upsert', { hubId: 'hub_01' }, null, 'new site', NOW],
    );
    assert.equal(a.after?.registered, true);
    const f = new Feed(t);
    f.hubStatus('hub_01', 'online', NOW);
    f.nodeStatus('hub_01', 'node_01', 'idle', null, NOW);
    assert.equal(
      ofType(f.request('hub_01', 'node_01', 'v1', 30, NOW), 'request-rejected')[0]?.reason,
      'hub-no-capacity',
    );
    const u = t.operate(
      {
        op: 'hub-upsert',
        hub_id: 'hub_01',
        max_grid_capacity_kw: 80,
        location: { latitude: 45, longitude: 9 },
        ip_address: '2001:db8::1',
        firmware_version: '2.1',
      },
      'ann',
      NOW + 1,
    );
    const up = ofType(u.changes, 'hub-upserted')[0];
    assert.equal(up?.created, false);
    assert.equal(up?.previous?.maxGridCapacityKw, null);
    assert.deepEqual(u.result.location, { latitude: 45, longitude: 9, altitude: 0 });
    assert.equal(action(u.changes).before?.maxGridCapacityKw, null);
    assert.equal(action(u.changes).after?.maxGridCapacityKw, 80);
    assert.equal(ofType(f.request('hub_01', 'node_01', 'v1', 30, NOW + 2), 'node-assigned').length, 1);
    const cleared = t.operate({ op: 'hub-upsert', hub_id: 'hub_01', location: null }, 'ann', NOW + 3);
    assert.equal(cleared.result.location, null);
    assert.equal(cleared.result.maxGridCapacityKw, 80, 'absent fields are kept');
  });

  it('hub-upsert takes over a hub known from MQTT (registered) and respects maxHubs', () => {
    const f = new Feed(new Twin({ maxHubs: 1 }));
    f.site('hub_01', 1, T0);
    assert.equal(f.twin.hub('hub_01')?.registered, false);
    const r = f.twin.operate({ op: 'hub-upsert', hub_id: 'hub_01' }, 'ann', NOW);
    assert.equal(r.result.registered, true);
    assert.equal(ofType(r.changes, 'hub-upserted')[0]?.previous?.registered, false);
    assert.throws(
      () => f.twin.operate({ op: 'hub-upsert', hub_id: 'hub_02' }, 'ann', NOW),
      (e: unknown) => e instanceof TwinRefusal && e.reason === 'limit-hubs' && /maxHubs 1/.test(e.message),
    );
  });

  it('hub-delete: its nodes go, open sessions close (operator), pending assignments are cleared', () => {
    const f = new Feed();
    f.site('hub_01', 2, T0);
    f.site('hub_02', 1, T0);
    f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 1000);
    f.telemetry('hub_01', 'node_01', 30, 'v1', 40, T0 + 2000);
    f.request('hub_01', 'node_02', 'v2', 40, T0 + 2000);
    const r = f.twin.operate({ op: 'hub-delete', hub_id: 'hub_01', note: 'decommissioned' }, 'ann', NOW);
    assert.equal(r.result, null);
    assert.deepEqual(types(r.changes), [
      'session-closed',
      'node-deleted',
      'node-assignment-cleared',
      'node-deleted',
      'hub-deleted',
      'operator-action',
    ]);
    const closed = ofType(r.changes, 'session-closed')[0];
    assert.equal(closed?.reason, 'operator');
    assert.equal(closed?.session.endTs, T0 + 2000, 'ends at its last sample');
    assert.equal(ofType(r.changes, 'node-assignment-cleared')[0]?.reason, 'deleted');
    assert.equal(action(r.changes).after, null);
    assert.equal(f.twin.hub('hub_01'), undefined);
    assert.deepEqual(f.twin.stats(), { hubs: 1, nodes: 1, vehicles: 2, openSessions: 0 });
    assert.equal(f.twin.vehicle('v1')?.nodeId, null);
    assert.throws(() => f.twin.operate({ op: 'hub-delete', hub_id: 'hub_01' }, 'ann', NOW), TwinNotFound);
    // Without registeredOnly, the hub's devices bring it back (unregistered).
    f.hubStatus('hub_01', 'online', NOW + 1000);
    assert.equal(f.twin.hub('hub_01')?.registered, false);
  });

  it('hub-active: an inactive hub refuses requests; the switch is audited', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    const off = f.twin.operate({ op: 'hub-active', hub_id: 'hub_01', active: false }, 'ann', T0 + 1);
    assert.deepEqual(types(off.changes), ['hub-upserted', 'operator-action']);
    assert.equal(off.result.active, false);
    assert.deepEqual(
      [action(off.changes).before, action(off.changes).after],
      [{ active: true }, { active: false }],
    );
    assert.equal(
      f.twin.isAvailable('hub_01'),
      true,
      'availability is the hub’s own; active is the operator’s',
    );
    assert.equal(
      ofType(f.request('hub_01', 'node_01', 'v1', 30, T0 + 2), 'request-rejected')[0]?.reason,
      'hub-inactive',
    );
    f.twin.operate({ op: 'hub-active', hub_id: 'hub_01', active: true }, 'ann', T0 + 3);
    assert.equal(ofType(f.request('hub_01', 'node_01', 'v1', 30, T0 + 4), 'node-assigned').length, 1);
  });

  it('hub-capacity-override: stores kW and window (the DLM applies it), null clears', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0, 140);
    const r = f.twin.operate(
      {
        op: 'hub-capacity-override',
        hub_id: 'hub_01',
        override: { kw: 60, from_ms: NOW, until_ms: NOW + 3_600_000 },
      },
      'grid-operator',
      NOW,
    );
    assert.deepEqual(r.result.capacityOverride, { kw: 60, fromMs: NOW, untilMs: NOW + 3_600_000 });
    assert.equal(r.result.maxGridCapacityKw, 140, 'the reported capacity is kept');
    assert.deepEqual(action(r.changes).before, { capacityOverride: null });
    const open = f.twin.operate(
      { op: 'hub-capacity-override', hub_id: 'hub_01', override: { kw: 50 } },
      'a',
      NOW,
    );
    assert.deepEqual(open.result.capacityOverride, { kw: 50, fromMs: null, untilMs: null });
    const clear = f.twin.operate({ op: 'hub-capacity-override', hub_id: 'hub_01', override: null }, 'a', NOW);
    assert.equal(clear.result.capacityOverride, null);
    assert.equal(ofType(clear.changes, 'hub-upserted')[0]?.previous?.capacityOverride?.kw, 50);
    rejects(
      f.twin,
      { op: 'hub-capacity-override', hub_id: 'hub_01', override: { kw: 10, from_ms: 5, until_ms: 5 } },
      ['override.until_ms: must be after from_ms'],
    );
    rejects(
      f.twin,
      { op: 'hub-capacity-override', hub_id: 'hub_01', override: { kw: -1, from_ms: 'today' } },
      [
        'override.kw: must be a number in 0..1000',
        'override.from_ms: must be a time in epoch milliseconds (1970..9999), or null',
      ],
    );
    rejects(f.twin, { op: 'hub-capacity-override', hub_id: 'hub_01' }, ['override: is required']);
  });
});

describe('core/twin operator commands: nodes', () => {
  it('node-upsert needs its hub, creates a registered node, respects maxNodes', () => {
    const f = new Feed(new Twin({ maxNodes: 2 }));
    assert.throws(
      () => f.twin.operate({ op: 'node-upsert', hub_id: 'hub_01', node_id: 'node_01' }, 'ann', NOW),
      (e: unknown) => e instanceof TwinNotFound && e.message === 'hub hub_01 is unknown',
    );
    f.site('hub_01', 1, T0);
    const r = f.twin.operate(
      { op: 'node-upsert', hub_id: 'hub_01', node_id: 'node_09', name: 'Bay 9', max_power_kw: 22 },
      'ann',
      NOW,
    );
    assert.deepEqual(types(r.changes), ['node-upserted', 'operator-action']);
    assert.deepEqual([r.result.name, r.result.maxPowerKw, r.result.registered], ['Bay 9', 22, true]);
    assert.deepEqual(action(r.changes).target, { hubId: 'hub_01', nodeId: 'node_09' });
    assert.throws(
      () => f.twin.operate({ op: 'node-upsert', hub_id: 'hub_01', node_id: 'node_10' }, 'ann', NOW),
      (e: unknown) => e instanceof TwinRefusal && e.reason === 'limit-nodes',
    );
  });

  it('node-delete closes its session (operator) and drops it', () => {
    const f = new Feed();
    f.site('hub_01', 2, T0);
    f.nodeStatus('hub_01', 'node_02', 'charging', 'v1', T0 + 1000);
    const r = f.twin.operate({ op: 'node-delete', hub_id: 'hub_01', node_id: 'node_02' }, 'ann', NOW);
    assert.deepEqual(types(r.changes), ['session-closed', 'node-deleted', 'operator-action']);
    assert.equal(ofType(r.changes, 'session-closed')[0]?.session.endTs, NOW, 'no sample: ends now');
    assert.equal(f.twin.node('hub_01', 'node_02'), undefined);
    assert.equal(f.twin.stats().nodes, 1);
    assert.equal(f.twin.openSessions().length, 0);
  });

  it('node-maintenance takes a node out (node-state, assignment cleared) and back', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    f.request('hub_01', 'node_01', 'v1', 30, T0 + 1);
    const on = f.twin.operate(
      { op: 'node-maintenance', hub_id: 'hub_01', node_id: 'node_01', maintenance: true },
      'ann',
      NOW,
    );
    assert.deepEqual(types(on.changes), [
      'node-upserted',
      'node-state',
      'node-assignment-cleared',
      'operator-action',
    ]);
    assert.equal(ofType(on.changes, 'node-assignment-cleared')[0]?.reason, 'maintenance');
    assert.deepEqual([on.result.operatorMaintenance, on.result.maintenance], [true, true]);
    const off = f.twin.operate(
      { op: 'node-maintenance', hub_id: 'hub_01', node_id: 'node_01', maintenance: false },
      'ann',
      NOW,
    );
    assert.equal(ofType(off.changes, 'node-state')[0]?.maintenance, false);
  });

  it('node-max-power-override stores kW (the DLM applies min(reported, override)), null clears', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    const r = f.twin.operate(
      { op: 'node-max-power-override', hub_id: 'hub_01', node_id: 'node_01', kw: 11 },
      'ann',
      NOW,
    );
    assert.deepEqual([r.result.maxPowerOverrideKw, r.result.maxPowerKw], [11, 78]);
    assert.deepEqual(
      [action(r.changes).before, action(r.changes).after],
      [{ maxPowerOverrideKw: null }, { maxPowerOverrideKw: 11 }],
    );
    assert.equal(
      f.twin.operate(
        { op: 'node-max-power-override', hub_id: 'hub_01', node_id: 'node_01', kw: null },
        'a',
        NOW,
      ).result.maxPowerOverrideKw,
      null,
    );
    rejects(f.twin, { op: 'node-max-power-override', hub_id: 'hub_01', node_id: 'node_01', kw: 351 }, [
      'kw: must be a number in 0..350, or null',
    ]);
    rejects(f.twin, { op: 'node-max-power-override', hub_id: 'hub_01', node_id: 'node_01' }, [
      'kw: is required',
    ]);
  });
});

describe('core/twin operator commands: vehicles and sessions', () => {
  it('vehicle-delete refuses a charging vehicle, clears a pending assignment, and drops it', () => {
    const f = new Feed();
    f.site('hub_01', 2, T0);
    f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 1);
    f.request('hub_01', 'node_02', 'v2', 30, T0 + 2);
    assert.throws(
      () => f.twin.operate({ op: 'vehicle-delete', vehicle_id: 'v1' }, 'ann', NOW),
      (e: unknown) => e instanceof TwinConflict && /charging at hub_01\/node_01/.test(e.message),
    );
    const r = f.twin.operate({ op: 'vehicle-delete', vehicle_id: 'v2' }, 'ann', NOW);
    assert.deepEqual(types(r.changes), ['node-assignment-cleared', 'vehicle-deleted', 'operator-action']);
    assert.equal(f.twin.vehicle('v2'), undefined);
    assert.equal(f.twin.node('hub_01', 'node_02')?.assignedVehicleId, null);
    assert.throws(() => f.twin.operate({ op: 'vehicle-delete', vehicle_id: 'v2' }, 'ann', NOW), TwinNotFound);
  });

  it('vehicle-upsert respects maxVehicles', () => {
    const t = new Twin({ maxVehicles: 1 });
    t.operate({ op: 'vehicle-upsert', vehicle_id: 'v1' }, 'ann', NOW);
    assert.throws(
      () => t.operate({ op: 'vehicle-upsert', vehicle_id: 'v2' }, 'ann', NOW),
      (e: unknown) => e instanceof TwinRefusal && e.reason === 'limit-vehicles',
    );
  });

  it('session-end closes the session (operator, with the note) and the node does not reopen it for that vehicle', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 1000);
    f.telemetry('hub_01', 'node_01', 30, 'v1', 40, T0 + 2000);
    const r = f.twin.operate(
      { op: 'session-end', hub_id: 'hub_01', node_id: 'node_01', note: 'car left, pad stuck' },
      'ann',
      NOW,
    );
    assert.deepEqual(types(r.changes), ['session-closed', 'operator-action']);
    assert.equal(r.result.closeReason, 'operator');
    assert.equal(r.result.endTs, T0 + 2000);
    const a = action(r.changes);
    assert.equal(a.note, 'car left, pad stuck');
    assert.deepEqual(a.target, {
      hubId: 'hub_01',
      nodeId: 'node_01',
      vehicleId: 'v1',
      sessionId: r.result.sessionId,
    });
    // The stuck pad keeps saying it charges v1: no new session …
    f.telemetry('hub_01', 'node_01', 30, 'v1', 40, T0 + 4000);
    f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 5000);
    assert.equal(f.twin.openSessions().length, 0);
    // … until its status changes.
    f.nodeStatus('hub_01', 'node_01', 'idle', null, T0 + 6000);
    f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 7000);
    assert.equal(f.twin.openSession('hub_01', 'node_01')?.vehicleId, 'v1');
    assert.throws(
      () => f.twin.operate({ op: 'session-end', hub_id: 'hub_01', node_id: 'node_09' }, 'ann', NOW),
      (e: unknown) => e instanceof TwinNotFound && /node hub_01\/node_09 is unknown/.test(e.message),
    );
    f.nodeStatus('hub_01', 'node_01', 'idle', null, T0 + 8000);
    assert.throws(
      () => f.twin.operate({ op: 'session-end', hub_id: 'hub_01', node_id: 'node_01' }, 'ann', NOW),
      /no open session/,
    );
  });

  it('registered by an operator, a hub, node and vehicle are accepted in registeredOnly mode', () => {
    const f = new Feed(new Twin({ registeredOnly: true }));
    assert.throws(() => f.hubStatus('hub_01', 'online', T0), TwinRefusal);
    f.twin.operate({ op: 'hub-upsert', hub_id: 'hub_01', max_grid_capacity_kw: 50 }, 'ann', T0);
    f.twin.operate({ op: 'node-upsert', hub_id: 'hub_01', node_id: 'node_01', max_power_kw: 22 }, 'ann', T0);
    f.twin.operate({ op: 'vehicle-upsert', vehicle_id: 'v1' }, 'ann', T0);
    f.hubStatus('hub_01', 'online', T0 + 1);
    f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 1);
    assert.equal(f.twin.openSession('hub_01', 'node_01')?.vehicleId, 'v1');
    assert.throws(() => f.telemetry('hub_01', 'node_01', 5, 'v9', 30, T0 + 2), TwinRefusal);
  });
});

describe('core/twin operator commands: bad input is refused field by field, nothing changes', () => {
  const f = new Feed();
  before(() => f.site('hub_01', 1, T0));

  it('names every field at fault', () => {
    rejects(f.twin, { op: 'node-upsert', hub_id: 'hub_01', node_id: 'node_01', max_power_kw: 400 }, [
      'max_power_kw: must be a number in 0..350, or null',
    ]);
    rejects(
      f.twin,
      {
        op: 'hub-upsert',
        hub_id: 'hub/01',
        location: { latitude: 100, longitude: 'x' },
        max_grid_capacity_kw: Number.POSITIVE_INFINITY,
        ip_address: '10.0.0',
        firmware_version: 'v1\u0000',
        capacity: 5,
      },
      [
        "hub_id: must not contain '/', '+' or '#'",
        'location.latitude: must be a number in -90..90',
        'location.longitude: must be a number in -180..180',
        'max_grid_capacity_kw: must be a number in 0..1000, or null',
        'ip_address: must be an IPv4 or IPv6 address, or null',
        'firmware_version: must not contain NUL or other control characters, or null',
        'capacity: is not a field of this command',
      ],
    );
    rejects(
      f.twin,
      {
        op: 'vehicle-upsert',
        vehicle_id: 'v\u0007',
        model: 'x'.repeat(101),
        battery_capacity_kwh: 0,
        priority: 'yes',
      },
      [
        'vehicle_id: must not contain control characters',
        'model: must be at most 100 characters (got 101), or null',
        'battery_capacity_kwh: must be a number above 0 and at most 1000, or null',
        'priority: must be true or false',
      ],
    );
    rejects(f.twin, { op: 'hub-active', hub_id: 'hub_01', active: 'false' }, [
      'active: must be true or false',
    ]);
    rejects(f.twin, { op: 'node-maintenance', hub_id: 'hub_01', node_id: '' }, [
      'maintenance: is required',
      'node_id: must be 1-50 characters',
    ]);
    rejects(f.twin, { op: 'session-end', hub_id: 'hub_01', node_id: 'node_01', note: 'line\nbreak' }, [
      'note: must not contain NUL or other control characters',
    ]);
    rejects(f.twin, { op: 'hub-explode', hub_id: 'hub_01' }, [
      'op: must be one of hub-upsert, hub-delete, hub-active, hub-capacity-override, node-upsert, node-delete, node-maintenance, node-max-power-override, vehicle-upsert, vehicle-delete, session-end',
    ]);
    rejects(f.twin, null, ['command: must be an object with an op']);
    rejects(f.twin, { op: 'hub-delete', hub_id: 'hub_01' }, ['actor: must not be empty'], '');
    rejects(
      f.twin,
      { op: 'hub-delete', hub_id: 'hub_01' },
      ['actor: must not contain NUL or other control characters'],
      'a\u0000',
    );
    assert.throws(() => f.twin.operate({ op: 'hub-delete', hub_id: 'hub_01' }, 'ann', Number.NaN), /nowMs/);
  });
});
