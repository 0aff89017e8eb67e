// wpt-timeseries + wpt-influxdb in Node-RED (node-red-node-test-helper) against a real
// server of the InfluxDB v2 write API (VictoriaMetrics from test/helpers/services.ts, or
// INFLUX_URL). VictoriaMetrics names a series `<measurement>_<field>` with the tags as
// labels and does not keep string fields, so only numeric and boolean fields are read back.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { nr } from '../helpers/node-red';
import { influxUrl } from '../helpers/services';
import { TcpProxy } from '../helpers/tcp-proxy';
import { exportWhen, sampleCount, type Series } from '../helpers/victoria';
import { until as waitUntil } from '../helpers/wait';
import { decode } from '../../core/contract';
import type { FleetNode, InfluxConfigNode } from '../../nodes/lib/config-nodes';
import type { TwinChange } from '../../core/twin';

const fleetNode = require('../../nodes/wpt-fleet/wpt-fleet');
const influxNode = require('../../nodes/wpt-influxdb/wpt-influxdb');
const timeseriesNode = require('../../nodes/wpt-timeseries/wpt-timeseries');
const NODES = [fleetNode, influxNode, timeseriesNode];

let dbg: () => unknown = () => null;
const until = (cond: () => boolean, ms: number, what: string): Promise<void> =>
  waitUntil(cond, ms, what, { every: 10, detail: () => dbg() });

/** A server that accepts connections and never answers (InfluxDB hanging). */
async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    sockets.add(c);
    c.on('error', () => undefined);
    c.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function flow(url: string, extra: Record<string, unknown> = {}): unknown[] {
  return [
    { id: 'f1', type: 'wpt-fleet', name: 'fleet' },
    { id: 'i1', type: 'wpt-influxdb', url, org: 'wpt', bucket: 'wpt', ...extra },
    { id: 'ts', type: 'wpt-timeseries', influxdb: 'i1', fleet: 'f1', wires: [['err']] },
    { id: 'err', type: 'helper' },
  ];
}
const influxOf = () => nr.getNode('i1') as unknown as InfluxConfigNode;
const fleetOf = () => nr.getNode('f1') as unknown as FleetNode;

/** Every status the node showed so far (the test helper spies on Node.prototype.status). */
function statusesOf(id: string): Array<{ fill?: string; shape?: string; text?: string }> {
  const spy = nr.getNode(id).status as unknown as {
    getCalls(): Array<{ thisValue: { id?: string }; args: unknown[] }>;
  };
  return spy
    .getCalls()
    .filter((c) => c.thisValue?.id === id)
    .map((c) => c.args[0] as { fill?: string; shape?: string; text?: string });
}

function telemetry(hub: string, node: string, i: number, ts: number): { topic: string; payload: Buffer } {
  return {
    topic: `iot/hubs/${hub}/nodes/${node}/telemetry`,
    payload: Buffer.from(
      JSON.stringify({
        voltage: i,
        current: 10,
        power_kw: i / 4,
        power_limit_kw: 50,
        is_occupied: true,
        connected_vehicle_id: 'v1',
        current_vehicle_soc: 50,
        timestamp: new Date(ts).toISOString(),
      }),
    ),
  };
}

describe('node: wpt-timeseries with wpt-influxdb (v2 write API server)', function () {
  this.timeout(30_000);
  let url: string;
  const run = crypto.randomBytes(4).toString('hex');

  before(async function () {
    const u = await influxUrl();
    if (!u) {
      console.log('      (no Influx write API server available: skipped)');
      this.skip();
    }
    url = u;
    await nr.startServer();
  });
  after(() => nr.stopServer());
  afterEach(() => nr.unload());

  it('writes every measurement with its tags and numeric/boolean fields (raw, pre-decoded, DLM, twin changes)', async () => {
    await nr.load(NODES, flow(url));
    const ts = nr.getNode('ts');
    const hub = `hub_${run}`;
    const veh = `veh_${run}`;
    const t = Date.now() - 120_000;
    const iso = (d: number) => new Date(t + d).toISOString();

    // the hub's capacity comes from the fleet's twin
    const info = decode(
      `iot/hubs/${hub}/info`,
      {
        hub_id: hub,
        location: { latitude: 44.6, longitude: 10.9 },
        max_grid_capacity_kw: 140,
        ip_address: '10.0.0.1',
        firmware_version: '1.0',
      },
      t,
    );
    assert.ok(info.ok);
    fleetOf().ingest(info.msg, t);

    // raw MQTT messages (Buffer payloads, as `mqtt in` with datatype buffer gives them)
    ts.receive({
      topic: `iot/hubs/${hub}/status`,
      payload: Buffer.from(JSON.stringify({ state: 'online', cpu_temp: 72.5, timestamp: iso(1) })),
    });
    ts.receive({
      topic: `iot/hubs/${hub}/nodes/n1/status`,
      payload: Buffer.from(JSON.stringify({ state: 'charging', error_code: 17, timestamp: iso(2) })),
    });
    ts.receive({
      topic: `iot/vehicles/${veh}/telemetry`,
      payload: JSON.stringify({
        geo_location: { latitude: 44.64, longitude: 10.92, altitude: -12.5 },
        battery_level: 35,
        speed_kmh: 88.2,
        engine_temp_c: -3,
        is_charging: false,
        timestamp: iso(4),
      }),
    });
    // a message decoded by wpt-validate (msg.wpt), with a payload that would not decode
    const tel = decode(
      `iot/hubs/${hub}/nodes/n1/telemetry`,
      {
        voltage: 8.5,
        current: 0.07,
        power_kw: 59.1,
        power_limit_kw: 78,
        is_occupied: true,
        connected_vehicle_id: veh,
        current_vehicle_soc: 20,
        timestamp: iso(3),
      },
      t,
    );
    assert.ok(tel.ok);
    ts.receive({ topic: 'ignored', payload: 'not json', wpt: tel.msg });
    // a DLM command from the allocator
    ts.receive({
      topic: `iot/hubs/${hub}/dlm/events`,
      payload: {
        trigger_reason: 'VEHICLE_CONNECTED',
        original_limit: 0,
        new_limit: 44.25,
        affected_node_id: 'n1',
        total_grid_load: 59.1,
        available_capacity: 80.9,
        timestamp: iso(5),
        allocation_id: 'a-1',
      },
    });
    // twin changes: node telemetry of two nodes → one hub_load point (Σ power 59.1 + 40.9)
    const changes: TwinChange[] = [];
    for (const [node, p, d] of [
      ['n1', 59.1, 6],
      ['n2', 40.9, 7],
    ] as const) {
      const m = decode(
        `iot/hubs/${hub}/nodes/${node}/telemetry`,
        { voltage: 400, current: 100, power_kw: p, power_limit_kw: 78, is_occupied: true, timestamp: iso(d) },
        t,
      );
      assert.ok(m.ok);
      changes.push(...fleetOf().ingest(m.msg, t + d));
    }
    assert.ok(changes.some((c) => c.type === 'node-telemetry'));
    ts.receive({ payload: changes });

    const w = influxOf().writer;
    assert.ok(w);
    await until(() => w.stats().buffered + w.stats().written >= 6, 5000, 'six points accepted');
    assert.equal(await w.flush(5000), true, JSON.stringify(w.stats()));
    assert.equal(w.stats().written, 6);

    const expected: Array<{ name: string; labels: Record<string, string>; value: number; ts: number }> = [
      { name: 'hub_status_cpu_temp', labels: { hub_id: hub }, value: 72.5, ts: t + 1 },
      { name: 'node_status_error_code', labels: { hub_id: hub, node_id: 'n1' }, value: 17, ts: t + 2 },
      { name: 'node_telemetry_power_kw', labels: { hub_id: hub, node_id: 'n1' }, value: 59.1, ts: t + 3 },
      { name: 'node_telemetry_is_occupied', labels: { hub_id: hub, node_id: 'n1' }, value: 1, ts: t + 3 },
      {
        name: 'node_telemetry_current_vehicle_soc',
        labels: { hub_id: hub, node_id: 'n1' },
        value: 20,
        ts: t + 3,
      },
      { name: 'vehicle_telemetry_battery_level', labels: { vehicle_id: veh }, value: 35, ts: t + 4 },
      {
        name: 'vehicle_telemetry_geo_location_altitude',
        labels: { vehicle_id: veh },
        value: -12.5,
        ts: t + 4,
      },
      { name: 'vehicle_telemetry_is_charging', labels: { vehicle_id: veh }, value: 0, ts: t + 4 },
      {
        name: 'dlm_allocation_limit_kw',
        labels: { hub_id: hub, node_id: 'n1', trigger_reason: 'VEHICLE_CONNECTED' },
        value: 44.25,
        ts: t + 5,
      },
      {
        name: 'dlm_allocation_available_capacity_kw',
        labels: { hub_id: hub, node_id: 'n1', trigger_reason: 'VEHICLE_CONNECTED' },
        value: 80.9,
        ts: t + 5,
      },
      { name: 'hub_load_load_kw', labels: { hub_id: hub }, value: 100, ts: t + 7 },
      { name: 'hub_load_capacity_kw', labels: { hub_id: hub }, value: 140, ts: t + 7 },
      { name: 'hub_load_utilisation', labels: { hub_id: hub }, value: 100 / 140, ts: t + 7 },
    ];
    for (const e of expected) {
      const sel = Object.entries(e.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      const series = await exportWhen(url, `${e.name}{${sel}}`, (s) => s.length > 0);
      assert.equal(series.length, 1, `${e.name} stored once`);
      const s = series[0] as Series;
      assert.deepEqual({ ...s.metric }, { __name__: e.name, ...e.labels }, `${e.name}: labels = tags`);
      assert.equal(s.values.length, 1);
      assert.ok(
        Math.abs((s.values[0] as number) - e.value) < 1e-9,
        `${e.name}: ${s.values[0]} vs ${e.value}`,
      );
      assert.deepEqual(s.timestamps, [e.ts], `${e.name}: timestamp`);
    }
  });

  it('undecodable input goes to the output with the reason, is counted, and never stops the node', async () => {
    await nr.load(NODES, flow(url));
    const ts = nr.getNode('ts');
    dbg = () => statusesOf('ts');
    const errs: Array<Record<string, unknown>> = [];
    nr.getNode('err').on('input', (m) => errs.push(m));
    ts.receive({ topic: 'iot/hubs/h/status', payload: '{"state":"exploded"' });
    ts.receive({ topic: 'not/a/topic', payload: '{}' });
    ts.receive({ topic: 'iot/hubs/h/status', payload: { state: 'exploded', cpu_temp: 300 } });
    ts.receive({ payload: 42 });
    // info and requests are not time series: ignored, not errors
    ts.receive({
      topic: 'iot/hubs/h/requests',
      payload: { vehicle_id: 'v', node_id: 'n', soc_percent: 10 },
    });
    ts.receive(telemetry(`bad_${run}`, 'n1', 5, Date.now() - 50_000));
    await until(() => errs.length === 4, 3000, 'four errors');
    assert.match((errs[0]?.error as { message: string }).message, /not valid JSON/);
    assert.match((errs[1]?.error as { message: string }).message, /unknown topic/);
    assert.match((errs[2]?.error as { message: string }).message, /state: must be one of/);
    assert.equal((errs[2]?.error as { source: { type: string } }).source.type, 'wpt-timeseries');
    const w = influxOf().writer;
    assert.ok(w);
    await until(() => w.stats().buffered + w.stats().written === 1, 3000, 'the valid point');
    await until(
      () => statusesOf('ts').some((s) => /invalid/.test(s.text ?? '')),
      3000,
      'status with the count',
    );
  });

  it('Influx down: never blocks; status shows the outage; oldest points beyond the bound dropped and counted exactly; recovery writes the rest', async () => {
    const proxy = new TcpProxy(new URL(url));
    await proxy.open();
    await nr.load(
      NODES,
      flow(`http://127.0.0.1:${proxy.port}`, {
        batchSize: 10,
        maxBufferPoints: 50,
        flushIntervalMs: 50,
        timeoutMs: 2000,
        maxRetryDelayMs: 200,
      }),
    );
    const ts = nr.getNode('ts');
    const w = influxOf().writer;
    assert.ok(w);
    const hub = `outage_${run}`;
    const t = Date.now() - 100_000;
    dbg = () => ({ s: w.stats(), st: statusesOf('ts') });
    const handled = () => w.stats().written + w.stats().buffered + w.stats().dropped;

    // within the bound while the server is up (a burst beyond it is dropped even then)
    for (let i = 0; i < 100; i += 10) {
      for (let k = i; k < i + 10; k++) ts.receive(telemetry(hub, 'n1', k, t + k));
      await until(() => handled() === i + 10, 5000, 'ten points handled');
      assert.equal(await w.flush(5000), true);
    }
    assert.equal(w.stats().written, 100);

    await proxy.close(); // outage
    for (let i = 100; i < 400; i++) ts.receive(telemetry(hub, 'n1', i, t + i));
    await until(() => handled() === 400, 5000, 'the burst handled during the outage');
    await until(() => w.stats().state === 'down', 10_000, 'writer down');
    await until(
      () => statusesOf('ts').some((s) => s.fill === 'red' && s.shape === 'ring'),
      3000,
      'red status',
    );
    let s = w.stats();
    assert.equal(s.buffered, 50);
    assert.equal(s.dropped, 250, 'exactly the points beyond the bound');
    assert.equal(s.written, 100);

    await proxy.open(); // recovery
    await until(() => w.stats().buffered === 0, 10_000, 'buffer drained after recovery');
    await until(() => statusesOf('ts').at(-1)?.fill === 'green', 3000, 'green status again');
    s = w.stats();
    assert.equal(s.written, 150);
    assert.equal(s.state, 'ok');
    await proxy.close();

    const series = await exportWhen(
      url,
      `node_telemetry_voltage{hub_id="${hub}"}`,
      (x) => sampleCount(x) >= 150,
    );
    assert.equal(sampleCount(series), 150, 'stored = written');
    const values = (series[0]?.values ?? []).slice().sort((a, b) => a - b);
    // what survived the outage is its newest 50 points
    assert.deepEqual(values, [
      ...Array.from({ length: 100 }, (_, i) => i),
      ...Array.from({ length: 50 }, (_, i) => 350 + i),
    ]);
  });

  it('Influx hanging: a burst is taken at once, without waiting for any request; then yellow (retrying)', async function () {
    const hole = await blackHole();
    try {
      await nr.load(
        NODES,
        flow(`http://127.0.0.1:${hole.port}`, {
          batchSize: 50,
          maxBufferPoints: 100,
          timeoutMs: 5000,
          closeTimeoutMs: 200,
        }),
      );
      const ts = nr.getNode('ts');
      const w = influxOf().writer;
      assert.ok(w);
      dbg = () => w.stats();
      const t0 = Date.now();
      for (let i = 0; i < 400; i++) ts.receive(telemetry(`hang_${run}`, 'n1', i, t0 - 10_000 + i));
      await until(() => w.stats().buffered + w.stats().dropped === 400, 4500, 'burst handled');
      // The first request is still hanging (its timeout is 5 s): nothing failed yet, so
      // the node did not wait for it. Everything beyond the bound (100 + the batch of 50
      // in flight) was dropped, oldest first, and counted.
      const s = w.stats();
      assert.equal(s.retries, 0);
      assert.equal(s.written, 0);
      assert.equal(s.state, 'ok');
      assert.equal(s.buffered, 150);
      assert.equal(s.dropped, 250);
      // once the request timed out: retrying, shown in yellow
      await until(() => statusesOf('ts').some((x) => x.fill === 'yellow'), 8000, 'yellow status');
      assert.equal(w.stats().state, 'retrying');
      assert.equal(w.stats().buffered, 100, 'the failed batch went back to the front and the bound holds');
      assert.equal(w.stats().dropped, 300);
    } finally {
      await nr.unload();
      await hole.close();
    }
  });

  it('redeploy (unload) flushes the buffer and closes the writer', async () => {
    await nr.load(NODES, flow(url, { flushIntervalMs: 600_000, batchSize: 1000 }));
    const ts = nr.getNode('ts');
    const w = influxOf().writer;
    assert.ok(w);
    const hub = `redeploy_${run}`;
    const t = Date.now() - 90_000;
    for (let i = 0; i < 7; i++) ts.receive(telemetry(hub, 'n1', i, t + i));
    await until(() => w.stats().buffered === 7, 3000, 'seven points buffered');
    assert.equal(w.stats().written, 0, 'nothing sent before the flush interval');
    await nr.unload();
    const s = w.stats();
    assert.equal(s.written, 7);
    assert.equal(s.buffered, 0);
    assert.equal(w.write([]), 0);
    const series = await exportWhen(
      url,
      `node_telemetry_power_kw{hub_id="${hub}"}`,
      (x) => sampleCount(x) >= 7,
    );
    assert.equal(sampleCount(series), 7);
  });

  it('health() pings the server; a closed port is down', async () => {
    await nr.load(NODES, [
      { id: 'up', type: 'wpt-influxdb', url, org: 'wpt', bucket: 'wpt' },
      { id: 'dn', type: 'wpt-influxdb', url: 'http://127.0.0.1:1', org: 'wpt', bucket: 'wpt' },
    ]);
    const up = await (nr.getNode('up') as unknown as InfluxConfigNode).health(2000);
    assert.equal(up.ok, true, JSON.stringify(up));
    const dn = await (nr.getNode('dn') as unknown as InfluxConfigNode).health(2000);
    assert.equal(dn.ok, false);
    assert.ok(dn.error);
  });

  it('no URL: time series off, grey status, nothing written, no writer', async () => {
    await nr.load(NODES, flow(''));
    const cfg = influxOf();
    assert.equal(cfg.enabled, false);
    assert.equal(cfg.writer, null);
    assert.deepEqual(await cfg.health(), { ok: true, off: true });
    const errs: unknown[] = [];
    nr.getNode('err').on('input', (m) => errs.push(m));
    nr.getNode('ts').receive(telemetry('h', 'n', 1, Date.now()));
    await until(() => statusesOf('ts').some((s) => s.fill === 'grey'), 3000, 'grey status');
    assert.match(statusesOf('ts').find((s) => s.fill === 'grey')?.text ?? '', /off/);
    assert.equal(errs.length, 0);
  });
});
