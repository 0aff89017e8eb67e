import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decode, type InboundMessage } from '../../core/contract';
import { Twin, sessionIdOf, type TwinChange, type TwinSnapshot } from '../../core/twin';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const H = 'hub_01';
const N = 'node_01';
const iso = (ms: number): string => new Date(ms).toISOString();

function dec(topic: string, payload: object, nowMs: number): InboundMessage {
  const r = decode(topic, JSON.stringify(payload), nowMs);
  if (!r.ok) throw new Error(`fixture rejected: ${topic} ${JSON.stringify(r)}`);
  return r.msg;
}
const status = (state: string, vehicle: string | null, at: number, node = N): InboundMessage =>
  dec(
    `iot/hubs/${H}/nodes/${node}/status`,
    { state, current_vehicle_id: vehicle, error_code: 0, timestamp: iso(at) },
    at,
  );
const tel = (powerKw: number, vehicle: string | null, soc: number, at: number, node = N): InboundMessage =>
  dec(
    `iot/hubs/${H}/nodes/${node}/telemetry`,
    {
      voltage: 400,
      current: 100,
      power_kw: powerKw,
      power_limit_kw: 78,
      is_occupied: vehicle !== null,
      connected_vehicle_id: vehicle ?? 'n/a',
      current_vehicle_soc: vehicle === null ? 0 : soc,
      timestamp: iso(at),
    },
    at,
  );
const hubStatus = (state: string, at: number): InboundMessage =>
  dec(`iot/hubs/${H}/status`, { state, cpu_temp: 30, timestamp: iso(at) }, at);

function site(twin: Twin, at = T0): void {
  twin.apply(
    dec(
      `iot/hubs/${H}/info`,
      {
        hub_id: H,
        location: { latitude: 1, longitude: 2 },
        max_grid_capacity_kw: 100,
        ip_address: '10.0.0.2',
        firmware_version: '2',
      },
      at,
    ),
    at,
  );
  twin.apply(hubStatus('online', at), at);
  for (const n of ['node_01', 'node_02']) {
    twin.apply(dec(`iot/hubs/${H}/nodes/${n}/info`, { node_id: n, hub_id: H, max_power_kw: 50 }, at), at);
    twin.apply(status('idle', null, at, n), at);
  }
}
const run = (twin: Twin, msgs: InboundMessage[]): TwinChange[] => msgs.flatMap((m) => twin.apply(m, m.ts));
const ofType = <K extends TwinChange['type']>(cs: TwinChange[], t: K): Extract<TwinChange, { type: K }>[] =>
  cs.filter((c): c is Extract<TwinChange, { type: K }> => c.type === t);
const kwh = (p0: number, p1: number, dtMs: number): number => (((p0 + p1) / 2) * dtMs) / 3_600_000;

describe('core/twin sessions: opening and closing', () => {
  for (const end of ['idle', 'full', 'faulted'] as const) {
    it(`opens on status charging with a vehicle and closes on ${end}, with energy, duration, average, peak, SoCs`, () => {
      const t = new Twin();
      site(t);
      t.apply(
        dec(
          'iot/vehicles/v1/telemetry',
          {
            geo_location: { latitude: 1, longitude: 2 },
            battery_level: 30,
            is_charging: true,
            timestamp: iso(T0),
          },
          T0,
        ),
        T0,
      );
      const opened = ofType(run(t, [status('charging', 'v1', T0 + 1000)]), 'session-opened');
      assert.equal(opened.length, 1);
      assert.equal(opened[0]?.sessionId, sessionIdOf(H, N, T0 + 1000));
      assert.equal(opened[0]?.session.startSoc, 30);
      const c = run(t, [
        tel(20, 'v1', 30, T0 + 2000),
        tel(40, 'v1', 31, T0 + 4000),
        tel(30, 'v1', 32, T0 + 7000),
        status(end, end === 'faulted' ? null : 'v1', T0 + 9000),
      ]);
      assert.equal(ofType(c, 'session-updated').length, 3);
      const closed = ofType(c, 'session-closed');
      assert.equal(closed.length, 1);
      const s = closed[0]?.session;
      assert.ok(s);
      assert.equal(closed[0]?.reason, end);
      assert.equal(s.closeReason, end);
      const energy = kwh(20, 40, 2000) + kwh(40, 30, 3000);
      assert.ok(Math.abs(s.energyKwh - energy) < 1e-12);
      assert.equal(s.endTs, T0 + 9000);
      assert.equal(s.durationS, 8);
      assert.ok(Math.abs(s.averagePowerKw - energy / (8 / 3600)) < 1e-9);
      assert.equal(s.peakPowerKw, 40);
      assert.equal(s.startSoc, 30);
      assert.equal(s.endSoc, 32);
      assert.equal(t.openSession(H, N), undefined);
      assert.equal(t.vehicle('v1')?.nodeId, null);
    });
  }

  it('opens from telemetry (occupied, vehicle, power > 0) while the status says charging without a vehicle', () => {
    const t = new Twin();
    site(t);
    assert.equal(
      ofType(run(t, [tel(30, 'v1', 40, T0 + 500)]), 'session-opened').length,
      0,
      'status still idle',
    );
    run(t, [status('charging', null, T0 + 1000)]);
    assert.equal(ofType(run(t, [tel(0, 'v1', 40, T0 + 2000)]), 'session-opened').length, 0, 'no power yet');
    const c = run(t, [tel(30, 'v1', 40, T0 + 4000)]);
    const o = ofType(c, 'session-opened');
    assert.equal(o.length, 1);
    assert.equal(o[0]?.session.startTs, T0 + 4000);
    assert.equal(o[0]?.session.startSoc, 40);
    run(t, [tel(50, 'v1', 40, T0 + 6000)]);
    assert.ok(Math.abs((t.openSession(H, N)?.energyKwh ?? 0) - kwh(30, 50, 2000)) < 1e-12);
  });

  it('closes and reopens when a different vehicle appears (status or telemetry)', () => {
    const t = new Twin();
    site(t);
    run(t, [status('charging', 'v1', T0 + 1000), tel(10, 'v1', 10, T0 + 2000)]);
    const c = run(t, [status('charging', 'v2', T0 + 3000)]);
    assert.deepEqual(
      c.filter((x) => x.type.startsWith('session')).map((x) => [x.type, 'vehicleId' in x ? x.vehicleId : '']),
      [
        ['session-closed', 'v1'],
        ['session-opened', 'v2'],
      ],
    );
    assert.equal(ofType(c, 'session-closed')[0]?.reason, 'vehicle-changed');
    const c2 = run(t, [tel(10, 'v3', 10, T0 + 5000)]);
    assert.equal(ofType(c2, 'session-closed')[0]?.vehicleId, 'v2');
    assert.equal(ofType(c2, 'session-opened')[0]?.vehicleId, 'v3');
    assert.equal(t.openSessions().length, 1);
    // A late telemetry of v2 (older than v3's session) does not switch back.
    const late = run(t, [tel(10, 'v2', 10, T0 + 4500)]);
    assert.deepEqual(ofType(late, 'session-opened'), []);
    assert.equal(t.openSession(H, N)?.vehicleId, 'v3');
  });

  it('closes sessions of a hub offline longer than offlineSessionCloseS, and not before', () => {
    const t = new Twin({ offlineSessionCloseS: 300, staleAfterS: 10 });
    site(t);
    run(t, [status('charging', 'v1', T0 + 1000), tel(10, 'v1', 10, T0 + 2000), tel(20, 'v1', 10, T0 + 4000)]);
    t.apply(hubStatus('offline', T0 + 5000), T0 + 5000);
    assert.deepEqual(ofType(t.tick(T0 + 5000 + 299_000), 'session-closed'), []);
    const c = ofType(t.tick(T0 + 5000 + 300_000), 'session-closed');
    assert.equal(c.length, 1);
    assert.equal(c[0]?.reason, 'hub-offline');
    assert.equal(c[0]?.session.endTs, T0 + 4000, 'ends at the last sample');
    assert.equal(c[0]?.ts, T0 + 305_000);
    assert.deepEqual(t.tick(T0 + 400_000), []);
  });

  it('closes sessions of a hub silent (stale) longer than offlineSessionCloseS', () => {
    const t = new Twin({ offlineSessionCloseS: 60, staleAfterS: 10 });
    site(t);
    run(t, [status('charging', 'v1', T0 + 1000), tel(10, 'v1', 10, T0 + 2000)]);
    assert.deepEqual(ofType(t.tick(T0 + 61_000), 'session-closed'), []);
    const c = ofType(t.tick(T0 + 62_000), 'session-closed');
    assert.equal(c[0]?.reason, 'hub-offline');
  });

  it('keeps the session when the hub comes back in time', () => {
    const t = new Twin({ offlineSessionCloseS: 60, staleAfterS: 10 });
    site(t);
    run(t, [status('charging', 'v1', T0 + 1000), tel(10, 'v1', 10, T0 + 2000)]);
    t.tick(T0 + 30_000);
    run(t, [tel(10, 'v1', 10, T0 + 40_000)]);
    assert.deepEqual(ofType(t.tick(T0 + 70_000), 'session-closed'), [], 'silent 30 s only, not 60');
    assert.ok(t.openSession(H, N));
  });
});

describe('core/twin sessions: duplicates, order, gaps', () => {
  it('integrates each telemetry timestamp once, ignores older or equal ones', () => {
    const t = new Twin();
    site(t);
    run(t, [status('charging', 'v1', T0 + 1000), tel(10, 'v1', 10, T0 + 2000), tel(30, 'v1', 10, T0 + 4000)]);
    const e = t.openSession(H, N)?.energyKwh;
    const c = run(t, [
      tel(30, 'v1', 10, T0 + 4000),
      tel(99, 'v1', 10, T0 + 3000),
      status('charging', 'v1', T0 + 1000),
    ]);
    assert.deepEqual(c, []);
    assert.equal(t.openSession(H, N)?.energyKwh, e);
    assert.ok(Math.abs((e ?? 0) - kwh(10, 30, 2000)) < 1e-12);
  });

  it('does not integrate telemetry older than the session start', () => {
    const t = new Twin();
    site(t);
    run(t, [status('charging', 'v1', T0 + 5000), tel(50, 'v1', 10, T0 + 4000), tel(50, 'v1', 10, T0 + 6000)]);
    const s = t.openSession(H, N);
    assert.equal(s?.energyKwh, 0);
    assert.equal(s?.lastSampleTs, T0 + 6000);
  });

  it('does not integrate across a silence longer than staleAfterS', () => {
    const t = new Twin({ staleAfterS: 10 });
    site(t);
    run(t, [status('charging', 'v1', T0), tel(60, 'v1', 10, T0 + 1000), tel(60, 'v1', 10, T0 + 61_000)]);
    assert.equal(t.openSession(H, N)?.energyKwh, 0);
    run(t, [tel(60, 'v1', 10, T0 + 63_000)]);
    assert.ok(Math.abs((t.openSession(H, N)?.energyKwh ?? 0) - kwh(60, 60, 2000)) < 1e-12);
  });

  it('does not reopen a closed session on a late duplicate of its charging status', () => {
    const t = new Twin();
    site(t);
    run(t, [status('charging', 'v1', T0 + 1000), status('idle', null, T0 + 5000)]);
    const c = run(t, [status('charging', 'v1', T0 + 1000)]);
    assert.deepEqual(c, []);
    assert.equal(t.openSessions().length, 0);
  });

  it('gives the same sessions and snapshot whether every message is delivered once or twice (property)', () => {
    const step = fc.oneof(
      fc.record({
        k: fc.constant('status' as const),
        state: fc.constantFrom('idle', 'charging', 'full', 'faulted'),
        v: fc.constantFrom('v1', 'v2', null),
        node: fc.constantFrom('node_01', 'node_02'),
      }),
      fc.record({
        k: fc.constant('tel' as const),
        p: fc.integer({ min: 0, max: 50 }),
        v: fc.constantFrom('v1', 'v2', null),
        node: fc.constantFrom('node_01', 'node_02'),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const msgs = steps.map((s, i) => {
          const at = T0 + 1000 + i * 1500;
          return s.k === 'status' ? status(s.state, s.v, at, s.node) : tel(s.p, s.v, 50, at, s.node);
        });
        const once = new Twin();
        const twice = new Twin();
        site(once);
        site(twice);
        const c1 = run(once, msgs);
        const c2 = msgs.flatMap((m) => [...twice.apply(m, m.ts), ...twice.apply(m, m.ts)]);
        assert.deepEqual(c2, c1);
        assert.deepEqual(twice.snapshot(), once.snapshot());
        // Session bookkeeping: every opened session is either closed or still the open one of its node.
        const opened = ofType(c1, 'session-opened').map((c) => c.sessionId);
        const closed = new Set(ofType(c1, 'session-closed').map((c) => c.sessionId));
        const open = once.openSessions().map((s) => s.sessionId);
        assert.equal(new Set(opened).size, opened.length, 'unique ids');
        assert.deepEqual(opened.filter((id) => !closed.has(id)).sort(), [...open].sort());
      }),
      { numRuns: 150 },
    );
  });
});

describe('core/twin sessions: restore', () => {
  function charging(): Twin {
    const t = new Twin();
    site(t);
    run(t, [status('charging', 'v1', T0 + 1000), tel(10, 'v1', 20, T0 + 2000), tel(30, 'v1', 21, T0 + 4000)]);
    return t;
  }

  it('continues a session from a snapshot: same id, energy continues, no duplicate on retained status', () => {
    const t = charging();
    const snap = JSON.parse(JSON.stringify(t.snapshot())) as TwinSnapshot;
    const r = Twin.restore(snap, {}, T0 + 4500);
    const s0 = r.openSession(H, N);
    assert.equal(s0?.sessionId, sessionIdOf(H, N, T0 + 1000));
    assert.equal(r.vehicle('v1')?.nodeId, N);
    // The broker re-delivers the retained charging status; then a newer one with the same vehicle.
    const c = run(r, [status('charging', 'v1', T0 + 1000), status('charging', 'v1', T0 + 4200)]);
    assert.deepEqual(ofType(c, 'session-opened'), []);
    run(r, [tel(50, 'v1', 21, T0 + 6000)]);
    run(t, [tel(50, 'v1', 21, T0 + 6000)]);
    const expected = kwh(10, 30, 2000) + kwh(30, 50, 2000);
    assert.ok(Math.abs((r.openSession(H, N)?.energyKwh ?? 0) - expected) < 1e-12);
    assert.deepEqual(r.openSession(H, N), t.openSession(H, N));
    assert.equal(r.openSessions().length, 1);
    const closed = ofType(run(r, [status('idle', null, T0 + 8000)]), 'session-closed');
    assert.equal(closed[0]?.sessionId, s0?.sessionId);
    assert.equal(closed[0]?.session.startSoc, 20);
  });

  it('restores from minimal PostgreSQL-like rows (no last sample): energy continues from the stored value', () => {
    const snap: TwinSnapshot = {
      version: 1,
      hubs: [{ hubId: H, maxGridCapacityKw: 100, state: 'online', lastSeenMs: T0 }],
      nodes: [
        {
          hubId: H,
          nodeId: N,
          maxPowerKw: 50,
          state: 'charging',
          statusVehicleId: 'v1',
          statusTs: T0 + 1000,
        },
      ],
      vehicles: [{ vehicleId: 'v1', soc: 40 }],
      sessions: [
        { sessionId: 'db-7', hubId: H, nodeId: N, vehicleId: 'v1', startTs: T0 + 1000, energyKwh: 2.5 },
      ],
    };
    const r = Twin.restore(snap, {}, T0 + 60_000);
    assert.equal(r.isAvailable(H), false, 'silent for 60 s: stale, a restart does not revive it');
    assert.equal(r.hub(H)?.stale, true);
    assert.equal(r.vehicle('v1')?.soc, 40);
    const back = run(r, [tel(36, 'v1', 40, T0 + 61_000), tel(36, 'v1', 40, T0 + 63_000)]);
    assert.equal(ofType(back, 'hub-state')[0]?.available, true, 'its first live telemetry');
    const s = r.openSession(H, N);
    assert.equal(s?.sessionId, 'db-7');
    assert.ok(Math.abs((s?.energyKwh ?? 0) - (2.5 + kwh(36, 36, 2000))) < 1e-12);
    assert.equal(r.tick(T0 + 73_000).length, 0);
    assert.equal(ofType(r.tick(T0 + 74_000), 'hub-state')[0]?.stale, true);
  });

  it("restore: a hub fresh at restart stays available; the downtime does not close a silent hub's sessions", () => {
    const snap: TwinSnapshot = {
      version: 1,
      hubs: [
        { hubId: H, maxGridCapacityKw: 100, state: 'online', lastSeenMs: T0 },
        { hubId: 'hub_02', maxGridCapacityKw: 100, state: 'online', lastSeenMs: T0 - 3_600_000 },
      ],
      nodes: [
        { hubId: H, nodeId: N, state: 'charging' },
        { hubId: 'hub_02', nodeId: N, state: 'charging' },
      ],
      vehicles: [],
      sessions: [
        { hubId: H, nodeId: N, vehicleId: 'v1', startTs: T0 - 5000 },
        { hubId: 'hub_02', nodeId: N, vehicleId: 'v2', startTs: T0 - 3_700_000 },
      ],
    };
    const r = Twin.restore(snap, { staleAfterS: 10, offlineSessionCloseS: 300 }, T0 + 4000);
    assert.equal(r.isAvailable(H), true, 'last seen 4 s ago');
    assert.equal(r.isAvailable('hub_02'), false, 'last seen an hour ago');
    assert.deepEqual(
      ofType(r.tick(T0 + 4000 + 299_000), 'session-closed').map((c) => c.hubId),
      [],
    );
    const closed = ofType(r.tick(T0 + 4000 + 300_000), 'session-closed');
    assert.deepEqual(
      closed.map((c) => [c.hubId, c.reason]),
      [
        [H, 'hub-offline'],
        ['hub_02', 'hub-offline'],
      ],
      'both silent for offlineSessionCloseS after the restart',
    );
  });

  it('keeps only the latest of two open sessions on one node and reports the other closed', () => {
    const snap: TwinSnapshot = {
      version: 1,
      hubs: [{ hubId: H, state: 'online' }],
      nodes: [{ hubId: H, nodeId: N, state: 'charging' }],
      vehicles: [],
      sessions: [
        { hubId: H, nodeId: N, vehicleId: 'v1', startTs: T0 + 1000, energyKwh: 1 },
        { hubId: H, nodeId: N, vehicleId: 'v2', startTs: T0 + 9000, energyKwh: 0.5 },
        { hubId: H, nodeId: N, vehicleId: 'v0', startTs: T0, endTs: T0 + 500 },
      ],
    };
    const { twin, changes } = Twin.restoreWithChanges(snap, {}, T0 + 10_000);
    assert.equal(twin.openSessions().length, 1);
    assert.equal(twin.openSession(H, N)?.vehicleId, 'v2');
    assert.equal(changes.length, 1);
    const c = ofType(changes, 'session-closed')[0];
    assert.equal(c?.reason, 'duplicate');
    assert.equal(c?.sessionId, sessionIdOf(H, N, T0 + 1000));
    assert.equal(c?.session.endTs, T0 + 9000);
  });

  it('round-trips a whole twin through a JSON snapshot', () => {
    const t = charging();
    t.setVehicleProfile('v1', { priority: true, batteryKwh: 77, driver: 'D' }, T0 + 4100);
    t.setNodeMaintenance(H, 'node_02', true, T0 + 4100);
    const snap = t.snapshot();
    const r = Twin.restore(JSON.parse(JSON.stringify(snap)) as TwinSnapshot);
    assert.deepEqual(r.snapshot(), snap);
  });
});
