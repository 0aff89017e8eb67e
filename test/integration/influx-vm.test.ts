// Points of twin changes, DLM commands and hub load, written by InfluxWriter (the client's
// WriteApi) to a real server of the InfluxDB v2 write API (VictoriaMetrics from
// test/helpers/services.ts, or INFLUX_URL), and read back. VictoriaMetrics names a series
// `<measurement>_<field>` with the tags as labels and does not keep string fields, so
// string fields are not read back here.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { influxUrl } from '../helpers/services';
import { TcpProxy } from '../helpers/tcp-proxy';
import { exportWhen, sampleCount, type Series } from '../helpers/victoria';
import {
  InfluxWriter,
  MEASUREMENTS,
  Point,
  changePoint,
  dlmAllocationPoint,
  hubLoadPoint,
  nodeTelemetryPoint,
  storedTag,
  vehicleTelemetryPoint,
  type MeasurementName,
} from '../../adapters/influx';

/** Tags and numeric/boolean fields of a point, as the server stores them (booleans 0/1). */
function expectedOf(p: Point): {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number>;
} {
  const [series, fieldText] = (p.toLineProtocol({ convertTime: () => '0' }) as string).split(' ') as [
    string,
    string,
  ];
  const [measurement, ...tagParts] = series.split(',') as [string, ...string[]];
  const tags = Object.fromEntries(tagParts.map((t) => t.split('=') as [string, string]));
  const fields: Record<string, number> = {};
  for (const f of fieldText.split(',')) {
    const [k, v] = f.split('=') as [string, string];
    if (v.startsWith('"')) continue;
    fields[k] = v === 'T' ? 1 : v === 'F' ? 0 : Number(v);
  }
  return { measurement, tags, fields };
}

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
      changePoint({
        type: 'hub-status',
        ts: t + 1,
        hubId: hub,
        state: 'online',
        cpuTempC: 72.03275539108958,
      } as never),
      changePoint({
        type: 'node-status',
        ts: t + 2,
        hubId: hub,
        nodeId: node,
        state: 'charging',
        errorCode: 17,
        vehicleId: veh,
      } as never),
      nodeTelemetryPoint({
        type: 'node-telemetry',
        ts: t + 3,
        hubId: hub,
        nodeId: node,
        voltage: 8.553,
        current: 0.069,
        powerKw: 59.099999999999994,
        powerLimitKw: 78,
        isOccupied: true,
        vehicleId: veh,
        soc: 20,
      }),
      vehicleTelemetryPoint({
        type: 'vehicle-telemetry',
        ts: t + 4,
        vehicleId: veh,
        position: { latitude: 44.64, longitude: 10.92, altitude: -12.5 },
        batteryLevel: 35,
        speedKmh: 88.2,
        engineTempC: -3,
        isCharging: false,
      }),
      dlmAllocationPoint({
        hubId: hub,
        nodeId: node,
        reason: 'PRIORITY_SHIFT',
        originalLimitKw: 38.18181818181818,
        newLimitKw: 44.21052631578947,
        totalGridLoadKw: 162.8518181818182,
        attempt: 1,
        availableCapacityKw: 0,
        allocationId: 'a-1',
        ts: t + 5,
      }),
      hubLoadPoint({ hubId: hub, ts: t + 6, loadKw: 105, capacityKw: 140, utilisation: 0.75, nodes: 3 }),
    ].map((p, i) => {
      assert.ok(p, `point ${i}`);
      return p;
    });
    const w = writer(url);
    assert.equal(w.write(points), 6);
    assert.equal(await w.flush(5000), true, JSON.stringify(w.stats()));
    assert.equal(w.stats().written, 6);

    for (const [i, p] of points.entries()) {
      const e = expectedOf(p);
      const spec = MEASUREMENTS[e.measurement as MeasurementName];
      assert.deepEqual(Object.keys(e.tags).sort(), [...spec.tags].sort());
      const idTag = 'vehicle_id' in e.tags ? 'vehicle_id' : 'hub_id';
      const series = await exportWhen(
        url,
        `{__name__=~"${e.measurement}_.*",${idTag}="${e.tags[idTag]}"}`,
        (s) => s.length >= Object.keys(e.fields).length,
      );
      for (const [field, want] of Object.entries(e.fields)) {
        const s: Series | undefined = series.find((x) => x.metric.__name__ === `${e.measurement}_${field}`);
        assert.ok(s, `${e.measurement}_${field} stored`);
        assert.deepEqual(
          { ...s.metric },
          { __name__: `${e.measurement}_${field}`, ...e.tags },
          'labels = tags',
        );
        // VictoriaMetrics keeps 12 significant digits
        assert.equal(s.values.length, 1);
        assert.ok(
          Math.abs((s.values[0] as number) - want) <= Math.abs(want) * 1e-11,
          `${e.measurement}.${field}: ${s.values[0]} vs ${want}`,
        );
        assert.deepEqual(s.timestamps, [t + i + 1]);
      }
      // nothing else under this measurement for these ids, other than the string fields
      const allowed = Object.keys(spec.fields).map((f) => `${e.measurement}_${f}`);
      for (const x of series)
        assert.ok(allowed.includes(x.metric.__name__ as string), `unexpected ${x.metric.__name__}`);
    }
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
        changePoint({
          type: 'node-telemetry',
          ts: t + i,
          hubId: id,
          nodeId: `n${i}${id}`,
          powerKw: i + 0.5,
          isOccupied: i % 2 === 0,
          vehicleId: id,
        } as never),
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
      const s = power.filter((x) => x.metric.hub_id === storedTag(id));
      assert.equal(s.length, 1, `one series for ${JSON.stringify(id)}`);
      assert.equal(s[0]?.metric.node_id, storedTag(`n${i}${id}`));
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
    const batch = (from: number, n: number): Point[] =>
      Array.from({ length: n }, (_, i) =>
        new Point('vehicle_telemetry')
          .tag('vehicle_id', veh)
          .floatField('battery_level', from + i)
          .timestamp(t + from + i),
      );
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

  it('a stream through repeated outages: the balance holds at every turn; written == stored, dropped == taken − stored', async () => {
    const proxy = new TcpProxy(new URL(url));
    await proxy.open();
    const w = writer(`http://127.0.0.1:${proxy.port}`, {
      batchSize: 25,
      maxBufferPoints: 200,
      flushIntervalMs: 20,
      minRetryDelayMs: 10,
      maxRetryDelayMs: 40,
      timeoutMs: 2000,
    });
    const veh = `stream_${run}`;
    const t = Date.now() - 5_000;
    let checking = true;
    let turns = 0;
    const check = (): void => {
      if (!checking) return;
      const st = w.stats();
      assert.equal(st.written + st.dropped + st.buffered, st.accepted, JSON.stringify(st));
      turns++;
      setImmediate(check);
    };
    check();
    let taken = 0;
    for (let k = 0; k < 60; k++) {
      if (k % 20 === 5) await proxy.close(); // three outages …
      if (k % 20 === 15) await proxy.open(); // … and recoveries
      const pts = Array.from({ length: 40 }, (_, i) =>
        new Point('vehicle_telemetry')
          .tag('vehicle_id', veh)
          .floatField('battery_level', k * 40 + i)
          .timestamp(t + k * 40 + i),
      );
      taken += w.write(pts);
      await new Promise((r) => setTimeout(r, 15));
    }
    if (!(await w.flush(5000))) await w.flush(5000);
    const s = await w.close(5000);
    checking = false;
    await proxy.close();
    assert.ok(turns > 100, `checked on ${turns} turns`);
    assert.equal(s.accepted, taken);
    assert.equal(s.buffered, 0);
    assert.ok(s.retries > 0 && s.dropped > 0, JSON.stringify(s));
    const series = await exportWhen(
      url,
      `vehicle_telemetry_battery_level{vehicle_id="${veh}"}`,
      (x) => sampleCount(x) >= s.written,
    );
    assert.equal(sampleCount(series), s.written, 'written == stored');
    assert.equal(s.dropped, taken - sampleCount(series), 'dropped == taken − stored');
    assert.equal(new Set(series[0]?.values).size, series[0]?.values.length, 'no point stored twice');
  });

  it('close() flushes a partial batch to the server and releases the writer', async () => {
    const w = new InfluxWriter({ url, org: 'wpt', bucket: 'wpt', batchSize: 1000, flushIntervalMs: 600_000 });
    const hub = `close_${run}`;
    const t = Date.now() - 8_000;
    for (let i = 0; i < 7; i++) {
      w.write(
        hubLoadPoint({ hubId: hub, ts: t + i, loadKw: i, capacityKw: 10, utilisation: i / 10, nodes: 1 }),
      );
    }
    assert.equal(w.stats().buffered, 7);
    const s = await w.close(5000);
    assert.deepEqual([s.written, s.dropped, s.buffered], [7, 0, 0]);
    const series = await exportWhen(url, `hub_load_load_kw{hub_id="${hub}"}`, (x) => sampleCount(x) >= 7);
    assert.deepEqual(series[0]?.values, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(
      w.write(hubLoadPoint({ hubId: hub, ts: t, loadKw: 1, capacityKw: 1, utilisation: 1, nodes: 1 })),
      1,
    );
    assert.equal(w.stats().dropped, 1, 'after close: taken and dropped at once');
  });
});
