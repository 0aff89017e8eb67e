// wpt-timeseries + wpt-influxdb in Node-RED (node-red-node-test-helper), fed on its input
// wire with change lists and DLM commands as the twin and the allocator send them, against
// a real server of the InfluxDB v2 write API (VictoriaMetrics from test/helpers/services.ts,
// or INFLUX_URL). VictoriaMetrics names a series `<measurement>_<field>` with the tags as
// labels and does not keep string fields, so only numeric and boolean fields are read back.
// Outages, a hanging server and redeploys: timeseries-outage.test.ts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { nr } from '../helpers/node-red';
import { influxUrl } from '../helpers/services';
import { exportWhen, sampleCount, type Series } from '../helpers/victoria';
import { until as waitUntil } from '../helpers/wait';
import { reportChange } from '../helpers/report-changes';
import { NODES, errorsOf, fleetOf, flow, influxOf, statusesOf, tel } from '../helpers/timeseries-nodes';
import { decode } from '../../core/contract';
import { commandToNotification } from '../../core/dlm';
import type { DlmCommand } from '../../core/dlm';
import type { InfluxConfigNode } from '../../nodes/lib/config-nodes';

let dbg: () => unknown = () => null;
const until = (cond: () => boolean, ms: number, what: string): Promise<void> =>
  waitUntil(cond, ms, what, { every: 10, detail: () => dbg() });

function decoded(topic: string, payload: Record<string, unknown>, ts: number) {
  const r = decode(topic, { ...payload, timestamp: new Date(ts).toISOString() }, ts);
  assert.ok(r.ok, JSON.stringify(r));
  return r.msg;
}

describe('node: wpt-timeseries with wpt-influxdb (v2 write API server)', function () {
  this.timeout(30_000);
  let url: string;
  const run = crypto.randomBytes(4).toString('hex');
  let started = false;

  before(async function () {
    const u = await influxUrl();
    if (!u) {
      console.log('      (no Influx write API server available: skipped)');
      this.skip();
    }
    url = u;
    await nr.startServer();
    started = true;
  });
  after(async () => {
    if (started) await nr.stopServer();
  });
  afterEach(async () => {
    if (started) await nr.unload();
    dbg = () => null;
  });

  it('change lists and DLM commands on the wire → every measurement with its tags, fields and time', async () => {
    await nr.load(NODES, flow(url));
    const ts = nr.getNode('ts');
    const errs = errorsOf(ts);
    const hub = `hub_${run}`;
    const veh = `veh_${run}`;
    const t = Date.now() - 120_000;
    const fleet = fleetOf();

    // the hub's capacity comes from the fleet's twin
    fleet.twin.apply(
      decoded(
        `iot/hubs/${hub}/info`,
        {
          hub_id: hub,
          location: { latitude: 44.6, longitude: 10.9 },
          max_grid_capacity_kw: 140,
          ip_address: '10.0.0.1',
          firmware_version: '1.0',
        },
        t,
      ),
      t,
    );
    // node telemetry of two nodes, as the twin applies it: its changes, one list per message
    const lists = [
      fleet.twin.apply(
        decoded(
          `iot/hubs/${hub}/nodes/n1/telemetry`,
          {
            voltage: 8.5,
            current: 0.07,
            power_kw: 59.1,
            power_limit_kw: 78,
            is_occupied: true,
            connected_vehicle_id: veh,
            current_vehicle_soc: 20,
          },
          t + 3,
        ),
        t + 3,
      ),
      fleet.twin.apply(
        decoded(
          `iot/hubs/${hub}/nodes/n2/telemetry`,
          { voltage: 400, current: 100, power_kw: 40.9, power_limit_kw: 78, is_occupied: true },
          t + 7,
        ),
        t + 7,
      ),
    ];
    assert.ok(lists.every((l) => l.some((c) => c.type === 'node-telemetry')));
    // one list with the report changes of a hub status, a node status and a vehicle telemetry
    const reports = [
      decoded(`iot/hubs/${hub}/status`, { state: 'online', cpu_temp: 72.5 }, t + 1),
      decoded(`iot/hubs/${hub}/nodes/n1/status`, { state: 'charging', error_code: 17 }, t + 2),
      decoded(
        `iot/vehicles/${veh}/telemetry`,
        {
          geo_location: { latitude: 44.64, longitude: 10.92, altitude: -12.5 },
          battery_level: 35,
          speed_kmh: 88.2,
          engine_temp_c: -3,
          is_charging: false,
        },
        t + 4,
      ),
    ].map(reportChange);
    for (const l of lists) ts.receive({ payload: l });
    ts.receive({ payload: [{ type: 'hub-state', ts: t, hubId: hub }, ...reports] });
    // one of our DLM commands, as the allocator sends it
    const cmd: DlmCommand = {
      hubId: hub,
      nodeId: 'n1',
      originalLimitKw: 0,
      newLimitKw: 44.25,
      reason: 'VEHICLE_CONNECTED',
      allocationId: 'a-1',
      ts: t + 5,
      totalGridLoadKw: 59.1,
      attempt: 1,
      availableCapacityKw: 80.9,
    };
    ts.receive({
      topic: `iot/hubs/${hub}/dlm/events`,
      payload: commandToNotification(cmd, 'equal'),
      dlm: cmd,
    });

    const w = influxOf().writer;
    assert.ok(w);
    dbg = () => w.stats();
    // 2 telemetry + 3 reports + 1 allocation + 2 hub loads (the second list's is held back
    // by the 1 s interval and comes from the node's timer)
    await until(() => w.stats().accepted === 8, 5000, 'eight points taken');
    assert.equal(await w.flush(5000), true, JSON.stringify(w.stats()));
    assert.equal(w.stats().written, 8);
    assert.deepEqual(errs, []);

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
      { name: 'hub_load_load_kw', labels: { hub_id: hub }, value: 59.1, ts: t + 3 },
      { name: 'hub_load_capacity_kw', labels: { hub_id: hub }, value: 140, ts: t + 3 },
    ];
    for (const e of expected) {
      const sel = Object.entries(e.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      const series = await exportWhen(url, `${e.name}{${sel}}`, (s) => s.length > 0);
      assert.equal(series.length, 1, `${e.name} stored once`);
      const s = series[0] as Series;
      assert.deepEqual({ ...s.metric }, { __name__: e.name, ...e.labels }, `${e.name}: labels = tags`);
      assert.ok(
        Math.abs((s.values[0] as number) - e.value) < 1e-9,
        `${e.name}: ${s.values[0]} vs ${e.value}`,
      );
      assert.deepEqual(s.timestamps.slice(0, 1), [e.ts], `${e.name}: timestamp`);
    }
    // the held-back hub load: Σ 59.1 + 40.9 against 140 kW
    const load = await exportWhen(
      url,
      `hub_load_utilisation{hub_id="${hub}"}`,
      (s) => sampleCount(s) >= 2,
      5000,
    );
    assert.deepEqual(load[0]?.timestamps, [t + 3, t + 7]);
    assert.ok(Math.abs((load[0]?.values[1] as number) - 100 / 140) < 1e-9);
  });

  it('anything but a change list or a DLM command ends in done(err); a list’s other changes are still written', async () => {
    await nr.load(NODES, flow(url));
    const ts = nr.getNode('ts');
    const errs = errorsOf(ts);
    const w = influxOf().writer;
    assert.ok(w);
    const t = Date.now() - 50_000;
    ts.receive({ payload: 42 });
    ts.receive({ topic: `iot/hubs/h/nodes/n/telemetry`, payload: '{"voltage":1}' }); // raw MQTT: not decoded here
    ts.receive({ dlm: { hubId: 'h', nodeId: '', reason: 'REBALANCE', ts: t, newLimitKw: 1 } });
    ts.receive({ payload: [tel(`bad_${run}`, 'n1', 4, t), tel('', 'n1', 4, t)] });
    await until(() => errs.length === 4, 3000, 'four errors');
    assert.match(errs[0] as string, /expects a change list .* or a DLM command/);
    assert.match(errs[1] as string, /expects a change list/);
    assert.match(errs[2] as string, /DLM command without a hub, node/);
    assert.match(errs[3] as string, /1 changes without an id or a time/);
    await until(() => w.stats().accepted === 2, 3000, 'the valid point and its hub load');
  });

  it('the token credential is sent as `Authorization: Token …`', async () => {
    const auth: string[] = [];
    const server = http.createServer((req, res) => {
      auth.push(req.headers.authorization ?? '');
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      await nr.load(NODES, flow(`http://127.0.0.1:${port}`, { batchSize: 1 }), { i1: { token: 'sekret' } });
      nr.getNode('ts').receive({ payload: [tel('h', 'n', 1, Date.now())] });
      await until(() => auth.length > 0, 3000, 'a write request');
      assert.equal(auth[0], 'Token sekret');
    } finally {
      await nr.unload();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
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
    assert.match(dn.error ?? '', /ECONNREFUSED/);
  });

  it('no URL: time series off, grey status, nothing written, no writer', async () => {
    await nr.load(NODES, flow(''));
    const cfg = influxOf();
    assert.equal(cfg.enabled, false);
    assert.equal(cfg.writer, null);
    assert.deepEqual(await cfg.health(), { ok: true, off: true });
    const ts = nr.getNode('ts');
    const errs = errorsOf(ts);
    ts.receive({ payload: [tel('h', 'n', 1, Date.now())] });
    await until(() => statusesOf('ts').some((s) => s.fill === 'grey'), 3000, 'grey status');
    assert.equal(statusesOf('ts').find((s) => s.fill === 'grey')?.text, 'off (no InfluxDB URL)');
    assert.deepEqual(errs, []);
  });
});
