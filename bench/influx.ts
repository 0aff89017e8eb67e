// Benchmark: the points path of the time series — change lists of node telemetry (as the
// twin sends them on its wire) → TimeSeriesPoints (one point per change + hub load) →
// InfluxWriter (the client's Point and WriteApi) → an InfluxDB v2 write API. Points/s end
// to end, loss counted at the server.
//
//   npx tsx bench/influx.ts [--points 300000] [--batch 1000] [--list 100] [--hubs 100] [--nodes 10] [--gzip]
//
// Uses INFLUX_URL when set (it must also answer VictoriaMetrics' /api/v1/export to count
// what was stored), else starts /usr/bin/victoria-metrics on a free port in a temp dir.
// Target: well above 30,000 points/s with 0 loss (the ingest target is ≥ 30,000 msg/s with
// PostgreSQL and Influx on).
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { InfluxWriter, TimeSeriesPoints, type NodeTelemetryChange } from '../adapters/influx';
import { exportWhen, sampleCount, startVictoriaMetrics } from '../test/helpers/victoria';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : def;
}

async function main(): Promise<void> {
  const total = arg('points', 300_000);
  const batchSize = arg('batch', 1000);
  const listSize = arg('list', 100);
  const hubs = arg('hubs', 100);
  const nodes = arg('nodes', 10);
  const gzip = process.argv.includes('--gzip');
  const vm = process.env.INFLUX_URL ? null : await startVictoriaMetrics();
  const url = process.env.INFLUX_URL ?? (vm as { url: string }).url;
  const run = `b${crypto.randomBytes(3).toString('hex')}`;
  try {
    const writer = new InfluxWriter({
      url,
      org: process.env.INFLUX_ORG ?? 'wpt',
      bucket: process.env.INFLUX_BUCKET ?? 'wpt',
      token: process.env.INFLUX_TOKEN,
      batchSize,
      flushIntervalMs: 100,
      ...(gzip ? { gzipThreshold: 1000 } : {}),
    });
    const series = new TimeSeriesPoints({ capacityOf: () => 140 });
    const t0 = Date.now() - 3_600_000; // an hour ago, 2 s per reading and node, like the devices
    const perRound = hubs * nodes;
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    let generated = 0;
    let mapNs = 0n;
    let loads = 0;
    while (generated < total) {
      const list: NodeTelemetryChange[] = [];
      for (let j = 0; j < listSize && generated < total; j++, generated++) {
        const round = Math.floor(generated / perRound);
        const k = generated % perRound;
        const h = k % hubs;
        const n = Math.floor(k / hubs);
        list.push({
          type: 'node-telemetry',
          ts: t0 + round * 2000 + k * 0.001,
          hubId: `${run}_hub_${h}`,
          nodeId: `node_${n}`,
          voltage: 400 + (k % 7),
          current: 100 + (k % 13) / 10,
          powerKw: 40 + ((round + k) % 38),
          powerLimitKw: 78,
          isOccupied: (k + round) % 3 !== 0,
          vehicleId: `vehicle_${h}_${n}`,
          soc: (round + k) % 100,
        });
      }
      const m0 = process.hrtime.bigint();
      const { points } = series.fromChanges(list, Date.now());
      mapNs += process.hrtime.bigint() - m0;
      loads += points.length - list.length;
      writer.write(points);
      // let the writer's requests run while we generate, as the event loop does between messages
      if (writer.stats().buffered > batchSize * 4) await new Promise((r) => setImmediate(r));
    }
    await writer.flush(60_000);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const cpuUsed = process.cpuUsage(cpu0);
    const cpuSecs = (cpuUsed.user + cpuUsed.system) / 1e6;
    const stats = await writer.close(10_000);
    // Every point was confirmed (2xx); the server makes what it took searchable shortly after.
    const count = async (match: string, n: number): Promise<number> =>
      sampleCount(await exportWhen(url, match, (x) => sampleCount(x) >= n, 20_000));
    const stored = await count(`node_telemetry_power_kw{hub_id=~"${run}_hub_.*"}`, total);
    const storedLoads = await count(`hub_load_load_kw{hub_id=~"${run}_hub_.*"}`, loads);
    const cpu = os.cpus();
    console.log('bench/influx: change lists -> TimeSeriesPoints -> InfluxWriter (WriteApi) -> /api/v2/write');
    console.log(
      `  machine : ${cpu[0]?.model ?? 'unknown'} x${cpu.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}, node ${process.version}, load ${os.loadavg()[0]?.toFixed(2)}`,
    );
    console.log(
      `  server  : ${process.env.INFLUX_URL ? url : 'VictoriaMetrics (local, started by the bench)'}`,
    );
    console.log(
      `  command : ${[path.basename(process.argv0), path.relative(process.cwd(), process.argv[1] ?? ''), ...process.argv.slice(2)].join(' ')}`,
    );
    console.log(
      `  input   : ${total} node telemetry changes in lists of ${listSize} (${hubs} hubs x ${nodes} nodes), 7 fields each; batch ${batchSize}, gzip ${gzip ? 'on' : 'off'}`,
    );
    const points = total + loads;
    console.log(
      `  time    : ${secs.toFixed(2)} s end to end; mapping (changes -> points) ${(Number(mapNs) / 1e6).toFixed(0)} ms`,
    );
    console.log(
      `  rate    : ${Math.round(points / secs)} points/s (${Math.round(total / secs)} telemetry points/s)`,
    );
    console.log(
      `  cpu     : ${cpuSecs.toFixed(2)} s in this process (server aside): ${Math.round(points / cpuSecs)} points per CPU second`,
    );
    console.log(
      `  writer  : accepted ${stats.accepted}, written ${stats.written}, dropped ${stats.dropped}, retries ${stats.retries}, invalid ${stats.invalid}`,
    );
    console.log(
      `  server  : ${stored} telemetry + ${storedLoads} hub load points stored; loss ${points - stored - storedLoads}`,
    );
    if (stored !== total || storedLoads !== loads || stats.dropped !== 0) process.exitCode = 1;
  } finally {
    if (vm) await vm.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
