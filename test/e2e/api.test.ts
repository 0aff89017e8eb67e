// The REST API through the real runtime: every route, status code, filter and page; auth;
// the OpenAPI document in step with the shipped flows; the WebSocket feed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { startRuntime, readCapture, ROOT, type RuntimeHandle } from '../helpers/runtime';
import { poll } from '../helpers/wait';
import { OPENAPI_DOCUMENT, toExpressPath } from '../../nodes/lib/api';

type Json = Record<string, unknown> & { items?: Array<Record<string, unknown>>; total?: number };

describe('e2e: REST API', function () {
  this.timeout(120000);
  let rt: RuntimeHandle;
  let client: MqttClient;

  async function api(
    method: string,
    p: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json }> {
    const r = await fetch(`${rt.url}${p}`, {
      method,
      headers: {
        Authorization: `Bearer ${rt.apiToken}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    let parsed: Json;
    try {
      parsed = JSON.parse(text) as Json;
    } catch {
      throw new Error(`${method} ${p}: ${r.status} not JSON: ${text.slice(0, 200)}`);
    }
    return { status: r.status, body: parsed };
  }

  /** Keeps the hub fresh (it goes stale after 10 s of silence). */
  async function heartbeat(): Promise<void> {
    await client.publishAsync('iot/hubs/hub_01/status', JSON.stringify({ state: 'online', cpu_temp: 50 }), {
      qos: 1,
    });
  }

  before(async () => {
    rt = await startRuntime();
    client = await mqtt.connectAsync(rt.mqttUrl, { clientId: `wpt-api-e2e-${process.pid}` });
    for (const m of readCapture()) await client.publishAsync(m.topic, m.payload, { qos: 1 });
    await poll(
      () => api('GET', '/api/hubs/hub_01'),
      (r) => r.status === 200 && (r.body.nodes as unknown[]).length === 3,
    );
  });

  after(async () => {
    await client?.endAsync();
    await rt?.stop();
    if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
  });

  it('refuses every route but /api/health without the token', async () => {
    const doc = OPENAPI_DOCUMENT.paths as Record<string, Record<string, unknown>>;
    for (const [p, methods] of Object.entries(doc)) {
      const concrete = p.replace(/\{[^}]+\}/g, 'x');
      for (const m of Object.keys(methods)) {
        const r = await fetch(`${rt.url}${concrete}`, { method: m.toUpperCase() });
        if (p === '/api/health') assert.equal(r.status, 200);
        else assert.equal(r.status, 401, `${m} ${p}`);
      }
    }
  });

  it('serves an OpenAPI 3.1 document that matches the routes of the shipped flows', async () => {
    const r = await api('GET', '/api/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    const flows = fs
      .readdirSync(path.join(ROOT, 'flows'))
      .flatMap(
        (f) =>
          JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', f), 'utf8')) as Array<Record<string, string>>,
      );
    const routes = new Set(flows.filter((n) => n.type === 'http in').map((n) => `${n.method} ${n.url}`));
    const documented = new Set(
      Object.entries(r.body.paths as Record<string, object>).flatMap(([p, ms]) =>
        Object.keys(ms).map((m) => `${m} ${toExpressPath(p)}`),
      ),
    );
    assert.deepEqual([...routes].sort(), [...documented].sort());
  });

  it('lists hubs live with load, capacity, utilisation and nodes', async () => {
    await heartbeat();
    const r = await api('GET', '/api/hubs');
    assert.equal(r.status, 200);
    assert.equal(r.body.total, 1);
    const hub = r.body.items![0]!;
    assert.equal(hub.hub_id, 'hub_01');
    assert.equal(hub.max_grid_capacity_kw, 140);
    assert.equal(hub.state, 'online');
    const nodes = hub.nodes as Array<Record<string, unknown>>;
    assert.deepEqual(
      nodes.map((n) => n.node_id),
      ['node_01', 'node_02', 'node_03'],
    );
    const load = nodes.reduce((s, n) => s + (n.power_kw as number), 0);
    assert.ok(Math.abs((hub.load_kw as number) - load) < 0.01);
    assert.ok(Math.abs((hub.utilisation as number) - load / 140) < 0.001);
    const n1 = nodes[0]!;
    assert.equal(n1.state, 'charging');
    assert.equal(n1.vehicle_id, 'vehicle_01');
    assert.equal(n1.soc, 35);
  });

  it('answers one hub, 404 for an unknown one and 400 for a bad id', async () => {
    assert.equal((await api('GET', '/api/hubs/hub_01')).status, 200);
    const nf = await api('GET', '/api/hubs/hub_99');
    assert.equal(nf.status, 404);
    assert.match(String(nf.body.message), /hub_99/);
    const bad = await api('GET', `/api/hubs/${'x'.repeat(51)}`);
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.message), /hub_id/);
  });

  it('lists vehicles with live SoC and open session; registers and updates profiles', async () => {
    const list = await api('GET', '/api/vehicles');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items!.map((v) => v.vehicle_id).sort(), ['vehicle_01', 'vehicle_02']);
    const v1 = await api('GET', '/api/vehicles/vehicle_01');
    assert.equal(v1.status, 200);
    assert.equal(v1.body.soc, 35);
    assert.equal((v1.body.open_session as Record<string, unknown>).node_id, 'node_01');
    assert.equal((await api('GET', '/api/vehicles/nobody')).status, 404);

    const upd = await api('POST', '/api/vehicles', {
      vehicle_id: 'vehicle_01',
      model: 'Model W',
      manufacturer: 'Wireless Motors',
      driver: "O'Brien",
      battery_capacity_kwh: 75,
      priority: true,
    });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.model, 'Model W');
    assert.equal(upd.body.priority, true);
    assert.equal(upd.body.soc_class, 'critical', 'a priority vehicle is critical');
    const created = await api('POST', '/api/vehicles', {
      vehicle_id: 'vehicle_new',
      battery_capacity_kwh: 40,
    });
    assert.equal(created.status, 201);
    assert.equal((await api('GET', '/api/vehicles/vehicle_new')).body.battery_capacity_kwh, 40);

    const bad = await api('POST', '/api/vehicles', {
      vehicle_id: 'a/b',
      battery_capacity_kwh: -1,
      priority: 'yes',
    });
    assert.equal(bad.status, 400);
    const errs = bad.body.errors as string[];
    assert.ok(errs.some((e) => e.startsWith('vehicle_id:')));
    assert.ok(errs.some((e) => e.startsWith('battery_capacity_kwh:')));
    assert.ok(errs.some((e) => e.startsWith('priority:')));
    const broken = await api('POST', '/api/vehicles', '{"vehicle_id": ');
    assert.equal(broken.status, 400);
    assert.match(String(broken.body.message), /body: not valid JSON/);
    const huge = await api(
      'POST',
      '/api/vehicles',
      JSON.stringify({ vehicle_id: 'v', model: 'x'.repeat(2 * 1024 * 1024) }),
    );
    assert.equal(huge.status, 413);
    assert.match(String(huge.body.message), /body: too large/);
  });

  it('lists charging sessions from PostgreSQL with filters and pages', async () => {
    const all = await poll(
      () => api('GET', '/api/sessions'),
      (r) => r.status === 200 && r.body.total === 2,
    );
    assert.equal(all.body.total, 2);
    const one = await api('GET', '/api/sessions?vehicle_id=vehicle_02');
    assert.equal(one.body.total, 1);
    assert.equal(one.body.items![0]!.node_id, 'node_02');
    assert.equal((await api('GET', '/api/sessions?active=true')).body.total, 2);
    assert.equal((await api('GET', '/api/sessions?active=false')).body.total, 0);
    assert.equal((await api('GET', '/api/sessions?hub_id=hub_01&node_id=node_01')).body.total, 1);
    assert.equal(
      (await api('GET', '/api/sessions?from=2030-01-01T00:00:00Z')).body.total,
      2,
      'open sessions overlap any later time',
    );
    assert.equal((await api('GET', '/api/sessions?to=2020-01-01T00:00:00Z')).body.total, 0);
    const p1 = await api('GET', '/api/sessions?limit=1&offset=0');
    const p2 = await api('GET', '/api/sessions?limit=1&offset=1');
    assert.equal(p1.body.items!.length, 1);
    assert.equal(p2.body.items!.length, 1);
    assert.notEqual(p1.body.items![0]!.session_id, p2.body.items![0]!.session_id);
    for (const q of [
      'limit=0',
      'limit=5000',
      'active=maybe',
      'from=yesterday',
      'hub_id=a%2Bb',
      'colour=red',
    ]) {
      const r = await api('GET', `/api/sessions?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(String(r.body.message), new RegExp(q.split('=')[0]!), q);
    }
  });

  it('lists DLM events with their source, filters and pages', async () => {
    const all = await poll(
      () => api('GET', '/api/dlm/events?hub_id=hub_01&source=hub'),
      (r) => r.status === 200 && r.body.total === 3,
    );
    assert.equal(all.body.total, 3, "the three events of the hub's own DLM in the capture");
    assert.ok(all.body.items!.every((e) => e.source === 'hub'));
    // Only our events carry the owner's epoch (cluster mode); a hub's own are null.
    assert.ok(all.body.items!.every((e) => 'owner_epoch' in e && e.owner_epoch === null));
    assert.equal((await api('GET', '/api/dlm/events?node_id=node_02&source=hub')).body.total, 2);
    assert.equal((await api('GET', '/api/dlm/events?since=2026-11-26T07:13:50Z&source=hub')).body.total, 2);
    assert.equal((await api('GET', '/api/dlm/events?limit=2&source=hub')).body.items!.length, 2);
    assert.equal((await api('GET', '/api/dlm/events?since=nope')).status, 400);
  });

  it('publishes a charge request at QoS 1 and answers 202, refusing what cannot be done', async () => {
    await heartbeat();
    const seen = new Promise<{ topic: string; payload: Record<string, unknown> }>((resolve) => {
      client.on('message', (topic, payload) => {
        if (topic === 'iot/hubs/hub_01/requests') {
          const p = JSON.parse(payload.toString()) as Record<string, unknown>;
          if (p.vehicle_id === 'vehicle_new') resolve({ topic, payload: p });
        }
      });
    });
    await client.subscribeAsync('iot/hubs/hub_01/requests', { qos: 1 });
    await api('POST', '/api/vehicles', { vehicle_id: 'vehicle_new' });
    const r = await api('POST', '/api/nodes/hub_01/node_03/charge', {
      vehicle_id: 'vehicle_new',
      soc_percent: 42,
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const got = await seen;
    assert.equal(got.payload.node_id, 'node_03');
    assert.equal(got.payload.soc_percent, 42);

    assert.equal(
      (await api('POST', '/api/nodes/hub_01/node_02/charge', { vehicle_id: 'vehicle_new', soc_percent: 10 }))
        .status,
      409,
    );
    assert.equal(
      (await api('POST', '/api/nodes/hub_01/node_09/charge', { vehicle_id: 'vehicle_new' })).status,
      404,
    );
    assert.equal(
      (await api('POST', '/api/nodes/hub_01/node_03/charge', { vehicle_id: 'ghost' })).status,
      404,
    );
    const bad = await api('POST', '/api/nodes/hub_01/node_03/charge', { soc_percent: 101 });
    assert.equal(bad.status, 400);
    assert.ok((bad.body.errors as string[]).some((e) => e.startsWith('soc_percent:')));
  });

  it('recommends the hub where the vehicle is charged soonest, judged on the power it would get', async () => {
    // A second hub ~5 km north with free capacity, published by the test.
    const far = {
      hub_id: 'hub_far',
      location: { latitude: 44.6919, longitude: 10.9252, altitude: 40 },
      max_grid_capacity_kw: 300,
      ip_address: '10.0.0.2',
      firmware_version: '1.0.0',
    };
    await client.publishAsync('iot/hubs/hub_far/info', JSON.stringify(far), { qos: 1 });
    await client.publishAsync('iot/hubs/hub_far/status', JSON.stringify({ state: 'online', cpu_temp: 40 }), {
      qos: 1,
    });
    for (const n of ['pad_a', 'pad_b']) {
      await client.publishAsync(
        `iot/hubs/hub_far/nodes/${n}/info`,
        JSON.stringify({ node_id: n, hub_id: 'hub_far', name: null, max_power_kw: 150 }),
        { qos: 1 },
      );
      await client.publishAsync(
        `iot/hubs/hub_far/nodes/${n}/status`,
        JSON.stringify({ state: 'idle', current_vehicle_id: null, error_code: 0 }),
        { qos: 1 },
      );
    }
    await heartbeat();
    await poll(
      () => api('GET', '/api/hubs/hub_far'),
      (r) => r.status === 200 && (r.body.nodes as unknown[]).length === 2,
    );
    await new Promise((r) => setTimeout(r, 300)); // the recommender refreshes its view every 250 ms
    const r = await api('POST', '/api/recommendations', {
      latitude: 44.6469,
      longitude: 10.9252,
      battery_level: 30,
      limit: 5,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const best = r.body.best as Record<string, number | string>;
    const alts = r.body.alternatives as Array<Record<string, number | string>>;
    assert.equal(best.hub_id, 'hub_far');
    assert.equal(best.available_power_kw, 150);
    assert.ok(Math.abs((best.distance_km as number) - 5.0) < 0.1, String(best.distance_km));
    for (const f of [
      'hub_id',
      'node_id',
      'hub_latitude',
      'hub_longitude',
      'distance_km',
      'estimated_wait_time_min',
      'available_power_kw',
    ]) {
      assert.ok(f in best, f);
    }
    const near = alts.find((a) => a.hub_id === 'hub_01');
    assert.ok(near, 'the near hub is an alternative');
    // node_03 may be taken by the charge request above: then the earliest-ending busy node.
    assert.match(String(near.node_id), /^node_0[123]$/);
    assert.ok((near.available_power_kw as number) < 78, 'what-if power, not the 78 kW nameplate');
    assert.ok((near.total_time_min as number) > (best.total_time_min as number));

    const unreachable = await api('POST', '/api/recommendations', {
      latitude: -33.9,
      longitude: 151.2,
      battery_level: 5,
    });
    assert.equal(unreachable.status, 404);
    assert.match(String(unreachable.body.message), /reach/);
    const bad = await api('POST', '/api/recommendations', { latitude: 123, battery_level: 'full' });
    assert.equal(bad.status, 400);
    const errs = bad.body.errors as string[];
    assert.ok(
      errs.some((e) => e.startsWith('latitude:')) &&
        errs.some((e) => e.startsWith('longitude:')) &&
        errs.some((e) => e.startsWith('battery_level:')),
    );
  });

  it('gives JSON 404 for an unknown API route', async () => {
    const r = await api('GET', '/api/nothing-here');
    assert.equal(r.status, 404);
  });

  it('streams a snapshot on connect, then live changes over the WebSocket, filtered per client, with the token', async () => {
    const wsUrl = rt.url.replace('http', 'ws') + '/api/ws';
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(wsUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('opened without a token')));
      ws.on('error', () => undefined);
    });
    assert.equal(refused, 401);
    const ws = new WebSocket(`${wsUrl}?token=${encodeURIComponent(rt.apiToken)}`);
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise((resolve, reject) => {
      ws.on('open', resolve);
      ws.on('error', reject);
    });
    // A snapshot at once, without asking: the hubs and vehicles as GET /api/hubs and /api/vehicles.
    await poll(
      async () => messages.length,
      (n) => n >= 1,
    );
    assert.equal(messages[0]?.type, 'snapshot');
    assert.ok((messages[0]?.hubs as unknown[]).length >= 1);
    ws.send(JSON.stringify({ vehicle_id: 'vehicle_02' }));
    await poll(
      async () => messages.length,
      (n) => n >= 2,
    );
    assert.deepEqual(messages[1], { type: 'subscribed', hub_id: null, vehicle_id: 'vehicle_02' });
    await client.publishAsync(
      'iot/vehicles/vehicle_02/telemetry',
      JSON.stringify({
        geo_location: { latitude: 44.6, longitude: 10.9 },
        battery_level: 71,
        is_charging: true,
      }),
    );
    await client.publishAsync(
      'iot/vehicles/vehicle_01/telemetry',
      JSON.stringify({
        geo_location: { latitude: 44.6, longitude: 10.9 },
        battery_level: 36,
        is_charging: true,
      }),
    );
    await poll(
      async () => messages.length,
      (n) => n >= 3,
    );
    const changes = messages
      .slice(2)
      .filter((m) => m.type === 'changes')
      .flatMap((m) => m.changes as Array<Record<string, unknown>>);
    assert.ok(changes.length > 0);
    assert.ok(
      changes.every((c) => c.vehicle_id === 'vehicle_02'),
      JSON.stringify(changes),
    );
    ws.close();
  });
});
