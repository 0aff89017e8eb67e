// Point mapping + InfluxWriter against a real server of the InfluxDB v2 write API
// (VictoriaMetrics from test/helpers/services.ts, or INFLUX_URL). VictoriaMetrics names a
// series `<measurement>_<field>` with the tags as labels and does not keep string fields
// (this version stores them as 0), so string fields are not read back here.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { influxUrl } from '../helpers/services';
import { TcpProxy } from '../helpers/tcp-proxy';
import { exportWhen, sampleCount, type Series } from '../helpers/victoria';
import {
  InfluxWriter,
  MEASUREMENTS,
  cleanText,
  dlmAllocationPoint,
  hubLoadPoint,
  hubStatusPoint,
  nodeStatusPoint,
  nodeTelemetryPoint,
  vehicleTelemetryPoint,
  type InfluxPoint,
  type MeasurementName,
} from '../../adapters/influx';

/** Label text a tag value is stored as (see cleanText / escapeKey). */
const stored = (id: string): string => {
  const c = cleanText(id);
  return c.endsWith('\\') ? `${c.slice(0, -1)}\\u005c` : c;
};
const numeric = (v: unknown): number | undefined =>
  typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : undefined;

describe('influx adapter against a v2 write API server (VictoriaMetrics)', function () {
  this.timeout(30_000);
  let url: string;
  const run = crypto.randomBytes(4).toString('hex');
  const writers: InfluxWriter[] = [];
  const writer = (
    u: string,
    extra: Partial<ConstructorParameters<typeof InfluxWriter>[0]> = {},
  ): InfluxWriter => {
    const w = new InfluxWriter({ url: u, org: 'wpt', bucket: 'wpt', token: 'not-checked', ...extra });
    writers.push(w);
    return w;
  };

  before(async function () {
    const u = await influxUrl();
    if (!u) {
      console.log('      (no Influx write API server available: skipped)');
      this.skip();
    }
    url = u;
  });
  after(async () => {
    for (const w of writers.splice(0)) await w.close(1000);
  });

  it('ping() answers', async () => {
    const r = await writer(url).ping();
    assert.equal(r.ok, true, JSON.stringify(r));
  });

  it('writes every measurement; tags, numeric and boolean fields and timestamps read back exactly', async () => {
    const hub = `hub_${run}`;
    const node = `node_${run}`;
    const veh = `veh_${run}`;
    const t = Date.now() - 60_000;
    const points = [
      hubStatusPoint({ hubId: hub, ts: t + 1, data: { state: 'online', cpu_temp: 72.03275539108958 } }),
      nodeStatusPoint({ hubId: hub, nodeId: node, ts: t + 2, data: { state: 'charging', error_code: 17 } }),
      nodeTelemetryPoint({
        hubId: hub,
        nodeId: node,
        ts: t + 3,
        data: {
          voltage: 8.553,
          current: 0.069,
          power_kw: 59.099999999999994,
          power_limit_kw: 78,
          is_occupied: true,
          connected_vehicle_id: veh,
          current_vehicle_soc: 20,
        },
      }),
      vehicleTelemetryPoint({
        vehicleId: veh,
        ts: t + 4,
        data: {
          geo_location: { latitude: 44.64, longitude: 10.92, altitude: -12.5 },
          battery_level: 35,
          speed_kmh: 88.2,
          engine_temp_c: -3,
          is_charging: false,
        },
      }),
      dlmAllocationPoint({
        hubId: hub,
        ts: t + 5,
        data: {
          trigger_reason: 'Priority-based (SoC: 20%, 1 active)',
          original_limit: 38.18181818181818,
          new_limit: 44.21052631578947,
          affected_node_id: node,
          total_grid_load: 162.8518181818182,
          available_capacity: 0,
        },
      }),
      hubLoadPoint({ hubId: hub, ts: t + 6, data: { load_kw: 105, capacity_kw: 140 } }),
    ];
    const w = writer(url);
    const s0 = w.write(points);
    assert.equal(s0, 6);
    assert.equal(await w.flush(5000), true, JSON.stringify(w.stats()));
    assert.equal(w.stats().written, 6);

    for (const p of points) {
      assert.ok(p);
      const spec = MEASUREMENTS[p.measurement as MeasurementName];
      const idTag = 'vehicle_id' in p.tags ? 'vehicle_id' : 'hub_id';
      const expected = Object.entries(p.fields).filter(([k]) => spec.fields[k] !== 'string');
      const series = await exportWhen(
        url,
        `{__name__=~"${p.measurement}_.*",${idTag}="${p.tags[idTag]}"}`,
        (s) => s.length >= Object.keys(p.fields).length,
      );
      for (const [field, value] of expected) {
        const s: Series | undefined = series.find((x) => x.metric.__name__ === `${p.measurement}_${field}`);
        assert.ok(s, `${p.measurement}_${field} stored`);
        assert.deepEqual(
          { ...s.metric },
          { __name__: `${p.measurement}_${field}`, ...p.tags },
          'labels = tags',
        );
        // VictoriaMetrics keeps 12 significant digits
        assert.equal(s.values.length, 1);
        const want = numeric(value) as number;
        assert.ok(
          Math.abs((s.values[0] as number) - want) <= Math.abs(want) * 1e-11,
          `${p.measurement}.${field}: ${s.values[0]} vs ${want}`,
        );
        assert.deepEqual(s.timestamps, [p.ts]);
      }
      // nothing else under this measurement for these ids, other than the string fields
      const names = series.map((x) => x.metric.__name__).sort();
      const allowed = Object.keys(p.fields).map((f) => `${p.measurement}_${f}`);
      for (const n of names) assert.ok(allowed.includes(n as string), `unexpected series ${n}`);
    }
  });

  it('ns precision: a sub-millisecond timestamp is accepted and lands on its millisecond', async () => {
    const w = writer(url, { precision: 'ns' });
    const ts = Date.now() - 30_000 + 0.75;
    w.write(hubLoadPoint({ hubId: `ns_${run}`, ts, data: { load_kw: 1, capacity_kw: 2 } }));
    assert.equal(await w.flush(5000), true);
    const s = await exportWhen(url, `hub_load_load_kw{hub_id="ns_${run}"}`, (x) => x.length > 0);
    assert.deepEqual(s[0]?.timestamps, [Math.floor(ts)]);
  });

  it('hostile ids come back as exactly one series each, with no injected point', async () => {
    const hostile = [
      'with space',
      'comma,here',
      'equals=sign',
      'dq"uote',
      "sq'uote",
      'back\\slash',
      'trailing\\',
      '\\',
      'new\nline',
      'cr\rlf\r\n',
      'tab\there',
      ' lead and trail ',
      'x" power_kw=999 1\nnode_telemetry,hub_id=INJECTED power_kw=666',
      'unicode é ⚡ 中文 🚗',
      '=,\\ "',
    ].map((s, i) => `${run}${i}${s}`);
    const t = Date.now() - 20_000;
    const w = writer(url);
    hostile.forEach((id, i) => {
      w.write(
        nodeTelemetryPoint({
          hubId: id,
          nodeId: `n${i}${id}`,
          ts: t + i,
          data: { power_kw: i + 0.5, is_occupied: i % 2 === 0, connected_vehicle_id: id },
        }),
      );
    });
    assert.equal(await w.flush(5000), true);
    assert.equal(w.stats().written, hostile.length);
    assert.equal(w.stats().rejected, 0);
    const mine = (s: Series[]): Series[] =>
      s.filter((x) => x.metric.hub_id?.startsWith(run) || x.metric.hub_id === 'INJECTED');
    const series = mine(
      await exportWhen(url, '{__name__=~"node_telemetry_.*"}', (s) => mine(s).length >= hostile.length * 2),
    );
    const power = series.filter((x) => x.metric.__name__ === 'node_telemetry_power_kw');
    assert.equal(power.length, hostile.length, 'one power series per id');
    hostile.forEach((id, i) => {
      const s = power.filter((x) => x.metric.hub_id === stored(id));
      assert.equal(s.length, 1, `one series for ${JSON.stringify(id)}`);
      assert.equal(s[0]?.metric.node_id, stored(`n${i}${id}`));
      assert.deepEqual(s[0]?.values, [i + 0.5]);
      assert.deepEqual(s[0]?.timestamps, [t + i]);
    });
    // two numeric/boolean series per id and nothing else (string fields aside): no injected point
    const numericSeries = series.filter((x) => x.metric.__name__ !== 'node_telemetry_connected_vehicle_id');
    assert.equal(numericSeries.length, hostile.length * 2);
    assert.equal(sampleCount(numericSeries), hostile.length * 2);
    assert.ok(!series.some((x) => x.metric.hub_id === 'INJECTED'));
    // ids without control characters or a trailing backslash round-trip exactly
    assert.ok(power.some((x) => x.metric.hub_id === `${run}13unicode é ⚡ 中文 🚗`));
    assert.ok(power.some((x) => x.metric.hub_id === `${run}14=,\\ "`));
  });

  it('outage and recovery: oldest points beyond the bound dropped; dropped == attempted − stored', async () => {
    const proxy = new TcpProxy(new URL(url));
    await proxy.open();
    const states: string[] = [];
    const w = writer(`http://127.0.0.1:${proxy.port}`, {
      batchSize: 10,
      maxBufferPoints: 50,
      flushIntervalMs: 50,
      minRetryDelayMs: 20,
      maxRetryDelayMs: 100,
      timeoutMs: 2000,
      onStatusChange: (s) => states.push(s),
    });
    const veh = `outage_${run}`;
    const t = Date.now() - 10_000;
    const batch = (from: number, n: number): InfluxPoint[] =>
      Array.from({ length: n }, (_, i) =>
        vehicleTelemetryPoint({ vehicleId: veh, ts: t + from + i, data: { battery_level: from + i } }),
      ).filter((p): p is InfluxPoint => p !== null);
    let attempted = 0;

    for (let i = 0; i < 100; i += 10) {
      attempted += w.write(batch(i, 10)); // within the bound while the server is up
      assert.equal(await w.flush(5000), true);
    }

    await proxy.close(); // outage
    attempted += w.write(batch(100, 300));
    const end = Date.now() + 10_000;
    while (w.stats().state !== 'down' && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(w.stats().state, 'down');
    assert.ok(w.stats().retries >= 3);
    assert.equal(w.stats().buffered, 50);

    await proxy.open(); // recovery
    const end2 = Date.now() + 10_000;
    while (w.stats().buffered > 0 && Date.now() < end2) await w.flush(2000);
    for (let i = 400; i < 500; i += 10) {
      attempted += w.write(batch(i, 10));
      assert.equal(await w.flush(5000), true);
    }
    await proxy.close();

    const s = w.stats();
    assert.equal(attempted, 500);
    assert.equal(s.retries >= 3, true);
    assert.equal(s.buffered, 0);
    assert.equal(s.state, 'ok');
    assert.deepEqual([states[0], states.at(-1)], ['retrying', 'ok']);
    assert.ok(states.includes('down'));

    const series = await exportWhen(
      url,
      `vehicle_telemetry_battery_level{vehicle_id="${veh}"}`,
      (x) => sampleCount(x) >= s.written,
    );
    const storedCount = sampleCount(series);
    assert.equal(storedCount, s.written, 'written == stored at the server');
    assert.equal(s.dropped, attempted - storedCount, 'dropped == attempted − stored');
    assert.equal(s.dropped, 250);
    // what survived the outage is the newest 50 of it
    const values = (series[0]?.values ?? []).slice().sort((a, b) => a - b);
    const expected = [
      ...Array.from({ length: 100 }, (_, i) => i),
      ...Array.from({ length: 50 }, (_, i) => 350 + i),
      ...Array.from({ length: 100 }, (_, i) => 400 + i),
    ];
    assert.deepEqual(values, expected);
  });
});
