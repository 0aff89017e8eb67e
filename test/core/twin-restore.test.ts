import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Twin, TwinInputError, type TwinConfig, type TwinSnapshot } from '../../core/twin';
import { Feed, T0, ofType, types } from './twin-feed';

const HUBS = ['hub_a', 'hub_b'];
const NODES = ['node_01', 'node_02'];
const VEHICLES = ['v1', 'v2', 'v3'];
const CONFIG: Partial<TwinConfig> = { staleAfterS: 10, assignmentTimeoutS: 30, offlineSessionCloseS: 60 };

type Step =
  | { k: 'hubInfo'; h: number; cap: number }
  | { k: 'hubStatus'; h: number; state: string; retained: boolean }
  | { k: 'nodeInfo'; h: number; n: number; max: number }
  | { k: 'nodeStatus'; h: number; n: number; state: string; v: number | null }
  | { k: 'tel'; h: number; n: number; p: number; v: number | null; soc: number }
  | { k: 'veh'; v: number; soc: number }
  | { k: 'req'; h: number; n: number; v: number; soc: number }
  | { k: 'dlm'; h: number; n: number; kw: number }
  | { k: 'tick' }
  | { k: 'op'; cmd: object };

const idx = (n: number) => fc.integer({ min: 0, max: n - 1 });
const vOrNull = fc.option(idx(VEHICLES.length), { nil: null });
const opCmd: fc.Arbitrary<object> = fc.oneof(
  fc.record({
    op: fc.constant('hub-upsert'),
    hub_id: fc.constantFrom(...HUBS),
    max_grid_capacity_kw: fc.integer({ min: 0, max: 200 }),
  }),
  fc.record({ op: fc.constant('hub-active'), hub_id: fc.constantFrom(...HUBS), active: fc.boolean() }),
  fc.record({
    op: fc.constant('hub-capacity-override'),
    hub_id: fc.constantFrom(...HUBS),
    override: fc.option(
      fc.record({
        kw: fc.integer({ min: 0, max: 100 }),
        from_ms: fc.constant(T0),
        until_ms: fc.constant(T0 + 1e7),
      }),
      { nil: null },
    ),
  }),
  fc.record({
    op: fc.constant('node-upsert'),
    hub_id: fc.constantFrom(...HUBS),
    node_id: fc.constantFrom(...NODES),
    max_power_kw: fc.integer({ min: 1, max: 50 }),
  }),
  fc.record({
    op: fc.constant('node-maintenance'),
    hub_id: fc.constantFrom(...HUBS),
    node_id: fc.constantFrom(...NODES),
    maintenance: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('node-max-power-override'),
    hub_id: fc.constantFrom(...HUBS),
    node_id: fc.constantFrom(...NODES),
    kw: fc.option(fc.integer({ min: 0, max: 40 }), { nil: null }),
  }),
  fc.record({
    op: fc.constant('node-delete'),
    hub_id: fc.constantFrom(...HUBS),
    node_id: fc.constantFrom(...NODES),
  }),
  fc.record({
    op: fc.constant('vehicle-upsert'),
    vehicle_id: fc.constantFrom(...VEHICLES),
    priority: fc.boolean(),
    battery_capacity_kwh: fc.constantFrom(40, 60, 90),
  }),
  fc.record({ op: fc.constant('vehicle-delete'), vehicle_id: fc.constantFrom(...VEHICLES) }),
  fc.record({
    op: fc.constant('session-end'),
    hub_id: fc.constantFrom(...HUBS),
    node_id: fc.constantFrom(...NODES),
  }),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ k: fc.constant('hubInfo' as const), h: idx(2), cap: fc.integer({ min: 0, max: 200 }) }),
  fc.record({
    k: fc.constant('hubStatus' as const),
    h: idx(2),
    state: fc.constantFrom('online', 'offline', 'maintenance'),
    retained: fc.boolean(),
  }),
  fc.record({
    k: fc.constant('nodeInfo' as const),
    h: idx(2),
    n: idx(2),
    max: fc.integer({ min: 1, max: 100 }),
  }),
  fc.record({
    k: fc.constant('nodeStatus' as const),
    h: idx(2),
    n: idx(2),
    state: fc.constantFrom('idle', 'charging', 'full', 'faulted'),
    v: vOrNull,
  }),
  fc.record({
    k: fc.constant('tel' as const),
    h: idx(2),
    n: idx(2),
    p: fc.integer({ min: 0, max: 60 }),
    v: vOrNull,
    soc: fc.integer({ min: 0, max: 100 }),
  }),
  fc.record({ k: fc.constant('veh' as const), v: idx(3), soc: fc.integer({ min: 0, max: 100 }) }),
  fc.record({
    k: fc.constant('req' as const),
    h: idx(2),
    n: idx(2),
    v: idx(3),
    soc: fc.integer({ min: 0, max: 100 }),
  }),
  fc.record({ k: fc.constant('dlm' as const), h: idx(2), n: idx(2), kw: fc.integer({ min: 0, max: 50 }) }),
  fc.constant({ k: 'tick' as const }),
  fc.record({ k: fc.constant('op' as const), cmd: opCmd }),
);

/** Runs one step at `at`; refusals (TwinInputError) are part of the game. */
function run(f: Feed, s: Step, at: number): void {
  const h = HUBS[(s as { h?: number }).h ?? 0]!;
  const n = NODES[(s as { n?: number }).n ?? 0]!;
  const v = (i: number | null): string | null => (i === null ? null : VEHICLES[i]!);
  try {
    switch (s.k) {
      case 'hubInfo':
        f.hubInfo(h, at, s.cap);
        break;
      case 'hubStatus':
        f.hubStatus(h, s.state, at, { retained: s.retained });
        break;
      case 'nodeInfo':
        f.nodeInfo(h, n, at, s.max);
        break;
      case 'nodeStatus':
        f.nodeStatus(h, n, s.state, s.state === 'charging' ? v(s.v) : null, at);
        break;
      case 'tel':
        f.telemetry(h, n, s.p, v(s.v), s.soc, at);
        break;
      case 'veh':
        f.vehicle(v(s.v)!, s.soc, at);
        break;
      case 'req':
        f.request(h, n, v(s.v)!, s.soc, at);
        break;
      case 'dlm':
        f.dlmEvent(h, n, s.kw, at);
        break;
      case 'tick':
        f.twin.tick(at);
        break;
      case 'op':
        f.twin.operate(s.cmd, 'prop', at);
        break;
    }
  } catch (e) {
    if (!(e instanceof TwinInputError)) throw e;
  }
}

const roundTrip = (t: Twin): Twin =>
  Twin.restore(JSON.parse(JSON.stringify(t.snapshot())) as TwinSnapshot, CONFIG);

describe('core/twin restore', () => {
  it('Twin.restore(twin.snapshot()) gives the same views, and both go on alike (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(step, fc.integer({ min: 1, max: 4000 })), { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(step, fc.integer({ min: 1, max: 4000 })), { maxLength: 30 }),
        (before, after) => {
          const a = new Feed(new Twin(CONFIG));
          let at = T0;
          for (const [s, dt] of before) run(a, s, (at += dt));
          const b = new Feed(roundTrip(a.twin));
          assert.deepEqual(b.twin.snapshot(), a.twin.snapshot());
          assert.deepEqual(b.twin.hubs(), a.twin.hubs());
          assert.deepEqual(b.twin.vehicles(), a.twin.vehicles());
          assert.deepEqual(b.twin.openSessions(), a.twin.openSessions());
          assert.deepEqual(b.twin.stats(), a.twin.stats());
          for (const [s, dt] of after) {
            at += dt;
            run(a, s, at);
            run(b, s, at);
          }
          assert.deepEqual(b.twin.snapshot(), a.twin.snapshot());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps request assignments (vehicle, time, SoC): a redelivered request is a duplicate, the timeout still runs', () => {
    const f = new Feed(new Twin({ assignmentTimeoutS: 120, staleAfterS: 1000 }));
    f.site('hub_01', 2, T0);
    f.request('hub_01', 'node_01', 'v1', 25, T0 + 1000, { now: T0 + 1100 });
    const r = new Feed(
      Twin.restore(
        JSON.parse(JSON.stringify(f.twin.snapshot())) as TwinSnapshot,
        { assignmentTimeoutS: 120, staleAfterS: 1000 },
        T0 + 30_000,
      ),
    );
    const n = r.twin.node('hub_01', 'node_01');
    assert.deepEqual(
      [n?.assignedVehicleId, n?.assignedAtMs, n?.assignedTs, n?.assignedSoc, n?.vehicleId],
      ['v1', T0 + 1100, T0 + 1000, 25, 'v1'],
    );
    assert.deepEqual(
      r.request('hub_01', 'node_01', 'v1', 25, T0 + 1000, { now: T0 + 31_000 }),
      [],
      'broker redelivery',
    );
    assert.equal(r.twin.checkAssign('hub_01', 'node_01', 'v2', T0 + 31_000), 'node-busy');
    assert.deepEqual(ofType(r.twin.tick(T0 + 1100 + 120_000), 'node-assignment-cleared'), []);
    const c = r.twin.tick(T0 + 1100 + 120_001);
    assert.deepEqual(types(c), ['node-assignment-cleared']);
    assert.equal(ofType(c, 'node-assignment-cleared')[0]?.reason, 'timeout');
  });

  it('keeps operator settings: registrations, active, overrides, maintenance, an ended session', () => {
    const f = new Feed();
    f.site('hub_01', 2, T0);
    f.nodeStatus('hub_01', 'node_02', 'charging', 'v1', T0 + 1);
    const t = f.twin;
    t.operate({ op: 'hub-upsert', hub_id: 'hub_01' }, 'a', T0 + 2);
    t.operate({ op: 'hub-active', hub_id: 'hub_01', active: false }, 'a', T0 + 2);
    t.operate(
      { op: 'hub-capacity-override', hub_id: 'hub_01', override: { kw: 40, until_ms: T0 + 1e6 } },
      'a',
      T0 + 2,
    );
    t.operate({ op: 'node-max-power-override', hub_id: 'hub_01', node_id: 'node_01', kw: 7 }, 'a', T0 + 2);
    t.operate(
      { op: 'node-maintenance', hub_id: 'hub_01', node_id: 'node_01', maintenance: true },
      'a',
      T0 + 2,
    );
    t.operate({ op: 'session-end', hub_id: 'hub_01', node_id: 'node_02' }, 'a', T0 + 2);
    const r = new Feed(roundTrip(t));
    const h = r.twin.hub('hub_01');
    assert.deepEqual(
      [h?.registered, h?.active, h?.capacityOverride],
      [true, false, { kw: 40, fromMs: null, untilMs: T0 + 1e6 }],
    );
    const n1 = r.twin.node('hub_01', 'node_01');
    assert.deepEqual([n1?.maxPowerOverrideKw, n1?.operatorMaintenance, n1?.maintenance], [7, true, true]);
    // The stuck pad's retained status after the restart does not reopen the ended session.
    r.nodeStatus('hub_01', 'node_02', 'charging', 'v1', T0 + 1, { retained: true });
    r.nodeStatus('hub_01', 'node_02', 'charging', 'v1', T0 + 5000);
    assert.equal(r.twin.openSessions().length, 0);
  });
});
