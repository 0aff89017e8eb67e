// wpt-timeseries + wpt-influxdb in Node-RED when InfluxDB fails: down (connection refused
// through a TCP proxy), hanging, and a redeploy, against a real server of the InfluxDB v2
// write API (VictoriaMetrics from test/helpers/services.ts, or INFLUX_URL).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { nr } from '../helpers/node-red';
import { influxUrl } from '../helpers/services';
import { TcpProxy } from '../helpers/tcp-proxy';
import { exportWhen, sampleCount } from '../helpers/victoria';
import { until as waitUntil } from '../helpers/wait';
import { HOURLY, NODES, blackHole, flow, influxOf, statusesOf, tel } from '../helpers/timeseries-nodes';

let dbg: () => unknown = () => null;
const until = (cond: () => boolean, ms: number, what: string): Promise<void> =>
  waitUntil(cond, ms, what, { every: 10, detail: () => dbg() });

describe('node: wpt-timeseries when InfluxDB fails (v2 write API server)', function () {
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

  it('Influx down: never blocks; short red status; oldest beyond the bound dropped and counted exactly; recovery writes the rest', async () => {
    const proxy = new TcpProxy(new URL(url));
    await proxy.open();
    await nr.load(
      NODES,
      flow(
        `http://127.0.0.1:${proxy.port}`,
        {
          batchSize: 10,
          maxBufferPoints: 50,
          flushIntervalMs: 50,
          timeoutMs: 2000,
          maxRetryDelayMs: 200,
        },
        HOURLY,
      ),
    );
    const ts = nr.getNode('ts');
    const w = influxOf().writer;
    assert.ok(w);
    const hub = `outage_${run}`;
    const t = Date.now() - 100_000;
    dbg = () => ({ s: w.stats(), st: statusesOf('ts') });
    const list = (from: number, n: number) =>
      Array.from({ length: n }, (_, k) => tel(hub, 'n1', from + k, t + from + k));

    for (let i = 0; i < 100; i += 10) {
      ts.receive({ payload: list(i, 10) });
      // + the hub_load point of the first list
      await until(() => w.stats().accepted === i + 10 + 1, 5000, 'ten points taken');
      assert.equal(await w.flush(5000), true);
    }
    assert.equal(w.stats().written, 101);

    await proxy.close(); // outage
    for (let i = 100; i < 400; i += 50) ts.receive({ payload: list(i, 50) });
    await until(() => w.stats().accepted === 401, 5000, 'the burst taken during the outage');
    await until(() => w.stats().state === 'down', 10_000, 'writer down');
    await until(
      () => statusesOf('ts').some((s) => s.fill === 'red' && s.shape === 'ring'),
      3000,
      'red status',
    );
    let s = w.stats();
    assert.equal(s.buffered, 50);
    assert.equal(s.dropped, 250, 'exactly the points beyond the bound');
    assert.equal(s.written, 101);
    assert.equal(statusesOf('ts').find((x) => x.fill === 'red')?.text, '50 queued · 250 lost');

    await proxy.open(); // recovery
    await until(() => w.stats().buffered === 0, 10_000, 'buffer drained after recovery');
    await until(() => statusesOf('ts').at(-1)?.fill === 'green', 3000, 'green status again');
    s = w.stats();
    assert.equal(s.written, 151);
    assert.equal(s.state, 'ok');
    assert.equal(statusesOf('ts').at(-1)?.text, '151 pts · 250 lost');
    await proxy.close();

    const series = await exportWhen(
      url,
      `node_telemetry_voltage{hub_id="${hub}"}`,
      (x) => sampleCount(x) >= 150,
    );
    assert.equal(sampleCount(series), 150, 'stored = written');
    // what survived the outage is its newest 50 points
    assert.deepEqual(
      (series[0]?.values ?? []).slice().sort((a, b) => a - b),
      [...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 50 }, (_, i) => 350 + i)],
    );
    // every status the node showed fits next to the node
    for (const st of statusesOf('ts')) assert.ok((st.text ?? '').length <= 25, JSON.stringify(st));
  });

  it('Influx hanging: a burst is taken at once, without waiting for any request; then yellow (retrying)', async function () {
    const hole = await blackHole();
    try {
      await nr.load(
        NODES,
        flow(
          `http://127.0.0.1:${hole.port}`,
          {
            batchSize: 50,
            maxBufferPoints: 100,
            timeoutMs: 1000,
            closeTimeoutMs: 200,
          },
          HOURLY,
        ),
      );
      const ts = nr.getNode('ts');
      const w = influxOf().writer;
      assert.ok(w);
      dbg = () => w.stats();
      const t0 = Date.now() - 10_000;
      for (let i = 0; i < 400; i++) ts.receive({ payload: [tel(`hang_${run}`, 'n1', i, t0 + i)] });
      await until(() => w.stats().accepted === 401, 4000, 'burst taken');
      // The first requests are still hanging (timeout 1 s): nothing failed yet, so the node
      // did not wait for them. The four batches in flight (200 points) plus the 100 waiting
      // are kept; the rest was dropped, oldest first, and counted.
      const s = w.stats();
      assert.equal(s.retries, 0);
      assert.equal(s.written, 0);
      assert.equal(s.state, 'ok');
      assert.equal(s.buffered, 300);
      assert.equal(s.dropped, 101);
      // once the requests timed out: retrying, shown in yellow; the bound holds
      await until(() => statusesOf('ts').some((x) => x.fill === 'yellow'), 8000, 'yellow status');
      assert.equal(w.stats().state, 'retrying');
      await until(
        () => w.stats().buffered <= 150,
        3000,
        'failed batches back at the front, the oldest dropped',
      );
      const after = w.stats();
      assert.equal(after.written + after.dropped + after.buffered, after.accepted);
    } finally {
      await nr.unload();
      await hole.close();
    }
  });

  it('redeploy (unload) flushes the buffer and closes the writer', async () => {
    await nr.load(NODES, flow(url, { flushIntervalMs: 600_000, batchSize: 1000 }, HOURLY));
    const ts = nr.getNode('ts');
    const w = influxOf().writer;
    assert.ok(w);
    const hub = `redeploy_${run}`;
    const t = Date.now() - 90_000;
    ts.receive({ payload: Array.from({ length: 7 }, (_, i) => tel(hub, 'n1', i, t + i)) });
    await until(() => w.stats().buffered === 8, 3000, 'seven points and a hub load buffered');
    assert.equal(w.stats().written, 0, 'nothing sent before the flush interval');
    await nr.unload();
    const s = w.stats();
    assert.equal(s.written, 8);
    assert.equal(s.buffered, 0);
    const series = await exportWhen(
      url,
      `node_telemetry_power_kw{hub_id="${hub}"}`,
      (x) => sampleCount(x) >= 7,
    );
    assert.equal(sampleCount(series), 7);
  });
});
