import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  EARTH_RADIUS_KM,
  haversineKm,
  recommend,
  recommendExhaustive,
  validateRecRequest,
} from '../../core/recommend';
import type { RecConfig, RecHub, RecNode, RecRequest, RecResult, Recommendation } from '../../core/recommend';

const NOW = Date.UTC(2026, 10, 26, 8, 0, 0);
const MIN = 60_000;

// 0.2 kWh/km with a 100 kWh battery: 1 km costs 0.2 % SoC; 60 km/h: 1 km = 1 min of driving.
const CFG: RecConfig = {
  consumptionKwhPerKm: 0.2,
  safetyMargin: 0.1,
  averageSpeedKmh: 60,
  criticalSoc: 20,
  alloc: { policy: 'equal', reserve: 0 },
};
// battery 50 % of 100 kWh → range 0.5 × 100 / 0.2 × 0.9 = 225 km.
const REQ: RecRequest = {
  latitude: 0,
  longitude: 0,
  battery_level: 50,
  target_soc: 80,
  battery_capacity_kwh: 100,
};

/** Longitude on the equator that lies `km` east of (0, 0). */
const lonAt = (km: number): number => (km / (EARTH_RADIUS_KM * Math.PI)) * 180;

function node(nodeId: string, maxPowerKw: number, extra: Partial<RecNode> = {}): RecNode {
  return {
    nodeId,
    maxPowerKw,
    state: 'idle',
    maintenance: false,
    occupied: false,
    vehicleSoc: null,
    critical: false,
    expectedEndMs: null,
    ...extra,
  };
}

function charging(nodeId: string, maxPowerKw: number, extra: Partial<RecNode> = {}): RecNode {
  return node(nodeId, maxPowerKw, { state: 'charging', occupied: true, vehicleSoc: 50, ...extra });
}

function hub(hubId: string, km: number, capacityKw: number, nodes: RecNode[], available = true): RecHub {
  return { hubId, latitude: 0, longitude: lonAt(km), capacityKw, available, nodes };
}

function near(actual: number, expected: number, tol = 0.006): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

type Found = { best: Recommendation; alternatives: Recommendation[] };

function ok(r: RecResult | Found): Found {
  if ('ok' in r) assert.ok(r.ok, r.ok ? '' : `not found: ${r.reason}`);
  return r as Found;
}

const ids = (r: RecResult | Found): string[] => {
  const o = ok(r);
  return [o.best, ...o.alternatives].map((x) => `${x.hub_id}/${x.node_id}`);
};

describe('core/recommend — haversine', () => {
  it('one degree of longitude on the equator is R·π/180 km; Paris–London ≈ 343.9 km', () => {
    near(haversineKm(0, 0, 0, 1), (EARTH_RADIUS_KM * Math.PI) / 180, 1e-9);
    near(haversineKm(48.8566, 2.3522, 51.5074, -0.1278), 343.9, 0.5);
    assert.equal(haversineKm(45, 9, 45, 9), 0);
  });
});

describe('core/recommend — ranking by time until charged', () => {
  // Near hub N (10 km): 50 kW grid, one 50 kW node already charging → the newcomer gets
  // 25 kW (equal sharing). Arrival SoC 48 %, needs 32 kWh → 76.8 min; drive 10 → 86.8 min.
  const nearHub = hub('N', 10, 50, [charging('n1', 50), node('n2', 50)]);
  // Far hub F at d km: 100 kW free. Arrival 50 − 0.2d, needs 30 + 0.2d kWh at 100 kW
  // → 18 + 0.12d min; total 18 + 1.12d min: faster than N iff d < 61.43 km.
  it('a farther hub with free capacity beats a near saturated one when that is faster', () => {
    const far = hub('F', 40, 100, [node('f1', 100)]);
    const { best, alternatives } = ok(recommend([nearHub, far], REQ, CFG, NOW));
    assert.equal(best.hub_id, 'F');
    assert.equal(best.node_id, 'f1');
    near(best.distance_km, 40);
    near(best.drive_time_min, 40);
    near(best.arrival_soc, 42);
    assert.equal(best.available_power_kw, 100);
    near(best.charge_time_min, 22.8);
    near(best.total_time_min, 62.8);
    assert.equal(best.estimated_wait_time_min, 0);
    assert.equal(best.target_soc, 80);
    assert.equal(best.reachable, true);
    assert.equal(best.critical, false);
    assert.equal(alternatives.length, 1);
    const n = alternatives[0] as Recommendation;
    assert.equal(n.hub_id, 'N');
    assert.equal(n.node_id, 'n2');
    assert.equal(n.available_power_kw, 25, 'what-if power, not the 50 kW nameplate');
    assert.equal(n.nameplate_power_kw, 50);
    near(n.charge_time_min, 76.8);
    near(n.total_time_min, 86.8);
  });

  it('the near saturated hub wins when the free one is far enough', () => {
    const far = hub('F', 70, 100, [node('f1', 100)]); // 18 + 78.4 = 96.4 min
    const r = ok(recommend([far, nearHub], REQ, CFG, NOW));
    assert.equal(r.best.hub_id, 'N');
    near(r.best.total_time_min, 86.8);
    assert.equal(r.alternatives[0]?.hub_id, 'F');
    near(r.alternatives[0]?.total_time_min ?? NaN, 96.4);
  });

  it('a priority vehicle is allocated as critical and gets the whole grid of the saturated hub', () => {
    const r = ok(recommend([nearHub], { ...REQ, priority: true }, CFG, NOW));
    assert.equal(r.best.critical, true);
    assert.equal(r.best.available_power_kw, 50);
    near(r.best.total_time_min, 10 + 38.4);
  });

  it('an unreachable hub is never chosen while a reachable one exists', () => {
    const unreachable = hub('U', 230, 1000, [node('u1', 350)]); // range is 225 km
    const slow = hub('R', 200, 10, [node('r1', 1)]); // 1 kW: arrival 10 %, 70 kWh → 70 h
    const r = ok(recommend([unreachable, slow], { ...REQ, limit: 20 }, CFG, NOW));
    assert.deepEqual(ids(r), ['R/r1']);
    near(r.best.arrival_soc, 10);
    assert.equal(r.best.critical, true, 'arrival SoC below criticalSoc');
    near(r.best.total_time_min, 200 + 70 * 60);
    // Exactly at the range limit is reachable.
    const edge = ok(recommend([hub('E', 224.999, 50, [node('e1', 50)])], REQ, CFG, NOW));
    assert.equal(edge.best.hub_id, 'E');
  });

  it('nothing reachable → not found, with the nearest distance and the range', () => {
    const r = recommend(
      [hub('U', 300, 100, [node('u1', 100)]), hub('V', 400, 100, [node('v1', 100)])],
      REQ,
      CFG,
      NOW,
    );
    assert.deepEqual(r, { ok: false, reason: 'no hub within reach (nearest is 300.0 km, range 225.0 km)' });
    const radius = recommend(
      [hub('U', 150, 100, [node('u1', 100)])],
      REQ,
      { ...CFG, maxDistanceKm: 100 },
      NOW,
    );
    assert.deepEqual(radius, {
      ok: false,
      reason: 'no hub within reach (nearest is 150.0 km, range 225.0 km, search radius 100.0 km)',
    });
  });

  it('a hub that is not available (offline or stale) is never a candidate', () => {
    const offline = hub('OFF', 1, 500, [node('o1', 350)], false);
    const r = ok(recommend([offline, hub('ON', 100, 10, [node('x', 10)])], { ...REQ, limit: 5 }, CFG, NOW));
    assert.deepEqual(ids(r), ['ON/x']);
    assert.deepEqual(recommend([offline], REQ, CFG, NOW), { ok: false, reason: 'no available hub' });
  });

  it('faulted and maintenance nodes are skipped', () => {
    const h = hub('H', 10, 300, [
      node('a', 150, { state: 'faulted' }),
      node('b', 150, { maintenance: true }),
      node('c', 20),
    ]);
    const r = ok(recommend([h], REQ, CFG, NOW));
    assert.equal(r.best.node_id, 'c');
    assert.equal(r.best.available_power_kw, 20);
    const dead = hub('D', 5, 300, [
      node('a', 150, { state: 'faulted' }),
      node('b', 150, { maintenance: true }),
    ]);
    assert.deepEqual(recommend([dead], REQ, CFG, NOW), { ok: false, reason: 'no available hub' });
    assert.equal(ok(recommend([dead, h], REQ, CFG, NOW)).best.hub_id, 'H');
  });

  it('a hub whose reachable nodes get no power is not recommended', () => {
    // 0 kW grid: the what-if gives 0 kW.
    const r = recommend([hub('Z', 10, 0, [node('z1', 50)])], REQ, CFG, NOW);
    assert.deepEqual(r, { ok: false, reason: 'no reachable hub can deliver power now (1 reachable hub)' });
  });
});

describe('core/recommend — wait time when every node is busy', () => {
  // Hub at 10 km (drive 10 min), 100 kW grid, both 50 kW nodes charging.
  it('takes over the node whose session ends first; the wait counts from arrival', () => {
    const h = hub('B', 10, 100, [
      charging('n1', 50, { expectedEndMs: NOW + 40 * MIN }),
      charging('n2', 50, { expectedEndMs: NOW + 25 * MIN }),
    ]);
    const r = ok(recommend([h], REQ, CFG, NOW));
    assert.equal(r.best.node_id, 'n2');
    // Free 25 min from now, arrival after 10 → waits 15 min; then n2 is replaced by the
    // vehicle: 100 kW shared with n1 → 50 kW; 32 kWh → 38.4 min.
    near(r.best.estimated_wait_time_min, 15);
    assert.equal(r.best.available_power_kw, 50);
    near(r.best.charge_time_min, 38.4);
    near(r.best.total_time_min, 10 + 15 + 38.4);
  });

  it('at the hub itself the wait is the time until the earliest expected end', () => {
    const h: RecHub = {
      hubId: 'B',
      latitude: 0,
      longitude: 0,
      capacityKw: 100,
      available: true,
      nodes: [
        charging('n1', 50, { expectedEndMs: NOW + 40 * MIN }),
        charging('n2', 50, { expectedEndMs: NOW + 25 * MIN }),
      ],
    };
    const r = ok(recommend([h], REQ, CFG, NOW));
    assert.equal(r.best.node_id, 'n2');
    assert.equal(r.best.estimated_wait_time_min, 25);
    assert.equal(r.best.drive_time_min, 0);
  });

  it('a session that should already have ended gives no negative wait', () => {
    const h = hub('B', 10, 100, [charging('n1', 50, { expectedEndMs: NOW - 5 * MIN })]);
    assert.equal(ok(recommend([h], REQ, CFG, NOW)).best.estimated_wait_time_min, 0);
  });

  it('busy nodes with an unknown end are skipped unless nothing else; then 60 min is assumed', () => {
    const mixed = hub('B', 10, 100, [
      charging('n1', 150, { expectedEndMs: null }), // faster node, but end unknown
      node('n2', 50, { state: 'full', occupied: true, expectedEndMs: NOW + 90 * MIN }),
    ]);
    const r = ok(recommend([mixed], REQ, CFG, NOW));
    assert.equal(r.best.node_id, 'n2');
    near(r.best.estimated_wait_time_min, 80);
    // n2 replaced by the vehicle; n1 charging (150 kW demand) shares 100 kW equally → 50 kW.
    assert.equal(r.best.available_power_kw, 50);

    const unknown = hub('B', 10, 100, [charging('n1', 50), charging('n2', 50)]);
    const u = ok(recommend([unknown], REQ, CFG, NOW));
    assert.equal(u.best.node_id, 'n1', 'equal nodes: lower node id');
    near(u.best.estimated_wait_time_min, 50);
    const custom = ok(recommend([unknown], REQ, { ...CFG, unknownEndWaitMin: 30 }, NOW));
    near(custom.best.estimated_wait_time_min, 20);
  });

  it('a hub with a free node offers only its free nodes', () => {
    const h = hub('B', 10, 200, [charging('big', 150, { expectedEndMs: NOW + 1 * MIN }), node('small', 20)]);
    const r = ok(recommend([h], REQ, CFG, NOW));
    assert.equal(r.best.node_id, 'small');
    assert.equal(r.best.estimated_wait_time_min, 0);
    assert.equal(r.best.available_power_kw, 20);
  });
});

describe('core/recommend — determinism and limits', () => {
  function shuffled<T>(xs: readonly T[], seed: number): T[] {
    const out = xs.slice();
    let s = seed;
    for (let i = out.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const j = s % (i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  it('equal scores are ordered by hubId then nodeId, whatever the input order', () => {
    const mk = (id: string): RecHub => hub(id, 20, 100, [node('b', 50), node('a', 50), node('c', 50)]);
    const hubs = ['h3', 'h1', 'h4', 'h2', 'h0'].map(mk);
    const expected = ['h0/a', 'h1/a', 'h2/a', 'h3/a'];
    for (let seed = 1; seed <= 20; seed++) {
      const input = shuffled(hubs, seed).map((h) => ({ ...h, nodes: shuffled(h.nodes, seed * 7) }));
      const r = recommend(input, REQ, CFG, NOW);
      assert.deepEqual(ids(r), expected);
      assert.deepEqual(r, recommend(hubs, REQ, CFG, NOW));
    }
  });

  it('an exact tie at the last place goes to the lower hubId, whatever is evaluated first', () => {
    const mk = (id: string, km: number): RecHub => hub(id, km, 100, [node('a', 50)]);
    for (const order of [
      ['z', 'b', 'a', 'y'],
      ['y', 'a', 'z', 'b'],
      ['b', 'z', 'y', 'a'],
    ]) {
      const hubs = order.map((id) => mk(id, id === 'y' || id === 'z' ? 5 : 30));
      assert.deepEqual(ids(recommend(hubs, { ...REQ, limit: 2 }, CFG, NOW)), ['y/a', 'z/a', 'a/a']);
      assert.deepEqual(ids(recommend(hubs, { ...REQ, limit: 0 }, CFG, NOW)), ['y/a']);
    }
  });

  it('limit is the number of alternatives (0..20), one entry per hub', () => {
    const hubs = Array.from({ length: 30 }, (_, i) =>
      hub(`h${String(i).padStart(2, '0')}`, 5 + i, 50, [node('a', 50), node('b', 50)]),
    );
    assert.equal(ok(recommend(hubs, REQ, CFG, NOW)).alternatives.length, 3);
    assert.equal(ok(recommend(hubs, { ...REQ, limit: 0 }, CFG, NOW)).alternatives.length, 0);
    const r = ok(recommend(hubs, { ...REQ, limit: 20 }, CFG, NOW));
    assert.equal(r.alternatives.length, 20);
    const hubIds = [r.best, ...r.alternatives].map((x) => x.hub_id);
    assert.equal(new Set(hubIds).size, hubIds.length);
    assert.deepEqual(hubIds.slice(0, 3), ['h00', 'h01', 'h02']);
  });

  it('defaults: target 80 %, 60 kWh battery', () => {
    const r = ok(
      recommend(
        [hub('F', 0, 60, [node('a', 60)])],
        { latitude: 0, longitude: 0, battery_level: 20 },
        CFG,
        NOW,
      ),
    );
    assert.equal(r.best.target_soc, 80);
    near(r.best.charge_time_min, 36); // 60 % of 60 kWh at 60 kW
  });
});

// ---------- pruned == exhaustive on random fleets ----------
// Coarse values on purpose: hubs at the same place with the same nodes tie exactly, so the
// tie-breaks at the k-th place are exercised; hubs and nodes come in shuffled order.
const coord = fc.oneof(fc.double({ min: -1, max: 1, noNaN: true }), fc.constantFrom(0, 0, 0.5, -0.5));
const powerArb = fc.oneof(
  fc.constantFrom(0, 11, 22, 50, 50, 100, 150),
  fc.double({ min: 0, max: 350, noNaN: true }),
);
const nodeArb: fc.Arbitrary<Omit<RecNode, 'nodeId'>> = fc
  .record({
    maxPowerKw: powerArb,
    minPowerKw: fc.constantFrom(undefined, 0, 5, 20),
    state: fc.constantFrom<RecNode['state']>('idle', 'idle', 'charging', 'charging', 'full', 'faulted'),
    maintenance: fc.constantFrom(false, false, false, false, false, true),
    occupied: fc.boolean(),
    vehicleSoc: fc.option(fc.constantFrom(10, 50, 90), { nil: null }),
    critical: fc.boolean(),
    expectedEndMs: fc.option(
      fc.constantFrom(-30, 0, 10, 60, 180).map((m) => NOW + m * MIN),
      { nil: null },
    ),
  })
  .map((n) => {
    const out = { ...n };
    if (out.minPowerKw === undefined) delete out.minPowerKw;
    return out;
  });
const hubBodyArb = fc.record({
  latitude: coord,
  longitude: coord,
  capacityKw: fc.oneof(fc.constantFrom(0, 50, 100, 100, 200), fc.double({ min: 0, max: 1000, noNaN: true })),
  available: fc.constantFrom(true, true, true, true, true, false),
  nodes: fc.array(nodeArb, { maxLength: 8 }),
});
const fleetArb: fc.Arbitrary<RecHub[]> = fc
  .array(hubBodyArb, { maxLength: 40 })
  .chain((bodies) => {
    // Some hubs are copies of others (exact ties), then everything is shuffled.
    const hubs: RecHub[] = [];
    bodies.forEach((b, i) => {
      const h: RecHub = { hubId: `h${i}`, ...b, nodes: b.nodes.map((n, j) => ({ nodeId: `n${j}`, ...n })) };
      hubs.push(h);
      if (i % 3 === 0) hubs.push({ ...h, hubId: `c${i}`, nodes: h.nodes.map((n) => ({ ...n })) });
    });
    return fc.shuffledSubarray(hubs, { minLength: hubs.length, maxLength: hubs.length });
  })
  .chain((hubs) =>
    fc
      .tuple(
        ...hubs.map((h) =>
          fc.shuffledSubarray(h.nodes, { minLength: h.nodes.length, maxLength: h.nodes.length }),
        ),
      )
      .map((nodeLists) => hubs.map((h, i) => ({ ...h, nodes: nodeLists[i] ?? [] }))),
  );
const reqArb: fc.Arbitrary<RecRequest> = fc.record({
  latitude: coord,
  longitude: coord,
  battery_level: fc.integer({ min: 0, max: 99 }),
  target_soc: fc.constant(100),
  battery_capacity_kwh: fc.constantFrom(40, 60, 100),
  limit: fc.integer({ min: 0, max: 6 }),
  priority: fc.boolean(),
});
const cfgArb: fc.Arbitrary<RecConfig> = fc.record({
  consumptionKwhPerKm: fc.constantFrom(0.15, 0.18, 0.25),
  safetyMargin: fc.constantFrom(0, 0.1, 0.3),
  averageSpeedKmh: fc.constantFrom(30, 50, 90),
  criticalSoc: fc.constantFrom(0, 20, 50),
  alloc: fc.record({
    policy: fc.constantFrom('equal' as const, 'soc-priority' as const),
    reserve: fc.constantFrom(0, 0.1),
  }),
});

describe('core/recommend — properties', () => {
  it('pruned result equals the exhaustive result on random fleets', () => {
    fc.assert(
      fc.property(fleetArb, reqArb, cfgArb, (hubs, req, cfg) => {
        assert.deepEqual(recommend(hubs, req, cfg, NOW), recommendExhaustive(hubs, req, cfg, NOW));
      }),
      { numRuns: 400 },
    );
  });

  it('answers are sorted, reachable, one per hub, never from unavailable hubs or unusable nodes', () => {
    fc.assert(
      fc.property(fleetArb, reqArb, cfgArb, (hubs, req, cfg) => {
        const r = recommend(hubs, req, cfg, NOW);
        if (!r.ok) return;
        const list = [r.best, ...r.alternatives];
        assert.ok(list.length <= (req.limit ?? 3) + 1);
        const range =
          (((req.battery_level / 100) * (req.battery_capacity_kwh ?? 60)) / cfg.consumptionKwhPerKm) *
          (1 - cfg.safetyMargin);
        for (let i = 0; i < list.length; i++) {
          const x = list[i] as Recommendation;
          const h = hubs.find((y) => y.hubId === x.hub_id) as RecHub;
          const n = h.nodes.find((y) => y.nodeId === x.node_id) as RecNode;
          assert.ok(h.available);
          assert.ok(n.state !== 'faulted' && !n.maintenance);
          assert.ok(x.distance_km <= range + 0.005);
          assert.ok(x.available_power_kw <= n.maxPowerKw + 0.005);
          if (i > 0) assert.ok((list[i - 1] as Recommendation).total_time_min <= x.total_time_min);
        }
        assert.equal(new Set(list.map((x) => x.hub_id)).size, list.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('core/recommend — validateRecRequest', () => {
  const errs = (body: unknown): string[] => {
    const r = validateRecRequest(body);
    assert.equal(r.ok, false);
    return r.ok ? [] : r.errors;
  };

  it('accepts a minimal request, fills defaults, ignores unknown fields', () => {
    const r = validateRecRequest({ latitude: 45.1, longitude: 9.2, battery_level: 35, colour: 'red' });
    assert.deepEqual(r, {
      ok: true,
      value: {
        latitude: 45.1,
        longitude: 9.2,
        battery_level: 35,
        target_soc: 80,
        battery_capacity_kwh: 60,
        limit: 3,
        priority: false,
      },
    });
    const full = validateRecRequest({
      latitude: -90,
      longitude: 180,
      battery_level: 0,
      vehicle_id: 'veh_1',
      target_soc: 100,
      battery_capacity_kwh: 75,
      limit: 20,
      priority: true,
    });
    assert.ok(full.ok);
    assert.equal(full.value.vehicle_id, 'veh_1');
    assert.equal(full.value.limit, 20);
    const nulls = validateRecRequest({
      latitude: 1,
      longitude: 2,
      battery_level: 3,
      vehicle_id: null,
      limit: null,
    });
    assert.ok(nulls.ok);
    assert.equal(nulls.value.limit, 3);
  });

  it('above 80 % without a target, the target is 100 %', () => {
    const r = validateRecRequest({ latitude: 0, longitude: 0, battery_level: 85 });
    assert.ok(r.ok);
    assert.equal(r.value.target_soc, 100);
    assert.deepEqual(errs({ latitude: 0, longitude: 0, battery_level: 100 }), [
      'battery_level: must be below 100 (the battery is full)',
    ]);
  });

  it('names every broken field', () => {
    assert.deepEqual(errs({}), [
      'latitude: is required',
      'longitude: is required',
      'battery_level: is required',
    ]);
    assert.deepEqual(errs({ latitude: 91, longitude: '9', battery_level: -1 }), [
      'latitude: must be a number between -90 and 90',
      'longitude: must be a number between -180 and 180',
      'battery_level: must be a number between 0 and 100',
    ]);
    assert.deepEqual(errs({ latitude: 0, longitude: 0, battery_level: 50, target_soc: 50 }), [
      'target_soc: must be greater than battery_level',
    ]);
    assert.deepEqual(
      errs({
        latitude: 0,
        longitude: 0,
        battery_level: 50,
        target_soc: 101,
        vehicle_id: '',
        battery_capacity_kwh: 0,
        limit: 2.5,
        priority: 'yes',
      }),
      [
        'vehicle_id: must be a string of 1-50 characters',
        'target_soc: must be a number greater than 0 and at most 100',
        'battery_capacity_kwh: must be a number greater than 0 and at most 1000',
        'limit: must be an integer between 0 and 20',
        'priority: must be a boolean',
      ],
    );
    assert.deepEqual(errs({ latitude: NaN, longitude: Infinity, battery_level: 5 }), [
      'latitude: must be a number between -90 and 90',
      'longitude: must be a number between -180 and 180',
    ]);
    assert.deepEqual(errs({ latitude: 0, longitude: 0, battery_level: 5, limit: 21 }), [
      'limit: must be an integer between 0 and 20',
    ]);
  });

  it('rejects a body that is not an object', () => {
    for (const b of [null, undefined, 'x', 42, [1, 2]])
      assert.deepEqual(errs(b), ['body: must be a JSON object']);
  });
});
