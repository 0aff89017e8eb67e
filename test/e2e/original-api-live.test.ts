// The original system's API (ORIGINAL-API.md) through the real runtime with WPT_COMPAT_PORT,
// part 2: vehicles (the driver app's calls), the recommendation with its Dart-int wait, a QR
// charge that becomes a VehicleRequest and a DLM event, DLM events, sessions from the nodes'
// reports, the QR code's content and the WebSocket telemetry.
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import QRCode from 'qrcode';
import type { Client } from 'pg';
import type { RuntimeHandle } from '../helpers/runtime';
import { poll, until } from '../helpers/wait';
import {
  ORIGINAL_ISO as ISO,
  ORIGINAL_TEST_FLEET as HUBS,
  nodeStatus,
  readPng,
  shape,
  startOriginalApiRuntime,
  vehicleTelemetry,
  type OriginalApiRuntime,
  type Obj,
} from '../helpers/original-api';

describe('e2e: the original API (WPT_COMPAT_PORT): vehicles, recommendation, charge, sessions, QR, WebSocket', function () {
  this.timeout(180_000);
  let o: OriginalApiRuntime;
  let rt: RuntimeHandle;
  let port: number;
  let base: string;
  let client: MqttClient;
  let db: Client;
  let call: OriginalApiRuntime['call'];

  before(async () => {
    o = await startOriginalApiRuntime('wpt-original-e2e-live');
    ({ rt, port, base, client, db, call } = o);
  });
  after(() => o?.stop());

  it("vehicles: the app's register (get-or-create, 200), get, list, create, duplicate, update, delete", async () => {
    const app = { vehicle_id: 'oa_car', manufacturer: 'Wireless Motors', model: 'W1', driver_id: 'd-17' };
    const reg = await call('POST', '/vehicles/oa_car/register', app);
    assert.equal(reg.status, 200);
    assert.deepEqual(shape(reg.json), [
      ['model', 'string'],
      ['manufacturer', 'string'],
      ['driver_id', 'string'],
      ['vehicle_id', 'string'],
      ['registered_at', 'string'],
    ]);
    const again = await call('POST', '/vehicles/oa_car/register', { ...app, model: 'changed' });
    assert.deepEqual(
      [again.status, (again.json as Obj).model],
      [200, 'W1'],
      'an existing vehicle is returned unchanged',
    );
    const got = await call('GET', '/vehicles/oa_car');
    assert.deepEqual(got.json, reg.json);
    assert.match(String((got.json as Obj).registered_at), ISO);
    const c = await call('POST', '/vehicles', {
      vehicle_id: 'oa_van',
      model: null,
      manufacturer: null,
      driver_id: null,
    });
    assert.equal(c.status, 201);
    assert.deepEqual([(c.json as Obj).model, (c.json as Obj).driver_id], [null, null]);
    assert.match(c.text, /"model":null,"manufacturer":null,"driver_id":null/);
    assert.deepEqual((await call('POST', '/vehicles', { vehicle_id: 'oa_van' })).json, {
      detail: 'VehicleDbo with vehicle_id=oa_van already exists.',
    });
    const list = (await call('GET', '/vehicles?limit=100')).json as { items: Obj[]; total: number };
    assert.ok(list.items.some((v) => v.vehicle_id === 'oa_van'));
    const u = await call('PATCH', '/vehicles/oa_van', { driver_id: 'd-1' });
    assert.deepEqual([u.status, (u.json as Obj).driver_id], [200, 'd-1']);
    assert.equal((await call('PATCH', '/vehicles/oa_nobody', { model: 'x' })).status, 404);
    assert.equal((await call('POST', '/vehicles', { model: 'x' })).status, 422);
    assert.equal((await call('DELETE', '/vehicles/oa_van')).status, 204);
    assert.deepEqual((await call('GET', '/vehicles/oa_van')).json, {
      detail: 'VehicleDbo with vehicle_id=oa_van not found',
    });
    assert.deepEqual((await call('DELETE', '/vehicles/oa_van')).json, { detail: 'Vehicle oa_van not found' });
  });

  it('POST /recommendations: flat, an integer wait, the hub in /hubs; 404 when nothing; 422', async () => {
    const r = await call('POST', '/recommendations', {
      latitude: 44.65,
      longitude: 10.93,
      battery_level: 30,
    });
    assert.equal(r.status, 200);
    assert.deepEqual(shape(r.json), [
      ['hub_id', 'string'],
      ['node_id', 'string'],
      ['hub_latitude', 'number'],
      ['hub_longitude', 'number'],
      ['distance_km', 'number'],
      ['estimated_wait_time_min', 'number'],
      ['available_power_kw', 'number'],
    ]);
    const j = r.json as Obj;
    assert.equal(j.hub_id, 'oa_hub_a', 'the nearer hub');
    assert.ok(Number.isInteger(j.estimated_wait_time_min) && (j.estimated_wait_time_min as number) >= 1);
    assert.match(r.text, /"estimated_wait_time_min":\d+,/, 'an integer literal (Dart int)');
    assert.match(r.text, /"hub_latitude":44\.6469,/);
    assert.ok((j.available_power_kw as number) > 0 && (j.available_power_kw as number) <= 22);
    const hubs = (await call('GET', '/hubs')).json as { items: Obj[] };
    assert.ok(hubs.items.some((h) => h.hub_id === j.hub_id));
    assert.equal((await call('POST', '/recommendations', { latitude: 44.65, longitude: 10.93 })).status, 422);
    assert.equal(
      (await call('POST', '/recommendations', { latitude: 95, longitude: 1, battery_level: 1 })).status,
      422,
    );
    for (const h of HUBS) assert.equal((await call('POST', `/hubs/${h.hubId}/deactivate`)).status, 200);
    try {
      const none = await call('POST', '/recommendations', {
        latitude: 44.65,
        longitude: 10.93,
        battery_level: 30,
      });
      assert.deepEqual([none.status, none.json], [404, { detail: 'No available charging stations found' }]);
    } finally {
      for (const h of HUBS) await call('POST', `/hubs/${h.hubId}/activate`);
    }
  });

  it('a QR charge (POST /nodes/{node_id}/charge) → 201, a VehicleRequest (QoS 1) and a DLM event', async () => {
    await call('POST', '/vehicles/oa_ev/register', {
      vehicle_id: 'oa_ev',
      manufacturer: null,
      model: null,
      driver_id: null,
    });
    await vehicleTelemetry(client, 'oa_ev', 37);
    await poll(
      () => call('GET', '/vehicles/oa_ev'),
      (r) => r.status === 200,
    );
    const seen: Array<{ topic: string; payload: Obj; qos: number }> = [];
    const sub = await mqtt.connectAsync(rt.mqttUrl, { clientId: `wpt-original-e2e-sub-${process.pid}` });
    try {
      sub.on('message', (topic, payload, packet) =>
        seen.push({ topic, payload: JSON.parse(payload.toString()) as Obj, qos: packet.qos }),
      );
      await sub.subscribeAsync(['iot/hubs/oa_hub_a/requests', 'iot/hubs/oa_hub_a/dlm/events'], { qos: 1 });
      await new Promise((r) => setTimeout(r, 1000)); // telemetry applied to the twin
      const r = await call('POST', '/nodes/oa_a2/charge', { vehicle_id: 'oa_ev' });
      assert.equal(r.status, 201);
      assert.deepEqual(r.json, {
        message: 'Charging request sent successfully',
        node_id: 'oa_a2',
        vehicle_id: 'oa_ev',
        hub_id: 'oa_hub_a',
      });
      await until(
        () => seen.some((m) => m.topic.endsWith('/dlm/events') && m.payload.affected_node_id === 'oa_a2'),
        15_000,
        'a DLM event for the charged node',
        { detail: () => seen },
      );
      const req = seen.find((m) => m.topic === 'iot/hubs/oa_hub_a/requests')!;
      assert.equal(req.qos, 1);
      assert.deepEqual(
        { ...req.payload, timestamp: typeof req.payload.timestamp },
        {
          vehicle_id: 'oa_ev',
          node_id: 'oa_a2',
          soc_percent: 37,
          timestamp: 'string',
        },
      );
      const ev = seen.find((m) => m.topic.endsWith('/dlm/events') && m.payload.affected_node_id === 'oa_a2')!;
      assert.ok((ev.payload.new_limit as number) > 0, 'the DLM gives the charged node power');
    } finally {
      await sub.endAsync();
    }
    const events = await poll(
      () => call('GET', '/dlm/events?hub_id=oa_hub_a&skip=3&limit=1'),
      (x) =>
        ((x.json as { items?: Obj[] }).items ?? []).some(
          (e) => e.node_id === 'oa_a2' && (e.new_limit_kw as number) > 0,
        ),
    );
    const list = events.json as { items: Obj[]; total: number; skip: number; limit: number };
    assert.equal(list.items.length, list.total, 'a filter returns every match');
    const e = list.items.find((x) => x.node_id === 'oa_a2' && (x.new_limit_kw as number) > 0)!;
    assert.deepEqual(shape(e), [
      ['hub_id', 'string'],
      ['node_id', 'string'],
      ['trigger_reason', 'string'],
      ['total_grid_load_kw', 'number'],
      ['original_limit_kw', 'number'],
      ['new_limit_kw', 'number'],
      ['dlm_event_id', 'number'],
      ['timestamp', 'string'],
      ['available_capacity_at_trigger', 'number'],
    ]);
    assert.ok(Number.isInteger(e.dlm_event_id));
    const one = await call('GET', `/dlm/events/${e.dlm_event_id}`);
    assert.deepEqual(one.json, e);
    assert.deepEqual((await call('GET', '/dlm/events/999999')).json, {
      detail: 'DLMEventDbo with dlm_event_id=999999 not found',
    });
    assert.equal((await call('GET', '/dlm/events/abc')).status, 422);
    const recent = (await call('GET', '/dlm/events/recent?hours=1&limit=100')).json as Obj[];
    assert.ok(Array.isArray(recent) && recent.length >= 1);
    const times = recent.map((x) => Date.parse(String(x.timestamp)));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
    const paged = (await call('GET', '/dlm/events?limit=1')).json as Obj;
    assert.equal((paged.items as unknown[]).length, 1);
    assert.ok((paged.total as number) >= 1);

    const noNode = await call('POST', '/nodes/oa_none/charge', { vehicle_id: 'oa_ev' });
    assert.deepEqual([noNode.status, (noNode.json as Obj).detail], [500, 'Node oa_none not found']);
    const noCar = await call('POST', '/nodes/oa_a1/charge', { vehicle_id: 'oa_nocar' });
    assert.deepEqual([noCar.status, (noCar.json as Obj).detail], [500, 'Vehicle oa_nocar not found']);
    assert.equal((await call('POST', '/nodes/oa_dup/charge', { vehicle_id: 'oa_ev' })).status, 409);
    assert.equal((await call('POST', '/nodes/oa_a1/charge', {})).status, 422);
    assert.equal((await call('POST', '/nodes/oa_a1/charge', '{"vehicle_id": ')).status, 422);
  });

  it('POST /dlm/events is checked as the original, then refused: DLM events are not posted', async () => {
    const body = {
      hub_id: 'oa_hub_a',
      node_id: 'oa_a1',
      trigger_reason: 'manual',
      total_grid_load_kw: 10,
      original_limit_kw: 5,
      new_limit_kw: 7,
    };
    assert.equal((await call('POST', '/dlm/events', { ...body, new_limit_kw: -1 })).status, 422);
    assert.equal((await call('POST', '/dlm/events', { ...body, hub_id: 'oa_nohub' })).status, 404);
    const r = await call('POST', '/dlm/events', body);
    assert.equal(r.status, 403);
    assert.match(String((r.json as Obj).detail), /cannot add/);
  });

  it("sessions: from the node's reports, listed with nulls present, started, ended and deleted", async () => {
    await nodeStatus(client, 'oa_hub_b', 'oa_b1', 'charging', 'oa_ev2');
    const listed = await poll(
      () => call('GET', '/sessions?node_id=oa_b1&skip=9&limit=0'),
      (r) => ((r.json as Obj).total as number) >= 1,
    );
    const ls = listed.json as { items: Obj[]; total: number };
    assert.equal(ls.items.length, ls.total, 'a filter returns every match');
    const s = ls.items[0]!;
    assert.deepEqual(shape(s), [
      ['node_id', 'string'],
      ['vehicle_id', 'string'],
      ['charging_session_id', 'number'],
      ['start_time', 'string'],
      ['end_time', 'null'],
      ['total_energy_kwh', 'number'],
      ['avg_power_kw', 'number'],
    ]);
    assert.match(listed.text, /"end_time":null,"total_energy_kwh":0\.0,"avg_power_kw":0\.0/);
    const id = s.charging_session_id as number;
    assert.deepEqual((await call('GET', `/sessions/${id}`)).json, s);
    const active = (await call('GET', '/sessions/active?node_id=oa_b1')).json as Obj[];
    assert.deepEqual(active, [s]);
    const page = (await call('GET', '/sessions?limit=10')).json as Obj;
    assert.deepEqual(Object.keys(page), ['items', 'total', 'skip', 'limit']);
    assert.equal(((await call('GET', '/sessions?vehicle_id=oa_ev2')).json as Obj).total, 1);
    const start = await call('POST', '/sessions/start', { node_id: 'oa_b1', vehicle_id: 'oa_ev2' });
    assert.deepEqual([start.status, start.json], [201, s]);
    assert.equal((await call('POST', '/sessions/start', { node_id: 'oa_a1', vehicle_id: null })).status, 409);
    assert.equal(
      (await call('POST', '/sessions/start', { node_id: 'oa_a1' })).status,
      422,
      'vehicle_id must be sent',
    );
    assert.equal(
      (await call('POST', '/sessions/start', { node_id: 'oa_none', vehicle_id: null })).status,
      404,
    );

    assert.equal((await call('POST', `/sessions/${id}/end`, { total_energy_kwh: 1 })).status, 422);
    const end = await call('POST', `/sessions/${id}/end`, { total_energy_kwh: 1.5, avg_power_kw: 3 });
    assert.equal(end.status, 200);
    const ended = end.json as Obj;
    assert.equal(ended.charging_session_id, id);
    assert.match(String(ended.end_time), ISO);
    const again = await poll(
      () => call('POST', `/sessions/${id}/end`, { total_energy_kwh: 1.5, avg_power_kw: 3 }),
      (r) => (r.json as Obj).end_time !== null,
    );
    assert.equal(again.status, 200);
    assert.equal((again.json as Obj).end_time, ended.end_time);
    assert.equal((await call('DELETE', `/sessions/${id}`)).status, 409, 'history is kept');
    assert.deepEqual((await call('GET', '/sessions/999999')).json, {
      detail: 'ChargingSessionDbo with charging_session_id=999999 not found',
    });
    assert.deepEqual((await call('DELETE', '/sessions/999999')).json, {
      detail: 'Charging session 999999 not found',
    });
    assert.equal((await call('GET', '/sessions/abc')).status, 422);
    const note = await poll(
      () =>
        db.query<{ note: string }>(
          "SELECT note FROM audit_log WHERE actor = 'original-api' AND op = 'session-end'",
        ),
      (r) => r.rows.length >= 1,
    );
    assert.match(note.rows[0]!.note, /total_energy_kwh=1\.5, avg_power_kw=3/);

    // A new session on another node, deleted while open: the twin ends it.
    await nodeStatus(client, 'oa_hub_a', 'oa_a1', 'charging', 'oa_ev3');
    const open = await poll(
      () => call('GET', '/sessions/active?node_id=oa_a1'),
      (r) => (r.json as Obj[]).length === 1,
    );
    const id2 = (open.json as Obj[])[0]!.charging_session_id;
    assert.equal((await call('DELETE', `/sessions/${id2}`)).status, 204);
    const closed = await poll(
      () => call('GET', `/sessions/${id2}`),
      (r) => (r.json as Obj).end_time !== null,
    );
    assert.match(String((closed.json as Obj).end_time), ISO);
  });

  it("GET /qr/node/{node_id}: a PNG of this server's charge URL (EC level L, border 4, size px per module)", async () => {
    const r = await fetch(`${base}/qr/node/oa_a1`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    assert.equal(r.headers.get('content-disposition'), 'attachment; filename="qr_oa_a1.png"');
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    const png = readPng(Buffer.from(await r.arrayBuffer()));
    const expected = QRCode.create(`http://127.0.0.1:${port}/nodes/oa_a1/charge`, {
      errorCorrectionLevel: 'L',
    });
    const n = expected.modules.size;
    assert.equal(png.width, (n + 8) * 10);
    for (let row = -4; row < n + 4; row++)
      for (let col = -4; col < n + 4; col++) {
        const inside = row >= 0 && col >= 0 && row < n && col < n;
        const want = inside ? expected.modules.get(row, col) === 1 : false;
        assert.equal(png.dark((col + 4) * 10 + 5, (row + 4) * 10 + 5), want, `module ${row},${col}`);
      }
    const inline = await fetch(
      `${base}/qr/node/oa_a1?download=false&size=3&base_url=http://phone.example:8000`,
    );
    assert.equal(inline.headers.get('content-disposition'), 'inline; filename="qr_oa_a1.png"');
    const small = readPng(Buffer.from(await inline.arrayBuffer()));
    const other = QRCode.create('http://phone.example:8000/nodes/oa_a1/charge', {
      errorCorrectionLevel: 'L',
    });
    assert.equal(small.width, (other.modules.size + 8) * 3);
    assert.equal((await call('GET', '/qr/node/oa_a1?size=51')).status, 422);
  });

  it('WebSocket /ws/telemetry/{vehicle_id}: each telemetry of that vehicle, in the original shape', async () => {
    const open = (id: string) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/telemetry/${id}`);
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    const mine = await open('oa_ws');
    const other = await open('oa_ws_other');
    const frames: Array<{ at: number; text: string }> = [];
    const others: string[] = [];
    mine.on('message', (d) => frames.push({ at: Date.now(), text: d.toString() }));
    other.on('message', (d) => others.push(d.toString()));
    try {
      const sentAt = Date.now();
      await vehicleTelemetry(client, 'oa_ws', 64, {
        geo_location: { latitude: 44.0, longitude: 10.5 },
        extra: 1,
      });
      await until(() => frames.length === 1, 10_000, 'the telemetry frame');
      console.log(
        `      (telemetry reached the WebSocket ${frames[0]!.at - sentAt} ms after its MQTT publish)`,
      );
      const f = JSON.parse(frames[0]!.text) as Obj;
      assert.deepEqual(shape(f), [
        ['geo_location', 'object'],
        ['battery_level', 'number'],
        ['speed_kmh', 'number'],
        ['engine_temp_c', 'null'],
        ['is_charging', 'boolean'],
        ['timestamp', 'string'],
      ]);
      assert.deepEqual(f.geo_location, { latitude: 44, longitude: 10.5, altitude: 0 });
      assert.equal(f.battery_level, 64);
      assert.match(frames[0]!.text, /"geo_location":\{"latitude":44\.0,"longitude":10\.5,"altitude":0\.0\}/);
      assert.match(String(f.timestamp), ISO);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(others, [], "another vehicle's socket gets nothing");
    } finally {
      mine.close();
      other.close();
    }
    const bad = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/elsewhere`);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => resolve(-1));
    });
    assert.equal(bad, 404);
  });
});
