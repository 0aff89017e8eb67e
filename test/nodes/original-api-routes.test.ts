// The original API's routes against a real twin, with operator commands run as wpt-twin runs
// them (the answer of nodes/wpt-twin/commands.ts): the mappings the end-to-end test does not
// reach, and the recommendation's scoring (the original's formula, the DLM's what-if power).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Twin } from '../../core/twin';
import { decode } from '../../core/contract';
import { DEFAULT_DLM_CONFIG, allocateHub } from '../../core/dlm';
import {
  dispatch,
  haversineKm,
  originalScore,
  originalWaitMin,
  recommendOriginal,
  whatIfPowerKw,
  type CommandAnswer,
  type OriginalApiDeps,
} from '../../nodes/lib/original-api';
import { runCommand } from '../../nodes/wpt-twin/commands';

const NOW = Date.parse('2026-11-30T10:00:00Z');

function feed(t: Twin, topic: string, payload: object, now = NOW): void {
  const r = decode(topic, payload, now);
  assert.ok(r.ok, JSON.stringify(r));
  t.apply(r.msg, now);
}

function hub(
  t: Twin,
  id: string,
  lat: number,
  lon: number,
  capacityKw: number,
  nodes: Record<string, number>,
): void {
  feed(t, `iot/hubs/${id}/info`, {
    hub_id: id,
    location: { latitude: lat, longitude: lon },
    max_grid_capacity_kw: capacityKw,
    ip_address: '10.0.0.1',
    firmware_version: '1',
  });
  feed(t, `iot/hubs/${id}/status`, { state: 'online', cpu_temp: 30 });
  for (const [n, kw] of Object.entries(nodes)) {
    feed(t, `iot/hubs/${id}/nodes/${n}/info`, { node_id: n, hub_id: id, max_power_kw: kw });
    feed(t, `iot/hubs/${id}/nodes/${n}/status`, { state: 'idle', current_vehicle_id: null, error_code: 0 });
  }
}

const DLM = {
  policy: DEFAULT_DLM_CONFIG.policy,
  reserve: 0,
  criticalSoc: 20,
  minChangeKw: DEFAULT_DLM_CONFIG.minChangeKw,
};

function deps(t: Twin, commands: Array<Record<string, unknown>> = []): OriginalApiDeps {
  return {
    twin: t,
    store: null,
    dbHealthy: async () => false,
    async command(cmd): Promise<CommandAnswer> {
      commands.push(cmd);
      return runCommand(t, cmd as never, 'original-api', NOW).answer;
    },
    publish: () => {},
    createdAt: () => undefined,
    dlm: DLM,
    baseUrl: () => 'http://127.0.0.1:8000',
    now: () => NOW,
  };
}

async function call(d: OriginalApiDeps, method: string, path: string, body?: unknown) {
  const [p, q = ''] = path.split('?');
  return dispatch(
    { method, path: p!, query: new URLSearchParams(q), headers: {}, body, client: '127.0.0.1' },
    d,
  );
}

describe('original API: routes against a real twin', () => {
  it('PATCH: lat alone on a hub without a location keeps none (one location here); lat with lon sets it', async () => {
    const t = new Twin();
    const cmds: Array<Record<string, unknown>> = [];
    const d = deps(t, cmds);
    const c = await call(d, 'POST', '/hubs', { hub_id: 'h', ip_address: '10.0.0.9', firmware_version: '1' });
    assert.equal(c.status, 201);
    assert.equal((await call(d, 'PATCH', '/hubs/h', { lat: 10 })).status, 200);
    assert.equal(t.hub('h')!.location, null);
    const both = await call(d, 'PATCH', '/hubs/h', { lat: 10, lon: 20, alt: 5 });
    assert.deepEqual(t.hub('h')!.location, { latitude: 10, longitude: 20, altitude: 5 });
    assert.equal((both.body as { lat: { value: number } }).lat.value, 10);
    assert.equal((await call(d, 'PATCH', '/hubs/h', { lon: null })).status, 200);
    assert.equal(t.hub('h')!.location, null, 'without lon there is no location');
    assert.ok(cmds.every((x) => typeof x.note === 'string' && /^original API: /.test(x.note)));
  });

  it("the twin's field refusals come back as a 422 naming the original's fields", async () => {
    const t = new Twin();
    const d = deps(t);
    await call(d, 'POST', '/hubs', { hub_id: 'h', ip_address: '10.0.0.9', firmware_version: '1' });
    const r = await call(d, 'PATCH', '/hubs/h', { max_grid_capacity_kw: 5000, ip_address: 'localhost' });
    assert.equal(r.status, 422);
    const detail = String((r.body as { detail: string }).detail);
    assert.match(detail, /'loc': \('body', 'max_grid_capacity_kw'\)/);
    assert.match(detail, /'loc': \('body', 'ip_address'\)/);
  });

  it("register: an unknown path id creates the body's vehicle (200); a twin timeout is the catch-all 500", async () => {
    const t = new Twin();
    const d = deps(t);
    const r = await call(d, 'POST', '/vehicles/p1/register', { vehicle_id: 'b1', model: 'M' });
    assert.equal(r.status, 200);
    assert.equal((r.body as { vehicle_id: string }).vehicle_id, 'b1');
    assert.equal(t.vehicle('b1')!.registered, true);
    assert.equal(t.vehicle('p1'), undefined);
    const slow = {
      ...d,
      command: async () => ({ statusCode: 500, payload: { message: 'the twin did not answer within 15 s' } }),
    };
    const x = await call(slow, 'POST', '/vehicles', { vehicle_id: 'v2' });
    assert.deepEqual(
      [x.status, x.cors, (x.body as { detail: string }).detail],
      [500, false, 'the twin did not answer within 15 s'],
    );
  });

  it('without a database the history routes are the catch-all 500; /health is degraded', async () => {
    const d = deps(new Twin());
    for (const p of [
      '/sessions',
      '/sessions/active',
      '/sessions/1',
      '/dlm/events',
      '/dlm/events/recent',
      '/dlm/events/1',
    ]) {
      const r = await call(d, 'GET', p);
      assert.equal(r.status, 500, p);
      assert.match(String((r.body as { detail: string }).detail), /no database configured/);
    }
    const h = await call(d, 'GET', '/health');
    assert.deepEqual((h.body as { dependencies: unknown }).dependencies, { database: 'unhealthy' });
    assert.equal((h.body as { status: string }).status, 'degraded');
  });

  it('a charge publishes the VehicleRequest with the SoC of the last hour, else 50', async () => {
    const t = new Twin();
    hub(t, 'h', 0, 0, 100, { n: 22 });
    const sent: Array<{ topic: string; payload: Record<string, unknown> }> = [];
    const d = {
      ...deps(t),
      publish: (topic: string, payload: Record<string, unknown>) => sent.push({ topic, payload }),
    };
    feed(
      t,
      'iot/vehicles/v/telemetry',
      {
        geo_location: { latitude: 0, longitude: 0 },
        battery_level: 41,
        is_charging: false,
        timestamp: new Date(NOW - 2 * 3_600_000).toISOString(),
      },
      NOW - 2 * 3_600_000,
    );
    assert.equal((await call(d, 'POST', '/nodes/n/charge', { vehicle_id: 'v' })).status, 201);
    assert.equal(sent[0]!.payload.soc_percent, 50, 'a SoC older than an hour is not used');
    feed(t, 'iot/vehicles/v/telemetry', {
      geo_location: { latitude: 0, longitude: 0 },
      battery_level: 41,
      is_charging: false,
      timestamp: new Date(NOW - 60_000).toISOString(),
    });
    await call(d, 'POST', '/nodes/n/charge', { vehicle_id: 'v' });
    assert.deepEqual(sent[1], {
      topic: 'iot/hubs/h/requests',
      payload: { vehicle_id: 'v', node_id: 'n', soc_percent: 41, timestamp: '2026-11-30T10:00:00Z' },
    });
  });
});

describe('original API: the recommendation (original scoring, DLM power)', () => {
  it('the formula, the wait and the distance of the original', () => {
    assert.equal(originalScore(0, 50, 0), 0.6 + 0.3 + 0.1);
    assert.equal(originalWaitMin(0), 1);
    assert.equal(originalWaitMin(10), 20);
    assert.equal(originalWaitMin(10.49), 20);
    // One degree of latitude on a 6371 km sphere.
    assert.ok(Math.abs(haversineKm(0, 0, 1, 0) - (6371 * Math.PI) / 180) < 1e-9);
  });

  it('the power is what the DLM would allocate there with the vehicle on the node', () => {
    const t = new Twin();
    hub(t, 'h', 0, 0, 30, { a: 22, b: 22 });
    feed(t, 'iot/hubs/h/nodes/a/status', { state: 'charging', current_vehicle_id: 'x', error_code: 0 });
    const h = t.hub('h')!;
    const nodes = t.nodesOf('h');
    const p = whatIfPowerKw(t, h, nodes, t.node('h', 'b')!, 50, DLM, NOW);
    assert.equal(p, 15, 'two active nodes share 30 kW');
    const r = recommendOriginal(t, { latitude: 0, longitude: 0, battery_level: 50 }, DLM, NOW);
    assert.ok(r);
    assert.equal(r.node_id, 'b', 'the charging node is in use');
    assert.equal(r.available_power_kw.value, 15);
    assert.equal(r.estimated_wait_time_min, 1);
    // The allocation the what-if ran is the DLM's own: b alone would get 22.
    const alone = allocateHub(h, nodes, t, DLM, NOW);
    assert.ok(alone.allocations.every((x) => x.nodeId !== 'b' || x.limitKw === 0));
  });

  it('leaves out inactive hubs, nodes in maintenance, and answers null when nothing is left', async () => {
    const t = new Twin();
    hub(t, 'near', 0, 0, 100, { n1: 22 });
    hub(t, 'far', 1, 1, 100, { n2: 22 });
    const d = deps(t);
    const first = recommendOriginal(t, { latitude: 0, longitude: 0, battery_level: 10 }, DLM, NOW);
    assert.equal(first?.hub_id, 'near');
    await call(d, 'POST', '/hubs/near/deactivate');
    assert.equal(
      recommendOriginal(t, { latitude: 0, longitude: 0, battery_level: 10 }, DLM, NOW)?.hub_id,
      'far',
    );
    await call(d, 'POST', '/nodes/n2/maintenance?maintenance=true');
    assert.equal(recommendOriginal(t, { latitude: 0, longitude: 0, battery_level: 10 }, DLM, NOW), null);
    const r = await call(d, 'POST', '/recommendations', { latitude: 0, longitude: 0, battery_level: 10 });
    assert.deepEqual([r.status, r.body], [404, { detail: 'No available charging stations found' }]);
  });

  it('picks the highest score, the first on ties, with an integer wait ≥ 1 (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            lat: fc.double({ min: -1, max: 1, noNaN: true }),
            lon: fc.double({ min: -1, max: 1, noNaN: true }),
            cap: fc.integer({ min: 1, max: 200 }),
            kw: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 3 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.integer({ min: 0, max: 100 }),
        (hubs, battery) => {
          const t = new Twin();
          hubs.forEach((h, i) =>
            hub(t, `h${i}`, h.lat, h.lon, h.cap, Object.fromEntries(h.kw.map((k, j) => [`n${j}`, k]))),
          );
          const r = recommendOriginal(t, { latitude: 0, longitude: 0, battery_level: battery }, DLM, NOW);
          assert.ok(r, 'every node is free, every hub online');
          let best = -Infinity;
          let at = '';
          for (const h of t.hubs()) {
            const d = haversineKm(0, 0, h.location!.latitude, h.location!.longitude);
            for (const n of t.nodesOf(h.hubId)) {
              const s = originalScore(
                d,
                whatIfPowerKw(t, h, t.nodesOf(h.hubId), n, battery, DLM, NOW),
                battery,
              );
              if (s > best) [best, at] = [s, `${h.hubId}/${n.nodeId}`];
            }
          }
          assert.equal(`${r.hub_id}/${r.node_id}`, at);
          assert.ok(Number.isInteger(r.estimated_wait_time_min) && r.estimated_wait_time_min >= 1);
        },
      ),
      { numRuns: 50 },
    );
  });
});
